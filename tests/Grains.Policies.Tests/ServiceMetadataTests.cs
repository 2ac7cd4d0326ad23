using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Policies.Tests;

/// <summary>The metadata Secret's JSON: what is required, what is refused, and messages that never quote a value.</summary>
public sealed class ServiceMetadataTests
{
    private const string Where = "Secret shop/notary-metadata";

    private static (ServiceMetadata? Metadata, Problem? Problem) Parse(string? json, bool exists = true) =>
        ServiceMetadata.Parse(new MetadataSecretContent(exists, json), "shop", "notary-metadata");

    private const string Complete = """
        {"tlsStoreRootPath": "/etc/tls", "tlsKeyStoreName": "server.p12", "tlsTrustStoreName": "trust.jks",
         "tlsKeyStorePassword": "key-secret", "tlsTrustStorePassword": "trust-secret"}
        """;

    [Fact]
    public void The_secret_s_key_and_default_name_and_the_password_minimum()
    {
        Assert.Equal("metadata.json", ServiceMetadata.Key);
        Assert.Equal("notary-metadata", ServiceMetadata.DefaultSecretName);
        Assert.Equal(6, ServiceMetadata.MinimumPasswordLength);
    }

    [Fact]
    public void A_complete_document_parses_every_field()
    {
        var (metadata, problem) = Parse(Complete);
        Assert.Null(problem);
        Assert.Equal(new ServiceMetadata("/etc/tls", "server.p12", "trust.jks", "key-secret", "trust-secret"), metadata);
    }

    [Theory]
    [InlineData("""{"tlsStoreRootPath": "/r", "tlsKeyStorePassword": "123456", "tlsTrustStorePassword": "abcdef"}""")]
    [InlineData("""{"tlsStoreRootPath": "/r", "tlsKeyStoreName": null, "tlsTrustStoreName": "", "tlsKeyStorePassword": "123456", "tlsTrustStorePassword": "abcdef", "other": 1}""")]
    public void Store_names_are_optional_and_passwords_of_six_characters_are_enough(string json)
    {
        var (metadata, problem) = Parse(json);
        Assert.Null(problem);
        Assert.Equal(new ServiceMetadata("/r", null, null, "123456", "abcdef"), metadata);
    }

    [Theory]
    [InlineData(false, null, Reasons.MetadataSecretMissing, Where + " does not exist; create it with key metadata.json to onboard the service.")]
    [InlineData(true, null, Reasons.MetadataMissing, Where + " has no key metadata.json.")]
    [InlineData(true, "", Reasons.MetadataMissing, Where + " has no key metadata.json.")]
    [InlineData(true, "  \n", Reasons.MetadataMissing, Where + " has no key metadata.json.")]
    [InlineData(true, "[1, 2]", Reasons.MetadataMalformed, Where + " key metadata.json must hold a JSON object.")]
    [InlineData(true, "\"text\"", Reasons.MetadataMalformed, Where + " key metadata.json must hold a JSON object.")]
    [InlineData(true, "{}", Reasons.MetadataMalformed, Where + " key metadata.json: tlsStoreRootPath is missing; tlsKeyStorePassword is missing; tlsTrustStorePassword is missing.")]
    public void A_missing_or_unusable_document_names_the_secret_and_the_key(bool exists, string? json, string reason, string message) =>
        Assert.Equal((null, new Problem(reason, message)), Parse(json, exists));

    [Theory]
    [InlineData("{\"tlsStoreRootPath\": ", 1, 22)]
    [InlineData("{\n  \"tlsStoreRootPath\": tru\n}", 2, 26)]
    public void Invalid_JSON_names_the_line_and_position_only(string json, int line, int position)
    {
        var (metadata, problem) = Parse(json);
        Assert.Null(metadata);
        Assert.Equal(new Problem(Reasons.MetadataMalformed, $"{Where} key metadata.json is not valid JSON (line {line}, position {position})."), problem);
    }

    [Theory]
    [InlineData(
        """{"tlsStoreRootPath": "", "tlsKeyStorePassword": 123456, "tlsTrustStorePassword": "short"}""",
        "tlsStoreRootPath is empty; tlsKeyStorePassword must be a string; tlsTrustStorePassword is shorter than 6 characters (keytool refuses such stores)")]
    [InlineData(
        """{"tlsStoreRootPath": "/r", "tlsKeyStoreName": 5, "tlsKeyStorePassword": "12345", "tlsTrustStorePassword": ""}""",
        "tlsKeyStoreName must be a string; tlsTrustStorePassword is empty; tlsKeyStorePassword is shorter than 6 characters (keytool refuses such stores)")]
    [InlineData(
        """{"tlsStoreRootPath": "/r", "tlsKeyStoreName": "../etc/passwd", "tlsTrustStoreName": "a b", "tlsKeyStorePassword": "123456", "tlsTrustStorePassword": "123456"}""",
        "tlsKeyStoreName must be a file name of letters, digits, '-', '_' and '.' (it becomes a Secret key); tlsTrustStoreName must be a file name of letters, digits, '-', '_' and '.' (it becomes a Secret key)")]
    [InlineData(
        """{"tlsStoreRootPath": "/r", "tlsKeyStoreName": ".", "tlsTrustStoreName": "..", "tlsKeyStorePassword": "123456", "tlsTrustStorePassword": "123456"}""",
        "tlsKeyStoreName must be a file name of letters, digits, '-', '_' and '.' (it becomes a Secret key); tlsTrustStoreName must be a file name of letters, digits, '-', '_' and '.' (it becomes a Secret key)")]
    [InlineData(
        """{"tlsStoreRootPath": null, "tlsKeyStoreName": "ké.p12", "tlsKeyStorePassword": "123456", "tlsTrustStorePassword": "123456"}""",
        "tlsStoreRootPath is missing; tlsKeyStoreName must be a file name of letters, digits, '-', '_' and '.' (it becomes a Secret key)")]
    public void Every_field_at_fault_is_named_in_one_message_without_its_value(string json, string problems)
    {
        var (metadata, problem) = Parse(json);
        Assert.Null(metadata);
        Assert.Equal(new Problem(Reasons.MetadataMalformed, $"{Where} key metadata.json: {problems}."), problem);
    }

    [Theory]
    [InlineData(253, true)]
    [InlineData(254, false)]
    public void A_store_name_may_be_as_long_as_a_Secret_key(int length, bool valid)
    {
        var name = "a-b_c." + new string('x', length - 6);
        var (_, problem) = Parse($$"""{"tlsStoreRootPath": "/r", "tlsKeyStoreName": "{{name}}", "tlsKeyStorePassword": "123456", "tlsTrustStorePassword": "123456"}""");
        Assert.Equal(valid, problem is null);
    }

    [Fact]
    public void The_fingerprint_is_a_salted_HMAC_of_every_field()
    {
        var salt = new byte[] { 1, 2, 3, 4 };
        var metadata = new ServiceMetadata("/etc/tls", "k.p12", "t.p12", "key-secret", "trust-secret");
        var fingerprint = metadata.Fingerprint(salt);

        // HMAC-SHA256 keyed by the salt over the fields joined by NUL, upper-case hex (computed
        // outside .NET: python3 hmac.new(bytes([1,2,3,4]), "\0".join(fields), sha256)).
        Assert.Equal("096C467ABB9714DA5DFDF475AB595F17062C9EE6BCF17743AE10370E665877E7", fingerprint);
        Assert.NotEqual(fingerprint, metadata.Fingerprint([1, 2, 3, 5]));
        Assert.NotEqual(fingerprint, (metadata with { TlsStoreRootPath = "/etc/tls2" }).Fingerprint(salt));
        Assert.NotEqual(fingerprint, (metadata with { TlsKeyStoreName = null }).Fingerprint(salt));
        Assert.NotEqual(fingerprint, (metadata with { TlsTrustStoreName = "x.p12" }).Fingerprint(salt));
        Assert.NotEqual(fingerprint, (metadata with { TlsKeyStorePassword = "key-secret2" }).Fingerprint(salt));
        Assert.NotEqual(fingerprint, (metadata with { TlsTrustStorePassword = "trust-secret2" }).Fingerprint(salt));
        // Fields are separated: moving a character from one field to the next changes it.
        Assert.NotEqual(
            new ServiceMetadata("ab", "c", null, "123456", "123456").Fingerprint(salt),
            new ServiceMetadata("a", "bc", null, "123456", "123456").Fingerprint(salt));
    }

    [Fact]
    public void ToString_never_prints_a_password() =>
        Assert.Equal(
            "ServiceMetadata { TlsStoreRootPath = /etc/tls, TlsKeyStoreName = k.p12, TlsTrustStoreName = t.p12 }",
            new ServiceMetadata("/etc/tls", "k.p12", "t.p12", "key-secret", "trust-secret").ToString());
}
