using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Policies.Tests;

public sealed class TrustSourceResolutionTests
{
    private static readonly string PartnerCa = SelfSigned("Partner Root CA");
    private static readonly string DatabaseCa = SelfSigned("Database CA");

    private static readonly TrustSourceSpec PartnerMap = new() { Kind = TrustSourceKinds.ConfigMap, Name = "partner-ca", Key = "ca.pem" };
    private static readonly TrustSourceSpec DbSecret = new() { Kind = TrustSourceKinds.Secret, Name = "db-ca", Key = "bundle" };
    private static readonly TrustSourceSpec Roots = new() { Kind = TrustSourceKinds.DefaultCAs };

    private static TrustSourceContent Found(string pem) => new(TrustSourceReadOutcome.Found, pem);

    private static string SelfSigned(string cn)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return certificate.ExportCertificatePem() + "\n";
    }

    private static string Hash(string pem) =>
        Convert.ToHexStringLower(SHA256.HashData(X509Certificate2.CreateFromPem(pem).RawData))[..12];

    [Fact]
    public void Every_certificate_of_every_source_becomes_an_entry_with_an_alias_naming_its_source()
    {
        var (entries, problem) = TrustSourceResolution.Resolve("shop", [
            (PartnerMap, Found(PartnerCa)),
            (DbSecret, Found("# comment\n" + DatabaseCa + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")),
            (new TrustSourceSpec { Kind = TrustSourceKinds.Inline, Inline = PartnerCa + DatabaseCa }, Found(PartnerCa + DatabaseCa)),
        ]);

        Assert.Null(problem);
        Assert.Equal([$"source-configmap-partner-ca-{Hash(PartnerCa)}", $"source-secret-db-ca-{Hash(DatabaseCa)}"], entries.Select(e => e.Alias));
        Assert.Equal(X509Certificate2.CreateFromPem(DatabaseCa).RawData, X509Certificate2.CreateFromPem(entries[1].CertificatePem).RawData);
    }

    [Fact]
    public void Aliases_are_stable_across_rebuilds_and_source_order()
    {
        var first = TrustSourceResolution.Resolve("shop", [(PartnerMap, Found(PartnerCa)), (Roots, Found(DatabaseCa))]).Entries;
        var again = TrustSourceResolution.Resolve("shop", [(Roots, Found(DatabaseCa)), (PartnerMap, Found(PartnerCa))]).Entries;

        Assert.Equal(first.Select(e => e.Alias).Order(StringComparer.Ordinal), again.Select(e => e.Alias).Order(StringComparer.Ordinal));
        Assert.Contains($"source-defaultcas-{Hash(DatabaseCa)}", first.Select(e => e.Alias));
    }

    [Fact]
    public void A_bundle_of_several_certificates_gives_one_entry_each()
    {
        var (entries, problem) = TrustSourceResolution.Resolve("shop", [(Roots, Found(PartnerCa + DatabaseCa))]);

        Assert.Null(problem);
        Assert.Equal(2, entries.Count);
        Assert.All(entries, e => Assert.StartsWith("source-defaultcas-", e.Alias, StringComparison.Ordinal));
    }

    public static TheoryData<string, TrustSourceSpec, TrustSourceContent, string> Invalid => new()
    {
        { "a missing ConfigMap", PartnerMap, new(TrustSourceReadOutcome.ObjectMissing, null), "source #2 (configMap partner-ca, key ca.pem): ConfigMap shop/partner-ca does not exist" },
        { "a missing Secret key", DbSecret, new(TrustSourceReadOutcome.KeyMissing, null), "source #2 (secret db-ca, key bundle): Secret shop/db-ca has no key bundle" },
        { "an empty key", PartnerMap, new(TrustSourceReadOutcome.Found, ""), "source #2 (configMap partner-ca, key ca.pem): it holds no PEM CERTIFICATE block" },
        { "only a private key", DbSecret, new(TrustSourceReadOutcome.Found, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "source #2 (secret db-ca, key bundle): it holds no PEM CERTIFICATE block" },
        { "a block that is no certificate", PartnerMap, new(TrustSourceReadOutcome.Found, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "source #2 (configMap partner-ca, key ca.pem): its CERTIFICATE block #1 is not a parseable X.509 certificate" },
        { "the second block broken", PartnerMap, new(TrustSourceReadOutcome.Found, PartnerCa + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "its CERTIFICATE block #2 is not a parseable X.509 certificate" },
        { "no root bundle in the image", Roots, new(TrustSourceReadOutcome.ObjectMissing, null), "source #2 (defaultCAs): the machine's root bundle is missing" },
        { "no single kind", new TrustSourceSpec { Kind = "" }, new(TrustSourceReadOutcome.Found, PartnerCa), "source #2 (no single kind): it must set exactly one of" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_source_is_SourceInvalid_naming_it_and_nothing_of_its_contents(string because, TrustSourceSpec source, TrustSourceContent content, string expected)
    {
        var (entries, problem) = TrustSourceResolution.Resolve("shop", [(Roots, Found(DatabaseCa)), (source, content)]);

        Assert.Empty(entries);
        Assert.NotNull(problem);
        Assert.Equal(Reasons.SourceInvalid, problem.Reason);
        Assert.True(problem.Message.Contains(expected, StringComparison.Ordinal), $"{because}: {problem.Message}");
        Assert.DoesNotContain("AAAA", problem.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("MII", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Partner.CA_bundle", "source-configmap-partner-ca-bundle-")]
    [InlineData("a-very-long-configmap-name-that-goes-on-and-on-and-on-for-ever", "source-configmap-a-very-long-configmap-name-that-goes-on-")]
    public void ConfigMap_names_are_sanitized_and_cut_in_aliases(string name, string prefix)
    {
        var alias = TrustSourceResolution.Alias(PartnerMap with { Name = name }, new string('A', 64));

        Assert.Equal(prefix + "aaaaaaaaaaaa", alias);
    }

    [Fact]
    public void A_source_certificate_that_a_quarantine_holds_out_is_withheld_naming_the_quarantined_certificate()
    {
        var leaf = SelfSigned("pay.shop");
        var previous = SelfSigned("pay.shop previous");
        var sources = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["source-configmap-copied-a"] = leaf,
            ["source-configmap-copied-b"] = previous,
            ["source-configmap-partner-ca-c"] = PartnerCa,
        };

        var none = TrustSourceResolution.Withheld(sources, new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal));
        var withheld = TrustSourceResolution.Withheld(sources, new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
        {
            ["shop/pay"] = [leaf, previous],
            ["shop/other"] = [DatabaseCa],
        });

        Assert.Empty(none);
        Assert.Equal(
            new Dictionary<string, string>(StringComparer.Ordinal) { ["source-configmap-copied-a"] = "shop/pay", ["source-configmap-copied-b"] = "shop/pay" },
            withheld);
    }

    private static string Bundle(int count, int padding = 0)
    {
        var pem = new System.Text.StringBuilder();
        for (var i = 0; i < count; i++)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN=Bundle CA {i} {Guid.NewGuid():N}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            if (padding > 0)
            {
                request.CertificateExtensions.Add(new X509Extension("1.3.6.1.4.1.99999.1", new byte[padding], false));
            }

            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            pem.Append(certificate.ExportCertificatePem()).Append('\n');
        }

        return pem.ToString();
    }

    public static TheoryData<string, string[], string?> Sizes => new()
    {
        { "300 + 100 certificates: at both limits", ["300", "100"], null },
        { "301 certificates in one source", ["301"], "source #1 (configMap partner-ca, key ca.pem) is too large: it holds 301 certificates, more than the 300" },
        { "250 + 151 certificates: over the total", ["250", "151"], "source #2 (secret db-ca, key bundle) is too large: with it the sources bring 401 certificates" },
        { "one certificate behind 600 KB of comments", ["1+comment"], "source #1 (configMap partner-ca, key ca.pem) is too large: it holds" },
        { "3 x 100 certificates of ~3.5 KB: over the total size", ["100x2000", "100x2000", "100x2000"], "source #2 (secret db-ca, key bundle) is too large: with it the sources bring 200 certificates (" },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Sources_over_the_size_caps_are_SourceInvalid_too_large_naming_the_source(string because, string[] shapes, string? expected)
    {
        TrustSourceSpec[] specs = [PartnerMap, DbSecret, new() { Kind = TrustSourceKinds.Inline, Inline = "x" }];
        var sources = shapes.Select((shape, i) => (specs[i], Found(shape switch
        {
            "1+comment" => new string('#', 600 * 1024) + "\n" + PartnerCa,
            _ when shape.Contains('x', StringComparison.Ordinal) => Bundle(int.Parse(shape.Split('x')[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(shape.Split('x')[1], System.Globalization.CultureInfo.InvariantCulture)),
            _ => Bundle(int.Parse(shape, System.Globalization.CultureInfo.InvariantCulture)),
        }))).ToList();

        var (entries, problem) = TrustSourceResolution.Resolve("shop", sources);

        if (expected is null)
        {
            Assert.True(problem is null, $"{because}: {problem?.Message}");
            Assert.Equal(TrustSourceResolution.MaxCertificates, entries.Count);
            return;
        }

        Assert.Empty(entries);
        Assert.NotNull(problem);
        Assert.Equal(Reasons.SourceInvalid, problem.Reason);
        Assert.True(problem.Message.Contains(expected, StringComparison.Ordinal), $"{because}: {problem.Message}");
        Assert.DoesNotContain("MII", problem.Message, StringComparison.Ordinal);
    }
}
