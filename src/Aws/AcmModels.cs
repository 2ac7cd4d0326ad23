using System.Text.Json.Serialization;

namespace Notary.Aws;

// The request and response shapes of the ACM operations Notary uses, named and typed as in the
// botocore model acm/2015-12-08/service-2.json (the wire-shape tests compare them). Values Notary
// sends are enums, so that only values of the model's enums can be sent; values it reads are
// strings, so that a value AWS adds later does not break reading (compare with AcmStatus).

[JsonConverter(typeof(JsonStringEnumConverter<AcmKeyAlgorithm>))]
public enum AcmKeyAlgorithm
{
    /// <summary>Only for listing certificates made elsewhere: too weak for Notary to request.</summary>
    [JsonStringEnumMemberName("RSA_1024")] Rsa1024,
    [JsonStringEnumMemberName("RSA_2048")] Rsa2048,
    [JsonStringEnumMemberName("RSA_3072")] Rsa3072,
    [JsonStringEnumMemberName("RSA_4096")] Rsa4096,
    [JsonStringEnumMemberName("EC_prime256v1")] EcPrime256v1,
    [JsonStringEnumMemberName("EC_secp384r1")] EcSecp384r1,
    [JsonStringEnumMemberName("EC_secp521r1")] EcSecp521r1,
}

[JsonConverter(typeof(JsonStringEnumConverter<AcmValidationMethod>))]
public enum AcmValidationMethod
{
    [JsonStringEnumMemberName("DNS")] Dns,
    [JsonStringEnumMemberName("EMAIL")] Email,
}

[JsonConverter(typeof(JsonStringEnumConverter<AcmSetting>))]
public enum AcmSetting
{
    [JsonStringEnumMemberName("ENABLED")] Enabled,
    [JsonStringEnumMemberName("DISABLED")] Disabled,
}

[JsonConverter(typeof(JsonStringEnumConverter<AcmRevocationReason>))]
public enum AcmRevocationReason
{
    [JsonStringEnumMemberName("UNSPECIFIED")] Unspecified,
    [JsonStringEnumMemberName("KEY_COMPROMISE")] KeyCompromise,
    [JsonStringEnumMemberName("CA_COMPROMISE")] CaCompromise,
    [JsonStringEnumMemberName("AFFILIATION_CHANGED")] AffiliationChanged,
    [JsonStringEnumMemberName("SUPERSEDED")] Superseded,
    [JsonStringEnumMemberName("CESSATION_OF_OPERATION")] CessationOfOperation,
    [JsonStringEnumMemberName("PRIVILEGE_WITHDRAWN")] PrivilegeWithdrawn,
    [JsonStringEnumMemberName("A_A_COMPROMISE")] AttributeAuthorityCompromise,
}

[JsonConverter(typeof(JsonStringEnumConverter<AcmCertificateStatus>))]
public enum AcmCertificateStatus
{
    [JsonStringEnumMemberName("PENDING_VALIDATION")] PendingValidation,
    [JsonStringEnumMemberName("ISSUED")] Issued,
    [JsonStringEnumMemberName("INACTIVE")] Inactive,
    [JsonStringEnumMemberName("EXPIRED")] Expired,
    [JsonStringEnumMemberName("VALIDATION_TIMED_OUT")] ValidationTimedOut,
    [JsonStringEnumMemberName("REVOKED")] Revoked,
    [JsonStringEnumMemberName("FAILED")] Failed,
}

/// <summary>String values ACM answers with that Notary inspects (CertificateDetail.Status, Type, RenewalSummary.RenewalStatus).</summary>
public static class AcmStatus
{
    public const string PendingValidation = "PENDING_VALIDATION";
    public const string Issued = "ISSUED";
    public const string Inactive = "INACTIVE";
    public const string Expired = "EXPIRED";
    public const string ValidationTimedOut = "VALIDATION_TIMED_OUT";
    public const string Revoked = "REVOKED";
    public const string Failed = "FAILED";

    public const string TypeAmazonIssued = "AMAZON_ISSUED";
    public const string TypePrivate = "PRIVATE";
    public const string TypeImported = "IMPORTED";

    public const string RenewalPendingAutoRenewal = "PENDING_AUTO_RENEWAL";
    public const string RenewalPendingValidation = "PENDING_VALIDATION";
    public const string RenewalSuccess = "SUCCESS";
    public const string RenewalFailed = "FAILED";
}

/// <summary>CertificateOptions: export (needed for a public certificate Notary packs into a keystore) and CT logging.</summary>
public sealed class AcmCertificateOptions
{
    public AcmSetting? CertificateTransparencyLoggingPreference { get; init; }

    public AcmSetting? Export { get; init; }
}

public sealed class RequestCertificateRequest
{
    public required string DomainName { get; init; }

    public AcmValidationMethod? ValidationMethod { get; init; }

    public IReadOnlyList<string>? SubjectAlternativeNames { get; init; }

    /// <summary>
    /// At most 32 word characters. Requests with the same token (and the same tags) within an hour
    /// return the same certificate, so retries after a lost answer never create a second one.
    /// </summary>
    public string? IdempotencyToken { get; init; }

    public AcmCertificateOptions? Options { get; init; }

    /// <summary>The ACM Private CA that issues a private certificate; null for a public (Amazon-issued) one.</summary>
    public string? CertificateAuthorityArn { get; init; }

    public IReadOnlyList<AwsTag>? Tags { get; init; }

    public AcmKeyAlgorithm? KeyAlgorithm { get; init; }
}

public sealed class RequestCertificateResponse
{
    public string? CertificateArn { get; init; }
}

public sealed class DescribeCertificateRequest
{
    public required string CertificateArn { get; init; }
}

public sealed class DescribeCertificateResponse
{
    public CertificateDetail? Certificate { get; init; }
}

public sealed class CertificateDetail
{
    public string? CertificateArn { get; init; }

    public string? DomainName { get; init; }

    public IReadOnlyList<string>? SubjectAlternativeNames { get; init; }

    public IReadOnlyList<AcmDomainValidation>? DomainValidationOptions { get; init; }

    /// <summary>Hex with colons on AWS ("0a:1b:..."), decimal on some emulators.</summary>
    public string? Serial { get; init; }

    public string? Subject { get; init; }

    public string? Issuer { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }

    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary>See <see cref="AcmStatus"/>.</summary>
    public string? Status { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    public string? RevocationReason { get; init; }

    public DateTimeOffset? NotBefore { get; init; }

    public DateTimeOffset? NotAfter { get; init; }

    public string? KeyAlgorithm { get; init; }

    public string? SignatureAlgorithm { get; init; }

    public IReadOnlyList<string>? InUseBy { get; init; }

    /// <summary>Why issuance failed (e.g. CAA_ERROR, PCA_INVALID_STATE) when <see cref="Status"/> is FAILED.</summary>
    public string? FailureReason { get; init; }

    /// <summary>AMAZON_ISSUED, PRIVATE or IMPORTED.</summary>
    public string? Type { get; init; }

    public AcmRenewalSummary? RenewalSummary { get; init; }

    public string? CertificateAuthorityArn { get; init; }

    public string? RenewalEligibility { get; init; }

    public AcmCertificateOptions? Options { get; init; }
}

public sealed class AcmDomainValidation
{
    public string? DomainName { get; init; }

    public IReadOnlyList<string>? ValidationEmails { get; init; }

    public string? ValidationDomain { get; init; }

    /// <summary>PENDING_VALIDATION, SUCCESS or FAILED.</summary>
    public string? ValidationStatus { get; init; }

    /// <summary>The CNAME record to create for DNS validation.</summary>
    public AcmResourceRecord? ResourceRecord { get; init; }

    public string? ValidationMethod { get; init; }
}

public sealed record AcmResourceRecord(string? Name, string? Type, string? Value);

public sealed class AcmRenewalSummary
{
    public string? RenewalStatus { get; init; }

    public IReadOnlyList<AcmDomainValidation>? DomainValidationOptions { get; init; }

    public string? RenewalStatusReason { get; init; }

    public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>Holds the passphrase: a class, not a record, so that no generated ToString prints it.</summary>
public sealed class ExportCertificateRequest
{
    public required string CertificateArn { get; init; }

    /// <summary>4 to 128 bytes of ASCII other than #, $ and %; encrypts the exported PKCS#8 key.</summary>
    public required byte[] Passphrase { get; init; }
}

/// <summary>The exported certificate, chain and encrypted private key (PEM). ToString names no key.</summary>
public sealed class ExportCertificateResponse
{
    public string? Certificate { get; init; }

    public string? CertificateChain { get; init; }

    /// <summary>PKCS#8 EncryptedPrivateKeyInfo PEM, encrypted with the request's passphrase.</summary>
    public string? PrivateKey { get; init; }

    public override string ToString() => "ExportCertificateResponse { Certificate, CertificateChain, PrivateKey = (encrypted, not shown) }";
}

public sealed class RenewCertificateRequest
{
    public required string CertificateArn { get; init; }
}

public sealed class RevokeCertificateRequest
{
    public required string CertificateArn { get; init; }

    public required AcmRevocationReason RevocationReason { get; init; }
}

public sealed class RevokeCertificateResponse
{
    public string? CertificateArn { get; init; }
}

public sealed class AddTagsToCertificateRequest
{
    public required string CertificateArn { get; init; }

    public required IReadOnlyList<AwsTag> Tags { get; init; }
}

public sealed class DeleteCertificateRequest
{
    public required string CertificateArn { get; init; }
}

public sealed class ListCertificatesRequest
{
    /// <summary>Null lists ACM's default selection, which leaves out some statuses (e.g. INACTIVE, EXPIRED).</summary>
    public IReadOnlyList<AcmCertificateStatus>? CertificateStatuses { get; init; }

    public AcmListFilters? Includes { get; init; }

    public string? NextToken { get; init; }

    public int? MaxItems { get; init; }
}

/// <summary>
/// ListCertificates' Filters shape; its members are camelCase in the model. Without keyTypes,
/// ACM lists RSA_1024 and RSA_2048 certificates only, so EC and larger RSA keys are named here.
/// </summary>
public sealed class AcmListFilters
{
    [JsonPropertyName("keyTypes")]
    public IReadOnlyList<AcmKeyAlgorithm>? KeyTypes { get; init; }
}

public sealed class ListCertificatesResponse
{
    public string? NextToken { get; init; }

    public IReadOnlyList<CertificateSummary>? CertificateSummaryList { get; init; }
}

public sealed class CertificateSummary
{
    public string? CertificateArn { get; init; }

    public string? DomainName { get; init; }

    public IReadOnlyList<string>? SubjectAlternativeNameSummaries { get; init; }

    public string? Status { get; init; }

    public string? Type { get; init; }

    public string? KeyAlgorithm { get; init; }

    public DateTimeOffset? NotBefore { get; init; }

    public DateTimeOffset? NotAfter { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }
}
