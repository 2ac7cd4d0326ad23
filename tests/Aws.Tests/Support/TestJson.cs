using System.Text.Json.Serialization;

namespace Notary.Aws.Tests.Support;

// Shapes only the tests send: ACM Private CA (to make a CA for private certificates) and
// deliberately wrong types that prove the wire-shape checker catches mistakes.

public sealed class CreateCertificateAuthorityRequest
{
    public required PcaConfiguration CertificateAuthorityConfiguration { get; init; }

    public required string CertificateAuthorityType { get; init; }

    public string? IdempotencyToken { get; init; }
}

public sealed class PcaConfiguration
{
    public required string KeyAlgorithm { get; init; }

    public required string SigningAlgorithm { get; init; }

    public required PcaSubject Subject { get; init; }
}

public sealed class PcaSubject
{
    public string? CommonName { get; init; }

    public string? Organization { get; init; }
}

public sealed class CreateCertificateAuthorityResponse
{
    public string? CertificateAuthorityArn { get; init; }
}

/// <summary>Installs a CA's certificate (blobs: the PEM's bytes, base64 on the wire); the CA becomes ACTIVE.</summary>
public sealed class ImportCertificateAuthorityCertificateRequest
{
    public required string CertificateAuthorityArn { get; init; }

    public required byte[] Certificate { get; init; }

    public byte[]? CertificateChain { get; init; }
}

/// <summary>IdempotencyToken misspelt.</summary>
/// <summary>KMS CreateKey (a test's own shape: Notary never creates KMS keys).</summary>
public sealed class CreateKeyRequest
{
    public string? Description { get; init; }
}

public sealed class CreateKeyResponse
{
    public KmsKeyMetadata? KeyMetadata { get; init; }
}

public sealed class KmsKeyMetadata
{
    public string? KeyId { get; init; }

    public string? Arn { get; init; }
}

public sealed class MisspeltRequestCertificateRequest
{
    public required string DomainName { get; init; }

    public string? IdempotencyTokn { get; init; }
}

/// <summary>DomainName (required in the model) neither required nor non-null; MaxItems as a string.</summary>
public sealed class LooseRequestCertificateRequest
{
    public string? DomainName { get; init; }

    public string? KeyAlgorithm { get; init; }
}

/// <summary>A value that is not in the model's KeyAlgorithm enum.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WrongKeyAlgorithm>))]
public enum WrongKeyAlgorithm
{
    [JsonStringEnumMemberName("RSA_2048")] Rsa2048,
    [JsonStringEnumMemberName("EC_P256")] EcP256,
}

public sealed class WrongEnumRequestCertificateRequest
{
    public required string DomainName { get; init; }

    public WrongKeyAlgorithm? KeyAlgorithm { get; init; }
}

/// <summary>A blob (Passphrase) declared as a string.</summary>
public sealed class WrongTypeExportCertificateRequest
{
    public required string CertificateArn { get; init; }

    public required string Passphrase { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(CreateKeyResponse))]
[JsonSerializable(typeof(CreateCertificateAuthorityRequest))]
[JsonSerializable(typeof(CreateCertificateAuthorityResponse))]
[JsonSerializable(typeof(ImportCertificateAuthorityCertificateRequest))]
[JsonSerializable(typeof(Notary.Aws.AwsEmptyResponse))]
[JsonSerializable(typeof(MisspeltRequestCertificateRequest))]
[JsonSerializable(typeof(LooseRequestCertificateRequest))]
[JsonSerializable(typeof(WrongEnumRequestCertificateRequest))]
[JsonSerializable(typeof(WrongTypeExportCertificateRequest))]
public sealed partial class TestJsonContext : JsonSerializerContext;
