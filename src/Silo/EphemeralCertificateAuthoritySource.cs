using Notary.Grains.Issuers;
using Notary.Pki;

namespace Notary.Silo;

/// <summary>
/// A built-in root CA created at first use and held in memory for the life of the process.
/// Dev mode only: the Kubernetes issue replaces it with a root kept in a Secret in namespace
/// notary, so that certificates outlive a restart.
/// </summary>
public sealed class EphemeralCertificateAuthoritySource(TimeProvider time) : ICertificateAuthoritySource, IDisposable
{
    private readonly Lazy<CertificateAuthority> _authority = new(() =>
        CertificateAuthority.CreateRoot("Notary Built-in Root CA", TimeSpan.FromDays(3650), time.GetUtcNow(), new KeySpec(KeyAlgorithm.Ecdsa, 384)));

    public Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken) => Task.FromResult(_authority.Value);

    public void Dispose()
    {
        if (_authority.IsValueCreated)
        {
            _authority.Value.Dispose();
        }
    }
}
