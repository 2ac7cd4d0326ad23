namespace Notary.Pki;

/// <summary>
/// A certificate a truststore trusts, with its chain (issuer first, root last). Name and
/// Namespace identify the Certificate resource and give the entry's alias.
/// </summary>
public sealed record TrustSource(string Namespace, string Name, string CertificatePem, IReadOnlyList<string> ChainPem);

/// <summary>
/// Which certificates belong in a truststore, as a pure function: the service's own
/// certificate, every upstream and downstream certificate, and every distinct CA certificate
/// of their chains. Duplicates (same certificate reached twice) appear once. Aliases and order
/// are deterministic.
/// </summary>
public static class TruststorePolicy
{
    public static IReadOnlyList<TrustedEntry> Select(TrustSource own, IReadOnlyList<TrustSource> upstream, IReadOnlyList<TrustSource> downstream) => throw new NotImplementedException();
}
