using System.Net;

namespace Notary.Aws;

/// <summary>
/// The ACM Private CA operations Notary uses (read only: an ACM issuer's readiness check), typed
/// and thin, through <see cref="AwsJsonClient"/> (which signs, retries and maps errors).
/// </summary>
public sealed class AcmPcaClient(AwsJsonClient client)
{
    private static readonly AwsJsonContext Json = AwsJsonContext.Default;

    internal static readonly AwsOperation<DescribeCertificateAuthorityRequest, DescribeCertificateAuthorityResponse> DescribeCertificateAuthority = new(nameof(DescribeCertificateAuthority), Json.DescribeCertificateAuthorityRequest, Json.DescribeCertificateAuthorityResponse);
    internal static readonly AwsOperation<GetCertificateAuthorityCertificateRequest, GetCertificateAuthorityCertificateResponse> GetCertificateAuthorityCertificate = new(nameof(GetCertificateAuthorityCertificate), Json.GetCertificateAuthorityCertificateRequest, Json.GetCertificateAuthorityCertificateResponse);

    /// <summary>Every operation this client calls (the wire-shape tests compare each with the service model).</summary>
    public static IReadOnlyList<AwsOperation> Operations { get; } = [DescribeCertificateAuthority, GetCertificateAuthorityCertificate];

    public AwsJsonClient Transport { get; } = client;

    public async Task<PcaCertificateAuthority> DescribeCertificateAuthorityAsync(string arn, CancellationToken cancellationToken)
    {
        var response = await Transport.InvokeAsync(DescribeCertificateAuthority, new DescribeCertificateAuthorityRequest { CertificateAuthorityArn = arn }, cancellationToken).ConfigureAwait(false);
        return response.CertificateAuthority
            ?? throw new AwsServiceException(DescribeCertificateAuthority.Name, "InvalidResponse", "The answer to DescribeCertificateAuthority has no CertificateAuthority.", HttpStatusCode.OK, retryable: false);
    }

    /// <summary>The CA's certificate and its chain (PEM); the CA must be ACTIVE (else InvalidStateException).</summary>
    public Task<GetCertificateAuthorityCertificateResponse> GetCertificateAuthorityCertificateAsync(string arn, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(GetCertificateAuthorityCertificate, new GetCertificateAuthorityCertificateRequest { CertificateAuthorityArn = arn }, cancellationToken);
}
