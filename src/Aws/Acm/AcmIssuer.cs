using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws.Acm;

/// <summary>
/// Issuer adapter for AWS Certificate Manager: Private certificates from the configured ACM
/// Private CA, Public ones with DNS validation and export enabled. An issuance takes steps, each
/// one bounded: RequestCertificate (idempotency token from the resource's uid, generation and
/// revision, so a retry or a restarted silo never creates a second certificate) answers with
/// the ARN as ticket; DescribeCertificate until ACM has issued it (validation records surfaced
/// while it waits); ExportCertificate with a random passphrase, the key decrypted in memory.
/// Renewal renews in place (RenewCertificate, then export again); rotation requests a new
/// certificate and revokes the old one.
/// </summary>
public sealed partial class AcmIssuer(IAcmApi acm, IOptions<AcmIssuerOptions> options, ILogger<AcmIssuer> logger) : ICertificateIssuer
{
    public const string DefaultName = "acm";

    private const string RenewPrefix = "renew|";

    /// <summary>AWS error codes that say the request itself is wrong: only a spec change helps.</summary>
    private static readonly HashSet<string> RequestErrors = new(StringComparer.Ordinal)
    {
        "ValidationException", "InvalidParameterException", "InvalidDomainValidationOptionsException",
        "InvalidArnException", "InvalidTagException", "TagPolicyException", "TooManyTagsException",
    };

    private AcmIssuerOptions O => options.Value;

    public string Name { get; init; } = DefaultName;

    public bool Supports(string certificateType) =>
        certificateType == "Public" || (certificateType == "Private" && !string.IsNullOrEmpty(O.PrivateCaArn));

    public async Task<IssueProgress> IssueAsync(IssueRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return request.Ticket is null
                ? await StartAsync(request, cancellationToken).ConfigureAwait(false)
                : await ContinueAsync(request, request.Ticket, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceException ex) when (!ex.Retryable)
        {
            throw Translate(ex);
        }
    }

    private async Task<IssueProgress> StartAsync(IssueRequest request, CancellationToken cancellationToken)
    {
        var keyAlgorithm = KeyAlgorithm(request.Key);
        if (request.Purpose == IssuePurpose.Renew && IsAcmArn(request.CurrentArn) && request.Type == "Private")
        {
            // Renewal in place keeps the ARN; the serial tells the renewed certificate apart.
            var before = await acm.DescribeCertificateAsync(request.CurrentArn!, cancellationToken).ConfigureAwait(false);
            await acm.RenewCertificateAsync(request.CurrentArn!, cancellationToken).ConfigureAwait(false);
            LogRenewing(logger, request.Resource.ToString(), request.CurrentArn!);
            return IssueProgress.Pending($"{RenewPrefix}{request.CurrentArn}|{before.Serial}", "Issuing", $"ACM is renewing {request.CurrentArn}.", TimeSpan.Zero);
        }

        var names = new List<string> { request.Fqdn };
        names.AddRange(request.Alt.Where(a => !string.Equals(a, request.Fqdn, StringComparison.OrdinalIgnoreCase)));
        var arn = await acm.RequestCertificateAsync(
            new AcmCertificateRequest(
                request.Fqdn,
                names,
                IdempotencyToken(request),
                request.Type == "Private" ? O.PrivateCaArn : null,
                keyAlgorithm,
                Exportable: request.Type == "Public",
                Tags(request)),
            cancellationToken).ConfigureAwait(false);
        LogRequested(logger, request.Resource.ToString(), arn, request.Purpose.ToString());
        return IssueProgress.Pending(arn, "Issuing", $"Requested {arn} from ACM.", TimeSpan.Zero);
    }

    private async Task<IssueProgress> ContinueAsync(IssueRequest request, string ticket, CancellationToken cancellationToken)
    {
        string arn;
        string? serialBefore = null;
        if (ticket.StartsWith(RenewPrefix, StringComparison.Ordinal))
        {
            var parts = ticket[RenewPrefix.Length..].Split('|');
            arn = parts[0];
            serialBefore = parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null;
        }
        else
        {
            arn = ticket;
        }

        AcmCertificateDescription description;
        try
        {
            description = await acm.DescribeCertificateAsync(arn, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceException ex) when (ex.ErrorCode == "ResourceNotFoundException")
        {
            throw new IssuerRejectedException("CertificateMissing", $"ACM certificate {arn} no longer exists (deleted outside Notary); change the Certificate's spec, or delete and create it again, to request a new one.");
        }

        var renewed = serialBefore is null || !string.Equals(Normalize(description.Serial), Normalize(serialBefore), StringComparison.Ordinal);
        switch (description.Status)
        {
            case "ISSUED" when renewed:
                var material = await ExportAsync(arn, cancellationToken).ConfigureAwait(false);
                await acm.AddTagsAsync(arn, Tags(request), cancellationToken).ConfigureAwait(false);
                return IssueProgress.Issued(material);
            case "ISSUED":
                return IssueProgress.Pending(ticket, "Issuing", $"ACM is renewing {arn}.", Poll(O.PollInterval, request));
            case "PENDING_VALIDATION":
                var records = description.ValidationRecords;
                var list = records.Count == 0 ? "ACM has not published them yet" : string.Join("; ", records.Select(r => $"{r.Name} {r.Type} {r.Value}"));
                return IssueProgress.Pending(ticket, "PendingValidation", $"ACM waits for DNS validation of {arn}: create these records ({list}).", Poll(O.ValidationPollInterval, request), records);
            case "FAILED" or "VALIDATION_TIMED_OUT" or "REVOKED" or "EXPIRED" or "INACTIVE":
                var reason = string.IsNullOrEmpty(description.FailureReason) ? string.Empty : $" ({description.FailureReason})";
                throw new IssuerRejectedException("AcmIssuanceFailed", $"ACM certificate {arn} is {description.Status}{reason}; fix the cause, then change the Certificate's spec (or delete and re-create it) to request another.");
            default:
                return IssueProgress.Pending(ticket, "Issuing", $"ACM certificate {arn} is {description.Status}.", Poll(O.PollInterval, request));
        }
    }

    private async Task<IssuedMaterial> ExportAsync(string arn, CancellationToken cancellationToken)
    {
        // A fresh passphrase per export: the key travels encrypted and is decrypted only here.
        var passphrase = Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)));
        try
        {
            var export = await acm.ExportCertificateAsync(arn, passphrase, cancellationToken).ConfigureAwait(false);
            using var leaf = X509Certificate2.CreateFromPem(export.Certificate);
            var chain = SplitPem(export.CertificateChain)
                .Where(pem => !PemEquals(pem, export.Certificate))
                .ToList();
            return new IssuedMaterial(
                arn,
                leaf.ExportCertificatePem(),
                chain,
                DecryptPrivateKey(export.EncryptedPrivateKey, passphrase, leaf),
                leaf.SerialNumber,
                new DateTimeOffset(leaf.NotBefore.ToUniversalTime()),
                new DateTimeOffset(leaf.NotAfter.ToUniversalTime()));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passphrase);
        }
    }

    public async Task RetireAsync(string arn, RetireReason reason, CancellationToken cancellationToken)
    {
        if (!IsAcmArn(arn))
        {
            return;
        }

        var certificateArn = arn.StartsWith(RenewPrefix, StringComparison.Ordinal) ? arn[RenewPrefix.Length..].Split('|')[0] : arn;
        if (reason == RetireReason.Compromised)
        {
            try
            {
                await acm.RevokeCertificateAsync(certificateArn, AcmRevocationReason.KeyCompromise, cancellationToken).ConfigureAwait(false);
                LogRetired(logger, certificateArn, "revoked");
            }
            catch (AwsServiceException ex) when (!ex.Retryable)
            {
                // Not every certificate can be revoked (ACM revokes exportable and Private CA
                // certificates); it is deleted below all the same, and the log says why not.
                LogRevokeRefused(logger, certificateArn, ex.ErrorCode, ex.AwsMessage);
            }
        }

        if (!O.DeletesRetired)
        {
            return;
        }

        try
        {
            await acm.DeleteCertificateAsync(certificateArn, cancellationToken).ConfigureAwait(false);
            LogRetired(logger, certificateArn, "deleted");
        }
        catch (AwsServiceException ex) when (ex.ErrorCode == "ResourceNotFoundException")
        {
            // Already gone: what retiring wanted.
        }
        catch (AwsServiceException ex) when (ex.ErrorCode == "ResourceInUseException")
        {
            // Attached to an AWS resource by someone: deleting it would break that resource.
            LogRevokeRefused(logger, certificateArn, ex.ErrorCode, "in use by another AWS resource; not deleted");
        }
    }

    /// <summary>ACM takes three key types; anything else is a spec the user must change.</summary>
    internal static AcmKeyAlgorithm KeyAlgorithm(PrivateKeyRequest key) => (key.Algorithm.ToUpperInvariant(), key.Size) switch
    {
        ("RSA", 2048) => AcmKeyAlgorithm.Rsa2048,
        ("ECDSA", 256) => AcmKeyAlgorithm.EcPrime256v1,
        ("ECDSA", 384) => AcmKeyAlgorithm.EcSecp384r1,
        _ => throw new IssuerRejectedException("UnsupportedKey", $"ACM issues RSA 2048, ECDSA 256 and ECDSA 384 keys, not {key.Algorithm} {key.Size}: change spec.privateKey."),
    };

    /// <summary>
    /// Up to 32 word characters, the same for the same resource, incarnation, generation, revision
    /// and purpose: a retried or resumed request gets the certificate the first one created.
    /// </summary>
    internal static string IdempotencyToken(IssueRequest request)
    {
        // The uid alone is unique per incarnation in a real cluster; the name makes that hold
        // wherever uids are not (test clusters, restored backups).
        var seed = $"{request.Resource}/{request.Origin.Uid}/{request.Origin.Generation}/{request.Revision}/{request.Purpose}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(seed)))[..32];
    }

    internal static IReadOnlyDictionary<string, string> Tags(IssueRequest request) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["app.kubernetes.io/managed-by"] = "notary",
        ["notary.dev/namespace"] = request.Resource.Namespace,
        ["notary.dev/name"] = request.Resource.Name,
        ["notary.dev/fqdn"] = request.Fqdn,
    };

    /// <summary>Doubles per look at the same ticket, capped.</summary>
    private TimeSpan Poll(TimeSpan first, IssueRequest request) =>
        new Grains.Abstractions.Retry.ExponentialBackoff(first, O.MaxPollInterval, MaxDoublings: 16).Delay(request.Step);

    private static Exception Translate(AwsServiceException ex) => RequestErrors.Contains(ex.ErrorCode)
        ? new IssuerRejectedException("AcmRequestRejected", $"ACM {ex.Operation} refused the request: {ex.ErrorCode}: {ex.AwsMessage}")
        : new IssuerFailedException("AcmError", $"ACM {ex.Operation} failed: {ex.ErrorCode}: {ex.AwsMessage}", ex);

    private static bool IsAcmArn(string? arn) => arn is not null && (arn.StartsWith("arn:", StringComparison.Ordinal) || arn.StartsWith(RenewPrefix, StringComparison.Ordinal));

    private static string? Normalize(string? serial) => serial?.Replace(":", string.Empty, StringComparison.Ordinal).TrimStart('0').ToUpperInvariant();

    private static string DecryptPrivateKey(string encryptedPem, byte[] passphrase, X509Certificate2 leaf)
    {
        // The key must belong to the certificate: a mismatch would make a keystore no TLS
        // library accepts, so it fails here, without a word about the key itself.
        if (leaf.GetRSAPublicKey() is { } rsaPublic)
        {
            using (rsaPublic)
            using (var rsa = RSA.Create())
            {
                rsa.ImportFromEncryptedPem(encryptedPem, passphrase);
                if (!rsa.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(rsaPublic.ExportSubjectPublicKeyInfo()))
                {
                    throw new InvalidOperationException("The private key ACM exported does not match the certificate.");
                }

                return rsa.ExportPkcs8PrivateKeyPem();
            }
        }

        using var ecPublic = leaf.GetECDsaPublicKey() ?? throw new IssuerRejectedException("UnsupportedKey", "ACM returned a certificate whose key is neither RSA nor ECDSA.");
        using var ec = ECDsa.Create();
        ec.ImportFromEncryptedPem(encryptedPem, passphrase);
        if (!ec.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(ecPublic.ExportSubjectPublicKeyInfo()))
        {
            throw new InvalidOperationException("The private key ACM exported does not match the certificate.");
        }

        return ec.ExportPkcs8PrivateKeyPem();
    }

    private static List<string> SplitPem(string bundle)
    {
        const string End = "-----END CERTIFICATE-----";
        var result = new List<string>();
        var start = 0;
        while (true)
        {
            var begin = bundle.IndexOf("-----BEGIN CERTIFICATE-----", start, StringComparison.Ordinal);
            if (begin < 0)
            {
                return result;
            }

            var end = bundle.IndexOf(End, begin, StringComparison.Ordinal);
            if (end < 0)
            {
                return result;
            }

            using var certificate = X509Certificate2.CreateFromPem(bundle.AsSpan(begin, end + End.Length - begin));
            result.Add(certificate.ExportCertificatePem());
            start = end + End.Length;
        }
    }

    private static bool PemEquals(string a, string b)
    {
        using var x = X509Certificate2.CreateFromPem(a);
        using var y = X509Certificate2.CreateFromPem(b);
        return x.RawDataMemory.Span.SequenceEqual(y.RawDataMemory.Span);
    }

    [LoggerMessage(1, LogLevel.Information, "Certificate {Resource}: requested {Arn} from ACM ({Purpose})")]
    private static partial void LogRequested(ILogger logger, string resource, string arn, string purpose);

    [LoggerMessage(2, LogLevel.Information, "Certificate {Resource}: ACM renews {Arn}")]
    private static partial void LogRenewing(ILogger logger, string resource, string arn);

    [LoggerMessage(3, LogLevel.Information, "ACM certificate {Arn} {What}")]
    private static partial void LogRetired(ILogger logger, string arn, string what);

    [LoggerMessage(4, LogLevel.Warning, "ACM certificate {Arn}: {ErrorCode}: {Message}")]
    private static partial void LogRevokeRefused(ILogger logger, string arn, string errorCode, string message);
}
