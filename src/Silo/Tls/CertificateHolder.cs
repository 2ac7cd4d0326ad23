using System.Security.Cryptography.X509Certificates;

namespace Notary.Silo.Tls;

/// <summary>
/// The current certificate (with its private key, in memory only) that Notary presents for one
/// purpose, and the CA it chains to. Read on every TLS handshake (Orleans' and Kestrel's
/// certificate selectors), replaced by <see cref="NotaryCertificates"/> on renewal: a renewal
/// takes effect at the next handshake, without a restart.
/// </summary>
public sealed class CertificateHolder(string purpose)
{
    private volatile Snapshot? _current;

    /// <summary>What the certificate is for, in messages ("silo", "HTTP API").</summary>
    public string Purpose { get; } = purpose;

    /// <summary>The certificate presented now; throws until the first one is issued (the host does that before it listens).</summary>
    public X509Certificate2 Certificate => Current.Certificate;

    /// <summary>The CA that signs <see cref="Certificate"/> and whose certificates peers must chain to.</summary>
    public NotaryAuthority Authority => Current.Authority;

    /// <summary>The DNS name the certificate is issued for (its first SAN).</summary>
    public string Name => Current.Name;

    /// <summary>When <see cref="Certificate"/> is due for renewal.</summary>
    public DateTimeOffset RenewAt => Current.RenewAt;

    public bool HasCertificate => _current is not null;

    private Snapshot Current => _current ?? throw new InvalidOperationException($"Notary's {Purpose} certificate has not been issued yet.");

    internal void Set(string name, X509Certificate2 certificate, NotaryAuthority authority, DateTimeOffset renewAt)
    {
        // The previous certificate is not disposed: a handshake may still be using it. The
        // garbage collector frees it; renewals are days apart.
        _current = new Snapshot(name, certificate, authority, renewAt);
    }

    private sealed record Snapshot(string Name, X509Certificate2 Certificate, NotaryAuthority Authority, DateTimeOffset RenewAt);
}

/// <summary>
/// Notary's CA as peers check it: the signing CA's certificate, its issuers, and the root they
/// end in (the signing CA itself for the built-in root).
/// </summary>
public sealed class NotaryAuthority
{
    public NotaryAuthority(IReadOnlyList<string> chainPem, IReadOnlyList<string>? previousRootsPem = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(chainPem.Count);
        Chain = [.. chainPem.Select(pem => X509Certificate2.CreateFromPem(pem))];
        ChainPem = chainPem;
        PreviousRootsPem = previousRootsPem ?? [];
        PreviousRoots = [.. PreviousRootsPem.Select(pem => X509Certificate2.CreateFromPem(pem))];
    }

    /// <summary>
    /// The built-in roots the current one replaced (self-signed: each signs its certificates
    /// itself), still trusted for peers so that silos with certificates from either root keep
    /// talking while a rotation of the built-in root reaches every silo.
    /// </summary>
    public IReadOnlyList<X509Certificate2> PreviousRoots { get; }

    /// <summary><see cref="PreviousRoots"/> as PEM blocks.</summary>
    public IReadOnlyList<string> PreviousRootsPem { get; }

    /// <summary>The signing CA first, then its issuers, the root last.</summary>
    public IReadOnlyList<X509Certificate2> Chain { get; }

    /// <summary><see cref="Chain"/> as PEM blocks.</summary>
    public IReadOnlyList<string> ChainPem { get; }

    public X509Certificate2 Signer => Chain[0];

    public X509Certificate2 Root => Chain[^1];

    /// <summary>The root as PEM (callers of the HTTP API trust the signer instead: ConfigMap notary-ca holds <see cref="ChainPem"/>[0]).</summary>
    public string RootPem => ChainPem[^1];
}
