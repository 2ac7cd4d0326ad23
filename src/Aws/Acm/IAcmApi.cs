using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws.Acm;

/// <summary>
/// The ACM operations the issuer uses, in the issuer's terms. <see cref="AcmApi"/> speaks them to
/// ACM through <see cref="AcmClient"/>; swapping in the official SDK later changes only that class.
/// </summary>
public interface IAcmApi
{
    Task<string> RequestCertificateAsync(AcmCertificateRequest request, CancellationToken cancellationToken);

    Task<AcmCertificateDescription> DescribeCertificateAsync(string arn, CancellationToken cancellationToken);

    /// <summary>The certificate, its chain and the private key encrypted (PKCS#8) with <paramref name="passphrase"/>.</summary>
    Task<AcmExport> ExportCertificateAsync(string arn, byte[] passphrase, CancellationToken cancellationToken);

    Task RenewCertificateAsync(string arn, CancellationToken cancellationToken);

    Task RevokeCertificateAsync(string arn, AcmRevocationReason reason, CancellationToken cancellationToken);

    Task AddTagsAsync(string arn, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken);

    Task DeleteCertificateAsync(string arn, CancellationToken cancellationToken);
}

/// <summary>A RequestCertificate call.</summary>
public sealed record AcmCertificateRequest(
    string DomainName,
    IReadOnlyList<string> SubjectAlternativeNames,
    string IdempotencyToken,
    string? CertificateAuthorityArn,
    AcmKeyAlgorithm KeyAlgorithm,
    bool Exportable,
    IReadOnlyDictionary<string, string> Tags);

/// <summary>What DescribeCertificate says about a certificate, as far as issuance cares.</summary>
public sealed record AcmCertificateDescription(
    string Status,
    string? Serial,
    string? FailureReason,
    IReadOnlyList<ValidationRecord> ValidationRecords,
    string? RenewalStatus);

/// <summary>ExportCertificate's answer. ToString never prints the key.</summary>
public sealed record AcmExport(string Certificate, string CertificateChain, string EncryptedPrivateKey)
{
    public override string ToString() => "AcmExport { Certificate = …, CertificateChain = …, EncryptedPrivateKey = *** }";
}
