using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws.Acm;

/// <summary><see cref="IAcmApi"/> over the JSON client: maps the issuer's terms to ACM's wire shapes.</summary>
public sealed class AcmApi(AcmClient client) : IAcmApi
{
    public Task<string> RequestCertificateAsync(AcmCertificateRequest request, CancellationToken cancellationToken) =>
        client.RequestCertificateAsync(
            new RequestCertificateRequest
            {
                DomainName = request.DomainName,
                SubjectAlternativeNames = request.SubjectAlternativeNames,
                IdempotencyToken = request.IdempotencyToken,
                CertificateAuthorityArn = request.CertificateAuthorityArn,
                // Public certificates are validated through DNS records the status shows;
                // private ones need no validation.
                ValidationMethod = request.CertificateAuthorityArn is null ? AcmValidationMethod.Dns : null,
                KeyAlgorithm = request.KeyAlgorithm,
                Options = request.Exportable ? new AcmCertificateOptions { Export = AcmSetting.Enabled } : null,
                Tags = [.. request.Tags.Select(t => new AwsTag(t.Key, t.Value))],
            },
            cancellationToken);

    public async Task<AcmCertificateDescription> DescribeCertificateAsync(string arn, CancellationToken cancellationToken)
    {
        var detail = await client.DescribeCertificateAsync(arn, cancellationToken).ConfigureAwait(false);
        var records = (detail.DomainValidationOptions ?? [])
            .Where(v => v.ResourceRecord is { Name: not null, Type: not null, Value: not null } && v.ValidationStatus != "SUCCESS")
            .Select(v => new ValidationRecord(v.ResourceRecord!.Name!, v.ResourceRecord.Type!, v.ResourceRecord.Value!))
            .Distinct()
            .ToList();
        return new AcmCertificateDescription(detail.Status ?? "UNKNOWN", detail.Serial, detail.FailureReason, records, detail.RenewalSummary?.RenewalStatus);
    }

    public async Task<AcmExport> ExportCertificateAsync(string arn, byte[] passphrase, CancellationToken cancellationToken)
    {
        var export = await client.ExportCertificateAsync(arn, passphrase, cancellationToken).ConfigureAwait(false);
        if (export.Certificate is null || export.PrivateKey is null)
        {
            throw new AwsServiceException("ExportCertificate", "InvalidResponse", "ACM exported no certificate or no private key.", System.Net.HttpStatusCode.OK, retryable: false);
        }

        return new AcmExport(export.Certificate, export.CertificateChain ?? string.Empty, export.PrivateKey);
    }

    public Task RenewCertificateAsync(string arn, CancellationToken cancellationToken) => client.RenewCertificateAsync(arn, cancellationToken);

    public Task RevokeCertificateAsync(string arn, AcmRevocationReason reason, CancellationToken cancellationToken) =>
        client.RevokeCertificateAsync(arn, reason, cancellationToken);

    public Task AddTagsAsync(string arn, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken) =>
        client.AddTagsToCertificateAsync(arn, [.. tags.Select(t => new AwsTag(t.Key, t.Value))], cancellationToken);

    public async Task DeleteCertificateAsync(string arn, CancellationToken cancellationToken) =>
        await client.DeleteCertificateAsync(arn, cancellationToken).ConfigureAwait(false);
}
