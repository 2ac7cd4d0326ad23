namespace Notary.Aws;

// The request and response shapes of the ACM Private CA operations Notary uses, named and typed
// as in the botocore model acm-pca/2017-08-22/service-2.json (the wire-shape tests compare them).

public sealed class DescribeCertificateAuthorityRequest
{
    public required string CertificateAuthorityArn { get; init; }
}

public sealed class DescribeCertificateAuthorityResponse
{
    public PcaCertificateAuthority? CertificateAuthority { get; init; }
}

/// <summary>The members of a CertificateAuthority that Notary reads.</summary>
public sealed class PcaCertificateAuthority
{
    public string? Arn { get; init; }

    public string? OwnerAccount { get; init; }

    /// <summary>ROOT or SUBORDINATE.</summary>
    public string? Type { get; init; }

    /// <summary>CREATING, PENDING_CERTIFICATE, ACTIVE, DELETED, DISABLED, EXPIRED or FAILED.</summary>
    public string? Status { get; init; }

    public string? FailureReason { get; init; }

    public DateTimeOffset? NotBefore { get; init; }

    public DateTimeOffset? NotAfter { get; init; }
}

public sealed class GetCertificateAuthorityCertificateRequest
{
    public required string CertificateAuthorityArn { get; init; }
}

public sealed class GetCertificateAuthorityCertificateResponse
{
    /// <summary>The CA's certificate, PEM.</summary>
    public string? Certificate { get; init; }

    /// <summary>The certificates above it up to the root, PEM; null for a root CA.</summary>
    public string? CertificateChain { get; init; }
}
