namespace Notary.Pki;

/// <summary>
/// What a leaf certificate must contain: CN and first SAN = Fqdn, then AltNames, then
/// <paramref name="Uris"/> as URI SANs. Tenant certificates never carry URIs (the issuers pass
/// none): Notary's own silo certificates use one to be told apart from every tenant's.
/// </summary>
public sealed record LeafRequest(string Fqdn, IReadOnlyList<string> AltNames, TimeSpan Lifetime, KeySpec Key, IReadOnlyList<Uri>? Uris = null);
