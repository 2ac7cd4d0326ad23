namespace Notary.Pki;

/// <summary>What a leaf certificate must contain: CN and first SAN = Fqdn, then AltNames.</summary>
public sealed record LeafRequest(string Fqdn, IReadOnlyList<string> AltNames, TimeSpan Lifetime, KeySpec Key);
