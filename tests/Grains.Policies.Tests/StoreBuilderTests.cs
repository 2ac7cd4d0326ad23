using System.Security.Cryptography.X509Certificates;
using System.Text;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Grains.Policies.Tests;

/// <summary>One CA and two issued certificates for every store-building test (ECDSA keys: fast).</summary>
public sealed class IssuedFixture : IDisposable
{
    public static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly CertificateAuthority _ca = CertificateAuthority.CreateRoot("Policy Test Root", TimeSpan.FromDays(3650), Now, new KeySpec(KeyAlgorithm.Ecdsa, 256));

    public IssuedFixture()
    {
        Api = Material(_ca.Issue(new LeafRequest("api.shop.svc", [], TimeSpan.FromDays(90), new KeySpec(KeyAlgorithm.Ecdsa, 256)), Now), "arn:api");
        Web = Material(_ca.Issue(new LeafRequest("web.shop.svc", [], TimeSpan.FromDays(30), new KeySpec(KeyAlgorithm.Ecdsa, 256)), Now.AddHours(1)), "arn:web");
    }

    public IssuedMaterial Api { get; }

    public IssuedMaterial Web { get; }

    private static IssuedMaterial Material(IssuedCertificate c, string arn) => new(arn, c.CertificatePem, c.ChainPem, c.PrivateKeyPem, c.SerialNumber, c.NotBefore, c.NotAfter);

    public void Dispose() => _ca.Dispose();
}

/// <summary>The files of keystore and truststore Secrets: names, formats and contents.</summary>
public sealed class StoreBuilderTests(IssuedFixture issued) : IClassFixture<IssuedFixture>
{
    private static readonly ResourceKey Resource = new("shop", "api");
    private static readonly byte[] JksMagic = [0xFE, 0xED, 0xFE, 0xED];

    private static ServiceMetadata Metadata(string? keyStoreName = null, string? trustStoreName = null) =>
        new("/etc/tls", keyStoreName, trustStoreName, "keystore-secret", "truststore-secret");

    private static string Text(StoreWrite write, string file) => Encoding.UTF8.GetString(write.Files[file]);

    private static X509Certificate2 Parse(string pem) => X509Certificate2.CreateFromPem(pem);

    private static IEnumerable<string> Serials(string pemBundle) =>
        pemBundle.Split("-----END CERTIFICATE-----", StringSplitOptions.RemoveEmptyEntries)
            .Where(block => block.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            .Select(block => Parse(block + "-----END CERTIFICATE-----").SerialNumber);

    [Theory]
    [InlineData(null, StoreFormat.Pkcs12)]
    [InlineData("PKCS12", StoreFormat.Pkcs12)]
    [InlineData("pkcs12", StoreFormat.Pkcs12)]
    [InlineData("JKS", StoreFormat.Jks)]
    [InlineData("jks", StoreFormat.Jks)]
    public void Formats_default_to_PKCS12_and_ignore_case(string? format, StoreFormat expected) =>
        Assert.Equal((expected, (Problem?)null), StoreBuilder.ParseFormat(format));

    [Theory]
    [InlineData("PEM")]
    [InlineData("")]
    [InlineData("P12")]
    public void Other_formats_are_refused_naming_the_value(string format) =>
        Assert.Equal(
            (StoreFormat.Pkcs12, new Problem(Reasons.InvalidSpec, $"spec.format \"{format}\" is not supported: use \"PKCS12\" or \"JKS\".")),
            StoreBuilder.ParseFormat(format));

    [Fact]
    public void A_PKCS12_keystore_holds_the_key_and_certificate_under_the_default_name_with_PEM_companions()
    {
        var write = StoreBuilder.Keystore(Resource, "api.shop.svc", StoreFormat.Pkcs12, Metadata(), "api", issued.Api);

        Assert.Equal((Resource, ResourceKind.Keystore, "api.shop.svc", "keystore.p12"), (write.Resource, write.Kind, write.Fqdn, write.PrimaryFileName));
        Assert.Equal(["ca.crt", "keystore.p12", "tls.crt", "tls.key"], write.Files.Keys.Order(StringComparer.Ordinal));

        var store = X509CertificateLoader.LoadPkcs12Collection(write.Files["keystore.p12"], "keystore-secret");
        var leaf = Assert.Single(store, c => c.HasPrivateKey);
        Assert.Equal(issued.Api.SerialNumber, leaf.SerialNumber, StringComparer.OrdinalIgnoreCase);
        Assert.ThrowsAny<Exception>(() => X509CertificateLoader.LoadPkcs12Collection(write.Files["keystore.p12"], "wrong-password"));

        // tls.crt: the leaf, then its chain; ca.crt: the chain; tls.key: a PKCS#8 key of the leaf.
        Assert.Equal([issued.Api.SerialNumber, .. issued.Api.ChainPem.Select(p => Parse(p).SerialNumber)], Serials(Text(write, "tls.crt")), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(issued.Api.ChainPem.Select(p => Parse(p).SerialNumber), Serials(Text(write, "ca.crt")), StringComparer.OrdinalIgnoreCase);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", Text(write, "tls.key"), StringComparison.Ordinal);
        using var paired = X509Certificate2.CreateFromPem(issued.Api.CertificatePem, Text(write, "tls.key"));
        Assert.True(paired.HasPrivateKey);
    }

    [Theory]
    [InlineData(StoreFormat.Jks, null, "keystore.jks")]
    [InlineData(StoreFormat.Jks, "server.jks", "server.jks")]
    [InlineData(StoreFormat.Pkcs12, "server.p12", "server.p12")]
    public void The_keystore_file_is_named_as_the_service_expects(StoreFormat format, string? name, string expected)
    {
        var write = StoreBuilder.Keystore(Resource, "api.shop.svc", format, Metadata(keyStoreName: name, trustStoreName: "ignored.p12"), "api", issued.Api);
        Assert.Equal(expected, write.PrimaryFileName);
        Assert.Equal(["ca.crt", expected, "tls.crt", "tls.key"], write.Files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(format == StoreFormat.Jks, write.Files[expected].Take(4).SequenceEqual(JksMagic));
    }

    [Fact]
    public void A_PKCS12_truststore_holds_every_entry_in_order_and_a_ca_crt_bundle()
    {
        var entries = new List<TrustedEntry> { new("web", issued.Web.CertificatePem), new("api", issued.Api.CertificatePem) };
        var (write, aliases) = StoreBuilder.Truststore(Resource, "api.shop.svc", StoreFormat.Pkcs12, Metadata(keyStoreName: "ignored.p12"), entries);

        Assert.Equal((Resource, ResourceKind.Truststore, "api.shop.svc", "truststore.p12"), (write.Resource, write.Kind, write.Fqdn, write.PrimaryFileName));
        Assert.Equal(["ca.crt", "truststore.p12"], write.Files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["web", "api"], aliases);
        Assert.Equal([issued.Web.SerialNumber, issued.Api.SerialNumber], Serials(Text(write, "ca.crt")), StringComparer.OrdinalIgnoreCase);
        var store = X509CertificateLoader.LoadPkcs12Collection(write.Files["truststore.p12"], "truststore-secret");
        Assert.Equal(
            new[] { issued.Web.SerialNumber, issued.Api.SerialNumber }.Order(StringComparer.OrdinalIgnoreCase),
            store.Select(c => c.SerialNumber).Order(StringComparer.OrdinalIgnoreCase),
            StringComparer.OrdinalIgnoreCase);
        Assert.DoesNotContain(store, c => c.HasPrivateKey);
    }

    [Theory]
    [InlineData(StoreFormat.Jks, null, "truststore.jks")]
    [InlineData(StoreFormat.Jks, "trust.jks", "trust.jks")]
    [InlineData(StoreFormat.Pkcs12, "trust.p12", "trust.p12")]
    public void The_truststore_file_is_named_as_the_service_expects(StoreFormat format, string? name, string expected)
    {
        var (write, _) = StoreBuilder.Truststore(Resource, "api.shop.svc", format, Metadata(trustStoreName: name), [new("api", issued.Api.CertificatePem)]);
        Assert.Equal(expected, write.PrimaryFileName);
        Assert.Equal(["ca.crt", expected], write.Files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(format == StoreFormat.Jks, write.Files[expected].Take(4).SequenceEqual(JksMagic));
    }

    [Fact]
    public void Issued_material_maps_to_the_Pki_certificate_field_by_field()
    {
        var material = new IssuedMaterial("arn:x", "cert-pem", ["chain-1", "chain-2"], "key-pem", "0A1B", new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), new DateTimeOffset(2027, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var pki = StoreBuilder.ToPki(material);
        Assert.Equal(
            ("cert-pem", "key-pem", "0A1B", new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), new DateTimeOffset(2027, 1, 2, 3, 4, 5, TimeSpan.Zero)),
            (pki.CertificatePem, pki.PrivateKeyPem, pki.SerialNumber, pki.NotBefore, pki.NotAfter));
        Assert.Equal(["chain-1", "chain-2"], pki.ChainPem);
    }
}
