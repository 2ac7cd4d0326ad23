using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Notary.CustomResources;
using Notary.DevCluster;
using Notary.Grains;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;
using Notary.Silo.Tls;

namespace Notary.Silo.Tests.Tls;

/// <summary>
/// The CA certificate callers of the API trust (ConfigMap notary-ca), against DevCluster through
/// KubernetesClient: it is the CA that signs Notary's certificates, not a corporate root above an
/// imported intermediate, and an edited ConfigMap is put right by the renewal loop, no restart.
/// </summary>
[Trait("Category", "Slow")]
public sealed class CaPublisherTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow;

    [Fact]
    public async Task The_signing_CA_is_published_not_the_root_above_it_and_an_edited_ConfigMap_is_put_right()
    {
        await using var cluster = await DevClusterServer.StartAsync(new DevClusterOptions { CrdDirectories = [NotaryHost.CrdDirectory] });
        using var client = new Kubernetes(cluster.ClientConfiguration());
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "ops" } });
        using var corporateRoot = CertificateAuthority.CreateRoot("Corporate Root CA", TimeSpan.FromDays(3650), Start - TimeSpan.FromDays(1), new KeySpec(KeyAlgorithm.Ecdsa, 256));
        using var intermediate = Intermediate(corporateRoot);
        var time = new FakeTimeProvider(Start);
        var kubernetes = Options.Create(new NotaryKubernetesOptions { Namespace = "ops" });
        var certificates = new NotaryCertificates(
            new SiloCertificate(),
            new ApiCertificate(enabled: false),
            new FixedAuthority(intermediate),
            Options.Create(new NotaryTlsOptions()),
            kubernetes,
            Options.Create(new PolicyOptions()),
            time,
            NullLogger<NotaryCertificates>.Instance,
            new CaPublisher(client, kubernetes, NullLogger<CaPublisher>.Instance));

        await certificates.StartAsync(CancellationToken.None);
        try
        {
            Assert.Equal(intermediate.CertificatePem, await PublishedAsync(client));
            Assert.NotEqual(corporateRoot.CertificatePem, intermediate.CertificatePem);

            // Someone with update on the ConfigMap puts another CA there: the next round, well
            // before any renewal is due, writes the signing CA back.
            var map = await client.CoreV1.ReadNamespacedConfigMapAsync(CaPublisher.ConfigMapName, "ops");
            map.Data[CaPublisher.Key] = corporateRoot.CertificatePem;
            await client.CoreV1.ReplaceNamespacedConfigMapAsync(map, CaPublisher.ConfigMapName, "ops");
            Assert.Equal(corporateRoot.CertificatePem, await PublishedAsync(client));

            time.Advance(NotaryCertificates.PublishInterval);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (await PublishedAsync(client) != intermediate.CertificatePem)
            {
                await Task.Delay(50, timeout.Token);
            }
        }
        finally
        {
            await certificates.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<string> PublishedAsync(Kubernetes client) =>
        (await client.CoreV1.ReadNamespacedConfigMapAsync(CaPublisher.ConfigMapName, "ops")).Data[CaPublisher.Key];

    /// <summary>An intermediate CA under <paramref name="root"/>, imported as an operator imports one: its certificate, then the root.</summary>
    private static CertificateAuthority Intermediate(CertificateAuthority root)
    {
        using var rootCertificate = X509Certificate2.CreateFromPem(root.CertificatePem);
        using var rootKey = ECDsa.Create();
        rootKey.ImportFromPem(root.ExportPrivateKeyPem());
        using var rootWithKey = rootCertificate.CopyWithPrivateKey(rootKey);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Notary Intermediate", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(rootCertificate, true, false));
        using var intermediate = request.Create(rootWithKey, Start - TimeSpan.FromHours(1), Start + TimeSpan.FromDays(100), [1, 2, 3]);
        return CertificateAuthority.FromPem(intermediate.ExportCertificatePem() + "\n" + root.CertificatePem, key.ExportPkcs8PrivateKeyPem());
    }

    private sealed class FixedAuthority(CertificateAuthority authority) : ICertificateAuthoritySource
    {
        public Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken) => Task.FromResult(authority);
    }
}
