using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Notary.Pki.Tests.Support;

namespace Notary.Pki.Tests;

/// <summary>
/// CertificateEncoder writes what CertificateRequest.Create wrote before it: the same
/// TBSCertificate bytes for the same inputs (signatures differ, ECDSA's are randomised), and a
/// signature that .NET and OpenSSL verify against the issuer.
/// </summary>
public sealed class CertificateEncoderTests
{
    public static TheoryData<KeyAlgorithm, int, KeyAlgorithm, int, int> Cases => new()
    {
        // issuer key, subject key, year of notAfter (2050 on is GeneralizedTime)
        { KeyAlgorithm.Ecdsa, 256, KeyAlgorithm.Ecdsa, 256, 2027 },
        { KeyAlgorithm.Ecdsa, 384, KeyAlgorithm.Rsa, 2048, 2049 },
        { KeyAlgorithm.Rsa, 2048, KeyAlgorithm.Ecdsa, 384, 2050 },
        { KeyAlgorithm.Rsa, 3072, KeyAlgorithm.Rsa, 2048, 9999 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes_the_tbs_certificate_that_certificate_request_writes(KeyAlgorithm issuerAlgorithm, int issuerSize, KeyAlgorithm subjectAlgorithm, int subjectSize, int year)
    {
        using var issuerKey = new KeySpec(issuerAlgorithm, issuerSize).Generate();
        using var subjectKey = new KeySpec(subjectAlgorithm, subjectSize).Generate();
        var (issuerName, subjectName) = (new X500DistinguishedName("CN=Encoder Test Root, O=Notary"), new X500DistinguishedName("CN=svc.ns.svc.cluster.local"));
        var generator = Generator(issuerKey);
        var hash = issuerKey is ECDsa { KeySize: 384 } ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;
        var notBefore = new DateTimeOffset(2026, 3, 1, 11, 55, 0, TimeSpan.Zero);
        var notAfter = new DateTimeOffset(year, 12, 31, 23, 59, 59, TimeSpan.Zero);
        byte[] serial = [0x3A, 0x01, 0xFF, 0x00, 0x80, 0x7F, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x01, 0x02, 0x03];
        var request = subjectKey switch
        {
            RSA rsa => new CertificateRequest(subjectName, rsa, hash, RSASignaturePadding.Pkcs1),
            ECDsa ec => new CertificateRequest(subjectName, ec, hash),
            _ => throw new InvalidOperationException(),
        };
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("svc.ns.svc.cluster.local");
        san.AddDnsName("svc");
        X509Extension[] extensions =
        [
            new X509BasicConstraintsExtension(false, false, 0, true),
            new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true),
            new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false),
            san.Build(),
            new X509SubjectKeyIdentifierExtension(request.PublicKey, false),
        ];
        foreach (var extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        using var expected = request.Create(issuerName, generator, notBefore, notAfter, serial);
        var encoded = CertificateEncoder.Encode(issuerName, subjectName, subjectKey.ExportSubjectPublicKeyInfo(), serial, notBefore, notAfter, extensions, generator, hash);

        var (expectedTbs, expectedAlgorithm) = Parts(expected.RawData);
        var (tbs, algorithm) = Parts(encoded);
        Assert.Equal(Convert.ToHexString(expectedTbs), Convert.ToHexString(tbs));
        Assert.Equal(Convert.ToHexString(expectedAlgorithm), Convert.ToHexString(algorithm));

        using var decoded = X509CertificateLoader.LoadCertificate(encoded);
        Assert.Equal(Convert.ToHexString(serial), decoded.SerialNumber);
        Assert.Equal(notAfter, new DateTimeOffset(decoded.NotAfter).ToUniversalTime());
        Assert.True(Verifies(encoded, tbs, issuerKey, hash), "the signature must verify with the issuer's public key");
    }

    [Fact]
    public async Task An_issued_leaf_verifies_with_openssl_against_its_root()
    {
        using var ca = TestPki.NewCa();
        var issued = TestPki.Issue(ca, "svc-a.ns-a.svc.cluster.local", alt: "svc-a");
        using var directory = new TempDirectory();
        var root = directory.Write("root.pem", ca.CertificatePem);
        var leaf = directory.Write("leaf.pem", issued.CertificatePem);

        var verified = await Tools.OpensslAsync("verify", "-x509_strict", "-purpose", "sslserver", "-attime", At, "-CAfile", root, leaf);
        Assert.True(verified.ExitCode == 0, verified.ToString());
        Assert.Contains($"{leaf}: OK", verified.StdOut, StringComparison.Ordinal);

        // The other half of the same run: a leaf signed by another root is refused (so OK above means something).
        using var other = TestPki.NewCa("Another Root");
        var stranger = directory.Write("stranger.pem", TestPki.Issue(other, "svc-a.ns-a.svc.cluster.local").CertificatePem);
        var refused = await Tools.OpensslAsync("verify", "-attime", At, "-CAfile", root, stranger);
        Assert.NotEqual(0, refused.ExitCode);
    }

    public static TheoryData<string, double, double> Validities => new()
    {
        // CA lifetime days, leaf lifetime days: capped at the CA's notAfter, a fraction of a second, past 2049 (GeneralizedTime)
        { "capped", 30, 365 },
        { "fraction", 3650, 90.000005 },
        { "after 2049", 365 * 40, 365 * 28 },
    };

    [Theory]
    [MemberData(nameof(Validities))]
    public void What_issue_returns_is_what_the_certificate_says(string what, double caDays, double leafDays)
    {
        using var ca = TestPki.NewCa(lifetime: TimeSpan.FromDays(caDays));
        var issued = TestPki.Issue(ca, "svc-a.ns-a.svc.cluster.local", lifetime: TimeSpan.FromDays(leafDays));

        using var leaf = TestPki.Parse(issued.CertificatePem);
        Assert.True(issued.SerialNumber == leaf.SerialNumber, what);
        Assert.Equal(new DateTimeOffset(leaf.NotBefore).ToUniversalTime(), issued.NotBefore);
        Assert.Equal(new DateTimeOffset(leaf.NotAfter).ToUniversalTime(), issued.NotAfter);
        Assert.True(issued.NotAfter <= ca.NotAfter, what);
        CertificateAuthorityTests.AssertChainVerifies(issued, ca.CertificatePem, TestPki.Now);
    }

    [Fact]
    public void One_ca_issues_from_many_threads_at_once()
    {
        using var ca = TestPki.NewCa();
        var issued = new IssuedCertificate[64];
        Parallel.For(0, issued.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            issued[i] = TestPki.Issue(ca, $"svc-{i}.ns-a.svc.cluster.local"));

        Assert.Equal(issued.Length, issued.Select(i => i.SerialNumber).Distinct().Count());
        for (var i = 0; i < issued.Length; i++)
        {
            using var leaf = TestPki.Parse(issued[i].CertificatePem);
            Assert.Equal($"svc-{i}.ns-a.svc.cluster.local", leaf.GetNameInfo(X509NameType.DnsName, false));
            CertificateAuthorityTests.AssertChainVerifies(issued[i], ca.CertificatePem, TestPki.Now);
        }
    }

    [Fact]
    public void Refuses_what_certificate_request_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var generator = X509SignatureGenerator.CreateForECDsa(key);
        var name = new X500DistinguishedName("CN=x");
        var spki = key.ExportSubjectPublicKeyInfo();
        var at = TestPki.Now;
        X509Extension[] none = [];
        byte[] Encode(byte[] serial, DateTimeOffset notAfter, X509Extension[] extensions) =>
            CertificateEncoder.Encode(name, name, spki, serial, at, notAfter, extensions, generator, HashAlgorithmName.SHA256);

        Assert.Throws<ArgumentException>(() => Encode([], at, none));
        Assert.Throws<ArgumentException>(() => Encode([0x80, 0x01], at, none)); // negative
        Assert.Throws<ArgumentException>(() => Encode([0x00, 0x01], at, none)); // not minimal
        Assert.Throws<ArgumentException>(() => Encode([0x01], at.AddSeconds(-1), none));
        var constraints = new X509BasicConstraintsExtension(false, false, 0, true);
        Assert.Throws<ArgumentException>(() => Encode([0x01], at, [constraints, constraints]));
        Assert.NotEmpty(Encode([0x00, 0x80], at, [constraints])); // a leading zero where the next byte needs it
    }

    private static string At => TestPki.Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static X509SignatureGenerator Generator(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>The TBSCertificate and the outer signature algorithm, as encoded.</summary>
    private static (byte[] Tbs, byte[] Algorithm) Parts(byte[] certificate)
    {
        var reader = new AsnReader(certificate, AsnEncodingRules.DER).ReadSequence();
        var tbs = reader.ReadEncodedValue().ToArray();
        var algorithm = reader.ReadEncodedValue().ToArray();
        return (tbs, algorithm);
    }

    private static bool Verifies(byte[] certificate, byte[] tbs, AsymmetricAlgorithm issuerKey, HashAlgorithmName hash)
    {
        var reader = new AsnReader(certificate, AsnEncodingRules.DER).ReadSequence();
        reader.ReadEncodedValue();
        reader.ReadEncodedValue();
        var signature = reader.ReadBitString(out _);
        return issuerKey switch
        {
            RSA rsa => rsa.VerifyData(tbs, signature, hash, RSASignaturePadding.Pkcs1),
            ECDsa ec => ec.VerifyData(tbs, signature, hash, DSASignatureFormat.Rfc3279DerSequence),
            _ => false,
        };
    }
}
