using System.Security.Cryptography;
using Notary.Pki.Tests.Support;

namespace Notary.Pki.Tests;

public sealed class PemEncoderTests
{
    [Fact]
    public void TlsCrt_is_the_leaf_then_the_chain()
    {
        using var ca = TestPki.NewCa();
        var issued = TestPki.Issue(ca, "svc-a.ns-a.svc.cluster.local");

        var crt = PemEncoder.TlsCrt(issued);

        Assert.Equal(issued.CertificatePem + ca.CertificatePem, crt);
        var collection = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        collection.ImportFromPem(crt);
        Assert.Equal(2, collection.Count);
        Assert.Equal("CN=svc-a.ns-a.svc.cluster.local", collection[0].Subject);
        Assert.Equal("CN=Notary Test Root", collection[1].Subject);
    }

    [Fact]
    public void TlsKey_is_pkcs8_even_when_the_issuer_handed_over_pkcs1()
    {
        using var ca = TestPki.NewCa();
        var issued = TestPki.Issue(ca, "svc-a.ns-a.svc.cluster.local", key: KeySpec.Default);
        using var rsa = RSA.Create();
        rsa.ImportFromPem(issued.PrivateKeyPem);
        var pkcs1 = issued with { PrivateKeyPem = rsa.ExportRSAPrivateKeyPem() };

        var key = PemEncoder.TlsKey(pkcs1);

        Assert.StartsWith("-----BEGIN PRIVATE KEY-----\n", key, StringComparison.Ordinal);
        Assert.EndsWith("-----END PRIVATE KEY-----\n", key, StringComparison.Ordinal);
        Assert.Equal(issued.PrivateKeyPem, key);
    }

    [Fact]
    public void Bundle_concatenates_in_order_and_normalizes_line_endings()
    {
        using var first = TestPki.NewCa("First");
        using var second = TestPki.NewCa("Second");

        var bundle = PemEncoder.Bundle([second.CertificatePem.Replace("\n", "\r\n", StringComparison.Ordinal), first.CertificatePem]);

        Assert.Equal(second.CertificatePem + first.CertificatePem, bundle);
        Assert.Equal(string.Empty, PemEncoder.Bundle([]));
    }

    [Fact]
    public void Bundle_refuses_a_non_certificate()
    {
        using var ca = TestPki.NewCa();
        var error = Assert.Throws<PkiException>(() => PemEncoder.Bundle([ca.CertificatePem, "hello"]));
        Assert.Equal("certificate #1: no PEM CERTIFICATE block found", error.Message);
    }
}
