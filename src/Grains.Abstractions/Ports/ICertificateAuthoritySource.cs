using Notary.Pki;

namespace Notary.Grains.Abstractions.Ports;

/// <summary>
/// Port: where the built-in CA's root comes from. The Kubernetes adapter keeps it in a Secret
/// in Notary's namespace, created on first start or imported by the operator.
/// </summary>
public interface ICertificateAuthoritySource
{
    Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken);
}
