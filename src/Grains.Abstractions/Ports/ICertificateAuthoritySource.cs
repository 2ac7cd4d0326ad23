using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Notary.Pki;

namespace Notary.Grains.Abstractions.Ports;

/// <summary>
/// Port: where the built-in CA's root comes from. The Kubernetes adapter keeps it in a Secret
/// in Notary's namespace, created on first start or imported by the operator.
/// </summary>
public interface ICertificateAuthoritySource
{
    Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The roots (public certificates, PEM) the current one replaced and that Notary's own peers
    /// (silo mTLS, callers of the API) still trust: none until the built-in root is rotated.
    /// </summary>
    Task<IReadOnlyList<string>> GetPreviousAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>
    /// Replaces the built-in root with a new one (once, whichever instance asks first) when the
    /// operator asked for it or it expires within <paramref name="rotateBefore"/>, and takes a root
    /// another instance rotated to. True when the root in use changed. A source that cannot rotate
    /// (the default) never does.
    /// </summary>
    Task<bool> RotateIfDueAsync(TimeSpan rotateBefore, CancellationToken cancellationToken) => Task.FromResult(false);

    /// <summary>
    /// The root (with its key) whose certificate has the SHA-256 fingerprint
    /// <paramref name="fingerprint"/> (hex, upper case): the one in use, or one it replaced whose
    /// key the source still holds (<c>previous.key</c> of the Secret beside the root Notary's own
    /// rotation wrote, or the root such a rotation by another instance displaced; never a root
    /// replaced by hand); null when it has none. The built-in
    /// root's CA rotation signs with the previous root until every store trusts the new one.
    /// </summary>
    async Task<CertificateAuthority?> FindAsync(string fingerprint, CancellationToken cancellationToken)
    {
        var current = await GetAsync(cancellationToken).ConfigureAwait(false);
        return Fingerprint(current) == fingerprint ? current : null;
    }

    /// <summary>
    /// Re-reads where the root is kept and takes the root found there (another instance rotated
    /// it, or it was replaced by hand); never creates or rotates one. A source with nothing to
    /// re-read (the default) does nothing.
    /// </summary>
    Task RefreshAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The SHA-256 fingerprint (hex, upper case) of <paramref name="authority"/>'s own certificate, as issuers' status and CA rotations name CAs.</summary>
    static string Fingerprint(CertificateAuthority authority)
    {
        ArgumentNullException.ThrowIfNull(authority);
        using var certificate = X509Certificate2.CreateFromPem(authority.CertificatePem);
        return certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }
}
