using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Notary.Pki.Tests.Support;

namespace Notary.Pki.Tests;

public sealed class CertificateAuthorityTests
{
    private const string Fqdn = "svc-a.ns-a.svc.cluster.local";
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    public static TheoryData<KeyAlgorithm, int> SupportedKeys => new()
    {
        { KeyAlgorithm.Rsa, 2048 },
        { KeyAlgorithm.Rsa, 3072 },
        { KeyAlgorithm.Rsa, 4096 },
        { KeyAlgorithm.Ecdsa, 256 },
        { KeyAlgorithm.Ecdsa, 384 },
    };

    [Theory]
    [MemberData(nameof(SupportedKeys))]
    public void Issues_a_leaf_with_the_requested_names_usages_and_key(KeyAlgorithm algorithm, int size)
    {
        using var ca = TestPki.NewCa();
        var issued = ca.Issue(new LeafRequest(Fqdn, ["svc-a", "svc-a.ns-a"], TimeSpan.FromDays(90), new KeySpec(algorithm, size)), TestPki.Now);

        using var leaf = TestPki.Parse(issued.CertificatePem);
        using var root = TestPki.Parse(ca.CertificatePem);
        Assert.Equal(Fqdn, leaf.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Equal($"CN={Fqdn}", leaf.Subject);
        Assert.Equal(root.Subject, leaf.Issuer);
        Assert.Equal([Fqdn, "svc-a", "svc-a.ns-a"], DnsNames(leaf));

        var eku = Assert.Single(leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal([ServerAuth, ClientAuth], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
        var usage = Assert.Single(leaf.Extensions.OfType<X509KeyUsageExtension>());
        Assert.True(usage.Critical);
        var expectedUsage = algorithm == KeyAlgorithm.Rsa
            ? X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment
            : X509KeyUsageFlags.DigitalSignature;
        Assert.Equal(expectedUsage, usage.KeyUsages);
        var constraints = Assert.Single(leaf.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.False(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);

        var ski = Assert.Single(leaf.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
        var rootSki = Assert.Single(root.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
        var aki = Assert.Single(leaf.Extensions.OfType<X509AuthorityKeyIdentifierExtension>());
        Assert.NotEqual(rootSki.SubjectKeyIdentifier, ski.SubjectKeyIdentifier);
        Assert.Equal(rootSki.SubjectKeyIdentifierBytes.ToArray(), aki.KeyIdentifier!.Value.ToArray());

        if (algorithm == KeyAlgorithm.Rsa)
        {
            using var rsa = leaf.GetRSAPublicKey();
            Assert.Equal(size, rsa!.KeySize);
            Assert.Null(leaf.GetECDsaPublicKey());
            using var key = RSA.Create();
            key.ImportFromPem(issued.PrivateKeyPem);
            using var withKey = leaf.CopyWithPrivateKey(key);
            Assert.True(withKey.HasPrivateKey);
        }
        else
        {
            using var ec = leaf.GetECDsaPublicKey();
            Assert.Equal(size, ec!.KeySize);
            Assert.Null(leaf.GetRSAPublicKey());
            using var key = ECDsa.Create();
            key.ImportFromPem(issued.PrivateKeyPem);
            using var withKey = leaf.CopyWithPrivateKey(key);
            Assert.True(withKey.HasPrivateKey);
        }

        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", issued.PrivateKeyPem, StringComparison.Ordinal);
        Assert.Equal([ca.CertificatePem], issued.ChainPem);
        AssertChainVerifies(issued, ca.CertificatePem, TestPki.Now);
    }

    [Fact]
    public void Validity_starts_five_minutes_early_and_lasts_the_requested_lifetime()
    {
        using var ca = TestPki.NewCa();
        var now = TestPki.Now.AddMilliseconds(750); // sub-second parts are dropped, as X.509 time has none
        var issued = TestPki.Issue(ca, Fqdn, now: now, lifetime: TimeSpan.FromHours(2160));

        using var leaf = TestPki.Parse(issued.CertificatePem);
        Assert.Equal(TestPki.Now.AddMinutes(-5), issued.NotBefore);
        Assert.Equal(TestPki.Now.AddHours(2160), issued.NotAfter);
        Assert.Equal(issued.NotBefore, new DateTimeOffset(leaf.NotBefore));
        Assert.Equal(issued.NotAfter, new DateTimeOffset(leaf.NotAfter));
        Assert.Equal(TimeSpan.Zero, issued.NotAfter.Offset);
    }

    [Fact]
    public void Lifetime_is_capped_at_the_ca_not_after()
    {
        using var ca = TestPki.NewCa(lifetime: TimeSpan.FromDays(30));
        var issued = TestPki.Issue(ca, Fqdn, lifetime: TimeSpan.FromDays(365));

        Assert.Equal(TestPki.Now.AddDays(30), ca.NotAfter);
        Assert.Equal(ca.NotAfter, issued.NotAfter);
        AssertChainVerifies(issued, ca.CertificatePem, TestPki.Now.AddDays(29));
    }

    [Fact]
    public void The_longest_lifetime_is_capped_not_overflowed()
    {
        using var ca = TestPki.NewCa(lifetime: TimeSpan.FromDays(30));
        Assert.Equal(ca.NotAfter, TestPki.Issue(ca, Fqdn, lifetime: TimeSpan.MaxValue).NotAfter);

        var error = Assert.Throws<PkiException>(() => TestPki.NewCa(lifetime: TimeSpan.MaxValue));
        Assert.Contains("ends after the year 9999", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serial_numbers_are_positive_sixteen_bytes_uppercase_hex_and_random()
    {
        using var ca = TestPki.NewCa();
        var first = TestPki.Issue(ca, Fqdn);
        var second = TestPki.Issue(ca, Fqdn);

        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        foreach (var issued in new[] { first, second })
        {
            Assert.Matches("^[0-9A-F]{32}$", issued.SerialNumber);
            using var leaf = TestPki.Parse(issued.CertificatePem);
            Assert.Equal(issued.SerialNumber, leaf.SerialNumber);
            var value = new BigInteger(leaf.SerialNumberBytes.Span, isUnsigned: false, isBigEndian: true);
            Assert.True(value > BigInteger.Zero, $"serial {issued.SerialNumber} must be positive");
        }
    }

    [Fact]
    public void Alt_names_are_deduplicated_after_the_fqdn()
    {
        using var ca = TestPki.NewCa();
        var issued = TestPki.Issue(ca, Fqdn, alt: ["b.example.com", Fqdn, "*.ns-a.svc.cluster.local", "b.example.com"]);

        using var leaf = TestPki.Parse(issued.CertificatePem);
        Assert.Equal([Fqdn, "b.example.com", "*.ns-a.svc.cluster.local"], DnsNames(leaf));
    }

    [Fact]
    public void An_fqdn_longer_than_a_common_name_may_be_lives_only_in_a_critical_san()
    {
        var fqdn = new string('a', 50) + "." + new string('b', 40) + ".svc.cluster.local";
        using var ca = TestPki.NewCa();
        var issued = TestPki.Issue(ca, fqdn);

        using var leaf = TestPki.Parse(issued.CertificatePem);
        Assert.Equal(string.Empty, leaf.Subject);
        var san = Assert.Single(leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.True(san.Critical);
        Assert.Equal([fqdn], san.EnumerateDnsNames());
        AssertChainVerifies(issued, ca.CertificatePem, TestPki.Now);
    }

    [Theory]
    [InlineData("Svc-A.ns-a.svc.cluster.local", "contains 'S'")]
    [InlineData("svc_a.ns-a", "contains '_'")]
    [InlineData("svc-a..cluster.local", "empty label")]
    [InlineData("svc-a.ns-a.", "empty label")]
    [InlineData(".svc-a", "empty label")]
    [InlineData("-svc.ns", "starts or ends with '-'")]
    [InlineData("svc-.ns", "starts or ends with '-'")]
    [InlineData("svc.*.cluster.local", "only as the leftmost label")]
    [InlineData("*svc.ns.local", "must be a whole label")]
    [InlineData("*.local", "at least two labels")]
    [InlineData("svc a.ns", "contains ' '")]
    [InlineData("", "it is empty")]
    public void A_bad_fqdn_is_refused_naming_the_value(string fqdn, string reason)
    {
        using var ca = TestPki.NewCa();
        var error = Assert.Throws<PkiException>(() => TestPki.Issue(ca, fqdn));
        Assert.Contains($"fqdn \"{fqdn}\" is not a valid DNS name", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlong_names_and_labels_are_refused()
    {
        using var ca = TestPki.NewCa();
        var longLabel = new string('a', 64) + ".ns";
        var error = Assert.Throws<PkiException>(() => TestPki.Issue(ca, longLabel));
        Assert.Contains("longer than 63 characters", error.Message, StringComparison.Ordinal);

        var longName = string.Join('.', Enumerable.Repeat(new string('a', 63), 4)) + ".x";
        error = Assert.Throws<PkiException>(() => TestPki.Issue(ca, longName));
        Assert.Contains("the limit is 253", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_alt_name_is_refused_naming_it()
    {
        using var ca = TestPki.NewCa();
        var error = Assert.Throws<PkiException>(() => TestPki.Issue(ca, Fqdn, alt: ["ok.example.com", "Bad_Name"]));
        Assert.StartsWith("alt name \"Bad_Name\" of \"svc-a.ns-a.svc.cluster.local\" is not a valid DNS name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_key_and_non_positive_lifetime_are_refused()
    {
        using var ca = TestPki.NewCa();
        var key = Assert.Throws<PkiException>(() => TestPki.Issue(ca, Fqdn, key: new KeySpec(KeyAlgorithm.Rsa, 1024)));
        Assert.Equal("certificate for \"svc-a.ns-a.svc.cluster.local\": RSA key size 1024 is not supported; use 2048, 3072 or 4096", key.Message);

        var lifetime = Assert.Throws<PkiException>(() => TestPki.Issue(ca, Fqdn, lifetime: TimeSpan.Zero));
        Assert.Equal("certificate for \"svc-a.ns-a.svc.cluster.local\": lifetime 0s must be positive", lifetime.Message);
    }

    [Fact]
    public void An_expired_ca_refuses_to_issue()
    {
        using var ca = TestPki.NewCa(lifetime: TimeSpan.FromDays(1));
        var error = Assert.Throws<PkiException>(() => TestPki.Issue(ca, Fqdn, now: TestPki.Now.AddDays(2)));
        Assert.Contains("expired", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Root_is_a_self_signed_ca_with_the_default_rsa_3072_key()
    {
        using var ca = CertificateAuthority.CreateRoot("Notary Root CA", TimeSpan.FromDays(3650), TestPki.Now);
        using var root = TestPki.Parse(ca.CertificatePem);

        Assert.Equal("CN=Notary Root CA", root.Subject);
        Assert.Equal(root.Subject, root.Issuer);
        var constraints = Assert.Single(root.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);
        var usage = Assert.Single(root.Extensions.OfType<X509KeyUsageExtension>());
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
        Assert.Single(root.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
        using var rsa = root.GetRSAPublicKey();
        Assert.Equal(3072, rsa!.KeySize);
        Assert.Equal(TestPki.Now.AddDays(3650), ca.NotAfter);
        Assert.Matches("^[0-9A-F]{32}$", root.SerialNumber);

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = TestPki.Now.UtcDateTime;
        Assert.True(chain.Build(root), "the root's self-signature must verify");
    }

    [Fact]
    public void FromPem_round_trips_and_keeps_issuing_under_the_same_root()
    {
        using var original = TestPki.NewCa();
        using var loaded = CertificateAuthority.FromPem(original.CertificatePem, original.ExportPrivateKeyPem());

        Assert.Equal(original.CertificatePem, loaded.CertificatePem);
        Assert.Equal(original.NotAfter, loaded.NotAfter);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", loaded.ExportPrivateKeyPem(), StringComparison.Ordinal);
        var issued = TestPki.Issue(loaded, Fqdn);
        Assert.Equal([original.CertificatePem], issued.ChainPem);
        AssertChainVerifies(issued, original.CertificatePem, TestPki.Now);
    }

    [Fact]
    public void FromPem_accepts_a_pkcs1_rsa_key()
    {
        using var original = CertificateAuthority.CreateRoot("RSA Root", TimeSpan.FromDays(10), TestPki.Now, KeySpec.Default);
        using var rsa = RSA.Create();
        rsa.ImportFromPem(original.ExportPrivateKeyPem());
        using var loaded = CertificateAuthority.FromPem(original.CertificatePem, rsa.ExportRSAPrivateKeyPem());
        AssertChainVerifies(TestPki.Issue(loaded, Fqdn), original.CertificatePem, TestPki.Now);
    }

    [Fact]
    public void URI_names_appear_only_when_requested_and_must_be_absolute()
    {
        using var ca = TestPki.NewCa();
        var plain = TestPki.Issue(ca, Fqdn);
        using var plainCertificate = TestPki.Parse(plain.CertificatePem);
        Assert.DoesNotContain("URI:", plainCertificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().Format(false), StringComparison.Ordinal);

        var withUri = ca.Issue(new LeafRequest(Fqdn, [], TimeSpan.FromDays(1), TestPki.FastKey, [new Uri("urn:notary:silo:ops")]), TestPki.Now);
        using var uriCertificate = TestPki.Parse(withUri.CertificatePem);
        var san = uriCertificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal([Fqdn], san.EnumerateDnsNames());
        Assert.Contains("urn:notary:silo:ops", san.Format(false), StringComparison.Ordinal);

        var error = Assert.Throws<PkiException>(() => ca.Issue(new LeafRequest(Fqdn, [], TimeSpan.FromDays(1), TestPki.FastKey, [new Uri("relative/path", UriKind.Relative)]), TestPki.Now));
        Assert.Contains("not absolute", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPem_with_an_intermediate_puts_its_issuers_in_every_chain()
    {
        using var root = TestPki.NewCa("Notary Root");
        using var rootCert = TestPki.Parse(root.CertificatePem);
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Notary Intermediate", intermediateKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var rootWithKey = rootCert.CopyWithPrivateKey(ECDsaFromPem(root.ExportPrivateKeyPem()));
        using var intermediate = request.Create(rootWithKey, TestPki.Now.AddMinutes(-1), TestPki.Now.AddDays(100), [1, 2, 3]);

        using var ca = CertificateAuthority.FromPem(intermediate.ExportCertificatePem() + "\n" + root.CertificatePem, intermediateKey.ExportPkcs8PrivateKeyPem());
        var issued = TestPki.Issue(ca, Fqdn);

        Assert.Equal(2, issued.ChainPem.Count);
        Assert.Equal(root.CertificatePem, issued.ChainPem[1]);
        AssertChainVerifies(issued, root.CertificatePem, TestPki.Now);
    }

    [Fact]
    public void FromPem_refuses_a_key_that_does_not_match()
    {
        using var first = TestPki.NewCa("First Root");
        using var second = TestPki.NewCa("Second Root");
        var error = Assert.Throws<PkiException>(() => CertificateAuthority.FromPem(first.CertificatePem, second.ExportPrivateKeyPem()));
        Assert.Equal("CA private key does not match the CA certificate \"CN=First Root\" (their public keys differ)", error.Message);

        using var rsaRoot = CertificateAuthority.CreateRoot("RSA Root", TimeSpan.FromDays(10), TestPki.Now, KeySpec.Default);
        error = Assert.Throws<PkiException>(() => CertificateAuthority.FromPem(first.CertificatePem, rsaRoot.ExportPrivateKeyPem()));
        Assert.Contains("does not match", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPem_refuses_a_certificate_that_is_not_a_ca()
    {
        using var ca = TestPki.NewCa();
        var leaf = TestPki.Issue(ca, Fqdn);
        var error = Assert.Throws<PkiException>(() => CertificateAuthority.FromPem(leaf.CertificatePem, leaf.PrivateKeyPem));
        Assert.Equal($"CA certificate \"CN={Fqdn}\" is not a CA: it lacks basicConstraints CA=true", error.Message);
    }

    [Theory]
    [InlineData("", "CA certificate: no PEM CERTIFICATE block found")]
    [InlineData("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "CA certificate: not a parseable X.509 certificate")]
    public void FromPem_refuses_garbage_certificates(string certificatePem, string message)
    {
        using var ca = TestPki.NewCa();
        var error = Assert.Throws<PkiException>(() => CertificateAuthority.FromPem(certificatePem, ca.ExportPrivateKeyPem()));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPem_refuses_a_missing_or_encrypted_key()
    {
        using var ca = TestPki.NewCa();
        var missing = Assert.Throws<PkiException>(() => CertificateAuthority.FromPem(ca.CertificatePem, "not a key"));
        Assert.Equal("CA private key: no PEM PRIVATE KEY block found", missing.Message);

        using var key = ECDsa.Create();
        key.ImportFromPem(ca.ExportPrivateKeyPem());
        var encrypted = key.ExportEncryptedPkcs8PrivateKeyPem("secret", new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1000));
        var error = Assert.Throws<PkiException>(() => CertificateAuthority.FromPem(ca.CertificatePem, encrypted));
        Assert.Equal("CA private key: encrypted private keys are not supported; supply an unencrypted PKCS#8 key", error.Message);
    }

    [Fact]
    public void A_disposed_ca_refuses_to_issue()
    {
        var ca = TestPki.NewCa();
        ca.Dispose();
        Assert.Throws<ObjectDisposedException>(() => TestPki.Issue(ca, Fqdn));
    }

    internal static void AssertChainVerifies(IssuedCertificate issued, string rootPem, DateTimeOffset at)
    {
        using var leaf = TestPki.Parse(issued.CertificatePem);
        using var root = TestPki.Parse(rootPem);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        foreach (var pem in issued.ChainPem.Where(p => p != rootPem))
        {
            chain.ChainPolicy.ExtraStore.Add(TestPki.Parse(pem));
        }

        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuth));
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuth));
        var built = chain.Build(leaf);
        Assert.True(built, string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
        Assert.Equal(issued.ChainPem.Count + 1, chain.ChainElements.Count);
        Assert.Equal(root.Thumbprint, chain.ChainElements[^1].Certificate.Thumbprint);
    }

    private static IEnumerable<string> DnsNames(X509Certificate2 certificate) =>
        Assert.Single(certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>()).EnumerateDnsNames();

    private static ECDsa ECDsaFromPem(string pem)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        return key;
    }
}
