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
}
