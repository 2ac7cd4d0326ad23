using System.Net;

namespace Notary.Aws;

/// <summary>
/// The ACM operations Notary uses, typed and thin: one call each, through <see cref="AwsJsonClient"/>
/// (which signs, retries and maps errors). Policy (when to renew, what to tag, how to wait for
/// issuance) belongs to the issuer that uses this client.
/// </summary>
public sealed class AcmClient(AwsJsonClient client)
{
    private static readonly AwsJsonContext Json = AwsJsonContext.Default;

    internal static readonly AwsOperation<RequestCertificateRequest, RequestCertificateResponse> RequestCertificate = new(nameof(RequestCertificate), Json.RequestCertificateRequest, Json.RequestCertificateResponse);
    internal static readonly AwsOperation<DescribeCertificateRequest, DescribeCertificateResponse> DescribeCertificate = new(nameof(DescribeCertificate), Json.DescribeCertificateRequest, Json.DescribeCertificateResponse);
    internal static readonly AwsOperation<ExportCertificateRequest, ExportCertificateResponse> ExportCertificate = new(nameof(ExportCertificate), Json.ExportCertificateRequest, Json.ExportCertificateResponse);
    internal static readonly AwsOperation<RenewCertificateRequest, AwsEmptyResponse> RenewCertificate = new(nameof(RenewCertificate), Json.RenewCertificateRequest, Json.AwsEmptyResponse);
    internal static readonly AwsOperation<RevokeCertificateRequest, RevokeCertificateResponse> RevokeCertificate = new(nameof(RevokeCertificate), Json.RevokeCertificateRequest, Json.RevokeCertificateResponse);
    internal static readonly AwsOperation<AddTagsToCertificateRequest, AwsEmptyResponse> AddTagsToCertificate = new(nameof(AddTagsToCertificate), Json.AddTagsToCertificateRequest, Json.AwsEmptyResponse);
    internal static readonly AwsOperation<DeleteCertificateRequest, AwsEmptyResponse> DeleteCertificate = new(nameof(DeleteCertificate), Json.DeleteCertificateRequest, Json.AwsEmptyResponse);
    internal static readonly AwsOperation<ListCertificatesRequest, ListCertificatesResponse> ListCertificates = new(nameof(ListCertificates), Json.ListCertificatesRequest, Json.ListCertificatesResponse);

    /// <summary>Every operation this client calls (the wire-shape tests compare each with the service model).</summary>
    public static IReadOnlyList<AwsOperation> Operations { get; } =
        [RequestCertificate, DescribeCertificate, ExportCertificate, RenewCertificate, RevokeCertificate, AddTagsToCertificate, DeleteCertificate, ListCertificates];

    /// <summary>Every key algorithm ACM knows; listing with all of them includes EC and large RSA certificates.</summary>
    public static IReadOnlyList<AcmKeyAlgorithm> AllKeyAlgorithms { get; } = Enum.GetValues<AcmKeyAlgorithm>();

    /// <summary>Every certificate status, for listing certificates whatever their state.</summary>
    public static IReadOnlyList<AcmCertificateStatus> AllStatuses { get; } = Enum.GetValues<AcmCertificateStatus>();

    /// <summary>The transport: attempt counters, endpoint, region.</summary>
    public AwsJsonClient Transport { get; } = client;

    /// <summary>Requests a certificate (private when CertificateAuthorityArn is set) and returns its ARN.</summary>
    public async Task<string> RequestCertificateAsync(RequestCertificateRequest request, CancellationToken cancellationToken)
    {
        var response = await Transport.InvokeAsync(RequestCertificate, request, cancellationToken).ConfigureAwait(false);
        return response.CertificateArn ?? throw MissingMember(RequestCertificate, "CertificateArn");
    }

    public async Task<CertificateDetail> DescribeCertificateAsync(string certificateArn, CancellationToken cancellationToken)
    {
        var response = await Transport.InvokeAsync(DescribeCertificate, new DescribeCertificateRequest { CertificateArn = certificateArn }, cancellationToken).ConfigureAwait(false);
        return response.Certificate ?? throw MissingMember(DescribeCertificate, "Certificate");
    }

    /// <summary>
    /// Exports the certificate, its chain and its private key, encrypted with
    /// <paramref name="passphrase"/> (4 to 128 ASCII bytes other than #, $ and %). Private
    /// certificates, and public ones requested with Export ENABLED, can be exported.
    /// </summary>
    public Task<ExportCertificateResponse> ExportCertificateAsync(string certificateArn, byte[] passphrase, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(ExportCertificate, new ExportCertificateRequest { CertificateArn = certificateArn, Passphrase = passphrase }, cancellationToken);

    /// <summary>Renews a private certificate now (ACM renews public ones on its own only when in use).</summary>
    public Task RenewCertificateAsync(string certificateArn, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(RenewCertificate, new RenewCertificateRequest { CertificateArn = certificateArn }, cancellationToken);

    public Task<RevokeCertificateResponse> RevokeCertificateAsync(string certificateArn, AcmRevocationReason reason, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(RevokeCertificate, new RevokeCertificateRequest { CertificateArn = certificateArn, RevocationReason = reason }, cancellationToken);

    public Task AddTagsToCertificateAsync(string certificateArn, IReadOnlyList<AwsTag> tags, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(AddTagsToCertificate, new AddTagsToCertificateRequest { CertificateArn = certificateArn, Tags = tags }, cancellationToken);

    /// <summary>
    /// Deletes the certificate; false when it did not exist, e.g. because an earlier attempt whose
    /// answer was lost already deleted it.
    /// </summary>
    public async Task<bool> DeleteCertificateAsync(string certificateArn, CancellationToken cancellationToken)
    {
        try
        {
            await Transport.InvokeAsync(DeleteCertificate, new DeleteCertificateRequest { CertificateArn = certificateArn }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AwsServiceException ex) when (ex.ErrorCode == "ResourceNotFoundException")
        {
            return false;
        }
    }

    /// <summary>One page of ListCertificates as asked.</summary>
    public Task<ListCertificatesResponse> ListCertificatesPageAsync(ListCertificatesRequest request, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(ListCertificates, request, cancellationToken);

    /// <summary>
    /// Every certificate in the account and region, following NextToken. With
    /// <paramref name="allStatuses"/>, certificates in every status and with every key algorithm;
    /// otherwise ACM's defaults (which leave out some statuses and non-RSA-2048 keys).
    /// </summary>
    public async Task<IReadOnlyList<CertificateSummary>> ListCertificatesAsync(bool allStatuses, CancellationToken cancellationToken)
    {
        var all = new List<CertificateSummary>();
        string? next = null;
        do
        {
            var page = await ListCertificatesPageAsync(
                new ListCertificatesRequest
                {
                    CertificateStatuses = allStatuses ? AllStatuses : null,
                    Includes = allStatuses ? new AcmListFilters { KeyTypes = AllKeyAlgorithms } : null,
                    NextToken = next,
                    MaxItems = 1000,
                },
                cancellationToken).ConfigureAwait(false);
            all.AddRange(page.CertificateSummaryList ?? []);
            next = string.IsNullOrEmpty(page.NextToken) ? null : page.NextToken;
        }
        while (next is not null);

        return all;
    }

    private static AwsServiceException MissingMember(AwsOperation operation, string member) =>
        new(operation.Name, "InvalidResponse", $"The answer to {operation.Name} has no {member}.", HttpStatusCode.OK, retryable: false);
}
