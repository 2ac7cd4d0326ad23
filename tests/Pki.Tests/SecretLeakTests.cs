using Notary.Pki.Tests.Support;

namespace Notary.Pki.Tests;

/// <summary>Key material and passwords never reach ToString or an exception message (which end up in logs and events).</summary>
public sealed class SecretLeakTests
{
    private const string Password = "store-password-do-not-log";

    [Fact]
    public void Issued_certificate_and_ca_strings_never_contain_the_key()
    {
        using var ca = TestPki.NewCa();
        var issued = TestPki.Issue(ca, "svc-a.ns-a.svc.cluster.local", KeySpec.Default);

        AssertNoSecret(issued.ToString(), issued.PrivateKeyPem);
        AssertNoSecret($"{issued}", issued.PrivateKeyPem);
        AssertNoSecret(ca.ToString(), ca.ExportPrivateKeyPem());
        Assert.Contains(issued.SerialNumber, issued.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Pki_exceptions_never_contain_the_key_or_the_password()
    {
        using var ca = TestPki.NewCa();
        using var other = TestPki.NewCa("Other Root");
        var issued = TestPki.Issue(ca, "svc-a.ns-a.svc.cluster.local", KeySpec.Default);
        var otherLeaf = TestPki.Issue(other, "svc-b.ns-b.svc.cluster.local", KeySpec.Default);
        var corruptKey = Corrupt(issued.PrivateKeyPem);

        (Action Act, string Secret)[] cases =
        [
            (() => CertificateAuthority.FromPem(ca.CertificatePem, other.ExportPrivateKeyPem()), other.ExportPrivateKeyPem()),
            (() => CertificateAuthority.FromPem(issued.CertificatePem, issued.PrivateKeyPem), issued.PrivateKeyPem),
            (() => CertificateAuthority.FromPem(ca.CertificatePem, Corrupt(ca.ExportPrivateKeyPem())), ca.ExportPrivateKeyPem()),
            (() => StoreEncoder.BuildKeystore(StoreFormat.Pkcs12, "svc-a", issued with { PrivateKeyPem = otherLeaf.PrivateKeyPem }, Password), otherLeaf.PrivateKeyPem),
            (() => StoreEncoder.BuildKeystore(StoreFormat.Jks, "svc-a", issued with { PrivateKeyPem = corruptKey }, Password), issued.PrivateKeyPem),
            (() => StoreEncoder.BuildKeystore(StoreFormat.Jks, "svc-a", issued with { CertificatePem = "garbage" }, Password), issued.PrivateKeyPem),
            (() => PemEncoder.TlsKey(issued with { PrivateKeyPem = corruptKey }), issued.PrivateKeyPem),
        ];

        foreach (var (act, secret) in cases)
        {
            var error = Assert.Throws<PkiException>(act);
            AssertNoSecret(error.ToString(), secret);
            Assert.DoesNotContain(Password, error.ToString(), StringComparison.Ordinal);
        }
    }

    /// <summary>Keeps the PEM frame but breaks the DER inside, so parsing fails after the base64 was read.</summary>
    private static string Corrupt(string pem)
    {
        var lines = pem.Split('\n');
        lines[2] = new string('A', lines[2].Length);
        return string.Join('\n', lines);
    }

    private static void AssertNoSecret(string text, string keyPem)
    {
        Assert.DoesNotContain("-----BEGIN", text, StringComparison.Ordinal);
        var body = string.Concat(keyPem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));
        for (var i = 0; i + 16 <= body.Length; i += 8)
        {
            Assert.DoesNotContain(body.Substring(i, 16), text, StringComparison.Ordinal);
        }
    }
}
