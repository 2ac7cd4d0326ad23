using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Notary.CustomResources;
using Notary.Pki;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class CertificateAuthoritySourceTests(ClusterFixture cluster)
{
    /// <summary>Each test keeps its CA in a namespace of its own, as if it were Notary's.</summary>
    private KubernetesCertificateAuthoritySource Source(string ns, Action<NotaryKubernetesOptions>? change = null) => new(
        cluster.Client, ClusterFixture.Options(o => { o.Namespace = ns; change?.Invoke(o); }), TimeProvider.System, ClusterFixture.Log<KubernetesCertificateAuthoritySource>());

    private static string NewNamespaceName() => "notary-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task The_first_start_creates_a_root_in_a_Secret_and_later_starts_load_it()
    {
        var ns = NewNamespaceName();
        using var first = Source(ns);

        var created = await first.GetAsync(CancellationToken.None);

        Assert.Same(created, await first.GetAsync(CancellationToken.None));
        var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        Assert.Equal("kubernetes.io/tls", secret.Type);
        Assert.Equal("notary", secret.Metadata.Labels["app.kubernetes.io/managed-by"]);
        Assert.Equal(created.CertificatePem, Encoding.ASCII.GetString(secret.Data["tls.crt"]));

        using var certificate = X509Certificate2.CreateFromPem(created.CertificatePem);
        Assert.Equal("CN=Notary Built-in Root CA", certificate.Subject);
        using var key = certificate.GetECDsaPublicKey();
        Assert.Equal(256, key!.KeySize);
        Assert.InRange(created.NotAfter - created.NotBefore, TimeSpan.FromDays(3649), TimeSpan.FromDays(3651));

        using var restarted = Source(ns);
        Assert.Equal(created.CertificatePem, (await restarted.GetAsync(CancellationToken.None)).CertificatePem);
    }

    [Fact]
    public async Task The_root_key_is_what_the_options_name()
    {
        using var source = Source(NewNamespaceName(), o => { o.CaKeyAlgorithm = "rsa"; o.CaKeySize = 3072; });

        var created = await source.GetAsync(CancellationToken.None);

        using var certificate = X509Certificate2.CreateFromPem(created.CertificatePem);
        Assert.Null(certificate.GetECDsaPublicKey());
        using var key = certificate.GetRSAPublicKey();
        Assert.Equal(3072, key!.KeySize);
    }

    [Fact]
    public async Task Instances_starting_together_agree_on_one_root()
    {
        var ns = NewNamespaceName();
        var sources = Enumerable.Range(0, 4).Select(_ => Source(ns)).ToList();
        try
        {
            var authorities = await Task.WhenAll(sources.Select(s => s.GetAsync(CancellationToken.None)));

            Assert.Single(authorities.Select(a => a.CertificatePem).Distinct());
            var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
            Assert.Equal(authorities[0].CertificatePem, Encoding.ASCII.GetString(secret.Data["tls.crt"]));
        }
        finally
        {
            sources.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task An_imported_CA_is_used_as_it_is()
    {
        var ns = await cluster.NamespaceAsync();
        using var imported = CertificateAuthority.CreateRoot("Example Corp Issuing CA", TimeSpan.FromDays(365), DateTimeOffset.UtcNow, new KeySpec(KeyAlgorithm.Rsa, 2048));
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-ca" },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]>
            {
                ["tls.crt"] = Encoding.ASCII.GetBytes(imported.CertificatePem),
                ["tls.key"] = Encoding.ASCII.GetBytes(imported.ExportPrivateKeyPem()),
            },
        }, ns);
        using var source = Source(ns);

        var authority = await source.GetAsync(CancellationToken.None);

        Assert.Equal(imported.CertificatePem, authority.CertificatePem);
        var leaf = authority.Issue(new LeafRequest("api.shop.svc.cluster.local", [], TimeSpan.FromDays(30), KeySpec.Default), DateTimeOffset.UtcNow);
        using var issued = X509Certificate2.CreateFromPem(leaf.CertificatePem);
        Assert.Equal("CN=Example Corp Issuing CA", issued.Issuer);
    }

    [Fact]
    public async Task An_unusable_Secret_is_reported_with_how_to_fix_it_and_left_alone()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-ca" },
            StringData = new Dictionary<string, string> { ["tls.crt"] = "not a certificate" },
        }, ns);
        using var source = Source(ns);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => source.GetAsync(CancellationToken.None));

        Assert.Contains($"Secret {ns}/notary-ca has no key tls.key", error.Message, StringComparison.Ordinal);
        Assert.Contains("create secret tls", error.Message, StringComparison.Ordinal);
        var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        Assert.Equal(["tls.crt"], secret.Data.Keys);
    }

    [Fact]
    public async Task A_key_that_does_not_match_the_certificate_is_refused()
    {
        var ns = await cluster.NamespaceAsync();
        using var one = CertificateAuthority.CreateRoot("One", TimeSpan.FromDays(30), DateTimeOffset.UtcNow, new KeySpec(KeyAlgorithm.Ecdsa, 256));
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-ca" },
            Data = new Dictionary<string, byte[]>
            {
                ["tls.crt"] = Encoding.ASCII.GetBytes(one.CertificatePem),
                ["tls.key"] = Encoding.ASCII.GetBytes(other.ExportPkcs8PrivateKeyPem()),
            },
        }, ns);
        using var source = Source(ns);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => source.GetAsync(CancellationToken.None));

        Assert.Contains("does not hold a usable CA", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_namespace_is_created_when_missing()
    {
        var ns = NewNamespaceName();
        await Assert.ThrowsAsync<HttpOperationException>(() => cluster.Client.CoreV1.ReadNamespaceAsync(ns));
        using var source = Source(ns);

        await source.GetAsync(CancellationToken.None);

        Assert.Equal(ns, (await cluster.Client.CoreV1.ReadNamespaceAsync(ns)).Metadata.Name);
    }
}
