using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Aws.Sts;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws.Acm;

/// <summary>Ready=False reasons of an <c>acm</c> issuer (<see cref="AcmIssuerFactory.CheckAsync"/>).</summary>
public static class AcmIssuerReasons
{
    public const string Ready = "Ready";

    /// <summary>The spec cannot work as written (region, ARNs).</summary>
    public const string InvalidSpec = "InvalidSpec";

    /// <summary>STS refused to let Notary assume <c>roleArn</c>.</summary>
    public const string RoleNotAssumable = "RoleNotAssumable";

    /// <summary>ACM Private CA refused the credentials (Notary's own or the assumed role's).</summary>
    public const string AccessDenied = "AccessDenied";

    public const string CaNotFound = "CaNotFound";

    /// <summary>The Private CA exists but is not ACTIVE (pending its certificate, disabled, expired, deleted, failed).</summary>
    public const string CaNotActive = "CaNotActive";

    /// <summary>No answer, throttling or a 5xx: checked again later.</summary>
    public const string AwsUnavailable = "AwsUnavailable";

    /// <summary>Any other AWS error.</summary>
    public const string AwsError = "AwsError";

    /// <summary>
    /// The operator does not allow this spec: a namespaced acm Issuer without
    /// <see cref="AcmIssuerOptions.AllowNamespacedAcm"/>, or a plain-http serviceUrl.
    /// </summary>
    public const string NotAllowed = "NotAllowed";

    /// <summary>The CA certificate ACM Private CA returned is not a usable CA (not a CA, expired, broken chain).</summary>
    public const string CaCertificateInvalid = "CaCertificateInvalid";
}

/// <summary>
/// Makes the ACM issuers of <c>acm</c> Issuer and ClusterIssuer resources: the same
/// <see cref="AcmIssuer"/> as the configured default, with the resource's region, endpoint and
/// Private CA, and signed with an assumed role's credentials when the spec has <c>roleArn</c>
/// (STS AssumeRole with Notary's own credentials; kept and refreshed before they expire). Clients
/// and credentials are kept per spec, issuers per name and spec: a spec change gets new ones.
/// </summary>
public sealed partial class AcmIssuerFactory : IAcmIssuerFactory, IDisposable
{
    private readonly HttpMessageInvoker _http;
    private readonly AcmIssuerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly AWSCredentials? _sourceCredentials;
    private readonly Func<string, IStsAssumeRole>? _stsFactory;
    private readonly IdleCache<AcmIssuerSpec, Lazy<Clients>> _clients;
    private readonly IdleCache<(string Name, AcmIssuerSpec Spec), AcmIssuer> _issuers;
    private readonly ConcurrentDictionary<string, Lazy<IStsAssumeRole>> _sts = new(StringComparer.Ordinal);

    /// <param name="http">The host's shared AWS HttpClient.</param>
    /// <param name="options">The shared settings (<see cref="AcmIssuerOptions.PerIssuer"/>): timing, retries, OnRetire, STS endpoint and durations.</param>
    /// <param name="loggerFactory">Loggers of the factory, the clients and the issuers.</param>
    /// <param name="timeProvider">Times attempts and the credentials' expiry; tests pass a fake one.</param>
    /// <param name="sourceCredentials">Notary's own credentials; null: the SDK's default chain (IRSA on EKS).</param>
    /// <param name="stsFactory">STS per region; null: <see cref="StsAssumeRole"/> at <see cref="AcmIssuerOptions.StsServiceUrl"/> or the region's endpoint.</param>
    public AcmIssuerFactory(
        HttpMessageInvoker http,
        AcmIssuerOptions options,
        ILoggerFactory loggerFactory,
        TimeProvider? timeProvider = null,
        AWSCredentials? sourceCredentials = null,
        Func<string, IStsAssumeRole>? stsFactory = null)
    {
        _http = http;
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<AcmIssuerFactory>();
        _time = timeProvider ?? TimeProvider.System;
        _sourceCredentials = sourceCredentials;
        _stsFactory = stsFactory;
        _clients = new(_time, options.CacheIdleTimeout);
        _issuers = new(_time, options.CacheIdleTimeout);
    }

    /// <summary>How many issuers are kept (tests: idle ones are dropped).</summary>
    internal int CachedIssuers => _issuers.Count;

    /// <summary>How many specs' clients are kept (tests: idle ones are dropped).</summary>
    internal int CachedClients => _clients.Count;

    public ICertificateIssuer Create(string name, AcmIssuerSpec spec)
    {
        if (Refusal(spec, _options) is { } refused)
        {
            throw new InvalidOperationException(refused);
        }

        // Asked for every time, so that the spec's clients stay cached as long as its issuers.
        var clients = ClientsFor(spec);
        return _issuers.GetOrAdd((name, spec), key => new AcmIssuer(
            new AcmApi(clients.Acm),
            Options.Create(_options.For(key.Spec)),
            _loggerFactory.CreateLogger<AcmIssuer>())
        {
            Name = key.Name,
        });
    }

    /// <summary>The credentials the issuers of <paramref name="spec"/> sign with (for tests and diagnostics): the assumed role's, or null for Notary's own.</summary>
    public AssumedRoleCredentials? AssumedCredentials(AcmIssuerSpec spec) => ClientsFor(spec).Assumed;

    public async Task<AcmIssuerCheck> CheckAsync(AcmIssuerSpec spec, CancellationToken cancellationToken)
    {
        var invalid = Validate(spec);
        if (invalid is not null)
        {
            return NotReady(spec, AcmIssuerReasons.InvalidSpec, invalid);
        }

        var refused = Refusal(spec, _options);
        if (refused is not null)
        {
            return NotReady(spec, AcmIssuerReasons.NotAllowed, refused);
        }

        var clients = ClientsFor(spec);
        if (clients.Assumed is { } assumed)
        {
            try
            {
                await assumed.GetCredentialsAsync().ConfigureAwait(false);
            }
            catch (AmazonServiceException ex) when (!Transient((int)ex.StatusCode, ex.ErrorCode))
            {
                return NotReady(spec, AcmIssuerReasons.RoleNotAssumable,
                    $"STS refused to let Notary assume {spec.RoleArn} (ExternalId {assumed.Scope.ExternalId}): {OneLine(ex.ErrorCode)}: {OneLine(ex.Message)} The role's trust policy must name Notary's role with the condition sts:ExternalId = {assumed.Scope.ExternalId} and allow sts:TagSession, and Notary's role must be allowed sts:AssumeRole and sts:TagSession on it (README, \"ACM issuers\").");
            }
            catch (Exception ex) when (ex is AmazonClientException or AmazonServiceException or HttpRequestException or IOException or TaskCanceledException)
            {
                return NotReady(spec, AcmIssuerReasons.AwsUnavailable, $"STS did not answer the AssumeRole of {spec.RoleArn}: {ex.GetType().Name}: {OneLine(ex.Message)}; Notary tries again.");
            }
        }

        var via = spec.RoleArn is null ? "Notary's own credentials" : $"role {spec.RoleArn}";
        try
        {
            var ca = await clients.Pca.DescribeCertificateAuthorityAsync(spec.PrivateCaArn, cancellationToken).ConfigureAwait(false);
            if (ca.Status != "ACTIVE")
            {
                var failure = string.IsNullOrEmpty(ca.FailureReason) ? "" : $" ({OneLine(ca.FailureReason)})";
                return NotReady(spec, AcmIssuerReasons.CaNotActive,
                    $"ACM Private CA {spec.PrivateCaArn} is {OneLine(ca.Status)}{failure}, not ACTIVE: it cannot issue. Install its certificate or enable it (aws acm-pca update-certificate-authority --status ACTIVE), or name another CA.");
            }

            var certificate = await clients.Pca.GetCertificateAuthorityCertificateAsync(spec.PrivateCaArn, cancellationToken).ConfigureAwait(false);
            var pem = CaBundle(certificate);
            if (pem is null)
            {
                return NotReady(spec, AcmIssuerReasons.AwsError, $"ACM Private CA {spec.PrivateCaArn} answered GetCertificateAuthorityCertificate without a readable certificate.");
            }

            return new AcmIssuerCheck(new IssuerReadiness(true, AcmIssuerReasons.Ready, $"ACM Private CA {spec.PrivateCaArn} is ACTIVE (through {via})."), pem);
        }
        catch (AwsServiceException ex)
        {
            var (reason, message) = ex.ErrorCode switch
            {
                "ResourceNotFoundException" => (AcmIssuerReasons.CaNotFound,
                    $"ACM Private CA {spec.PrivateCaArn} does not exist (as seen through {via} in {spec.Region}): check privateCaArn, region and roleArn (a CA of another account needs that account's role)."),
                "InvalidStateException" => (AcmIssuerReasons.CaNotActive, $"ACM Private CA {spec.PrivateCaArn} is not ACTIVE: {OneLine(ex.AwsMessage)}"),
                "InvalidArnException" => (AcmIssuerReasons.InvalidSpec, $"privateCaArn {spec.PrivateCaArn} is not a valid ACM Private CA ARN: {OneLine(ex.AwsMessage)}"),
                "AccessDeniedException" or "AccessDenied" or "UnrecognizedClientException" or "InvalidClientTokenId" or "ExpiredTokenException" => (AcmIssuerReasons.AccessDenied,
                    $"ACM Private CA refused {via}: {OneLine(ex.ErrorCode)}: {OneLine(ex.AwsMessage)} Allow acm-pca:DescribeCertificateAuthority and acm-pca:GetCertificateAuthorityCertificate on the CA (README, \"ACM issuers\")."),
                "CredentialsUnavailable" when spec.RoleArn is not null && !ex.Retryable => (AcmIssuerReasons.RoleNotAssumable, $"Notary could not assume {spec.RoleArn}: {OneLine(ex.AwsMessage)}"),
                _ when ex.Retryable => (AcmIssuerReasons.AwsUnavailable, $"ACM Private CA did not answer ({OneLine(ex.Message)}); Notary tries again."),
                _ => (AcmIssuerReasons.AwsError, $"ACM Private CA {ex.Operation} failed: {OneLine(ex.Message)}"),
            };
            return NotReady(spec, reason, message);
        }
    }

    public void Dispose()
    {
        foreach (var clients in _clients.Values.Where(c => c.IsValueCreated))
        {
            clients.Value.Assumed?.Dispose();
        }

        foreach (var sts in _sts.Values.Where(s => s.IsValueCreated))
        {
            (sts.Value as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// The role session name: "notary-" and the Private CA's id, which CloudTrail shows in the
    /// assumed role's ARN (<c>assumed-role/ROLE/notary-ID</c>), so every call says it came from
    /// Notary for that CA. At most 64 characters of <c>[\w+=,.@-]</c>.
    /// </summary>
    public static string SessionName(AcmIssuerSpec spec)
    {
        var id = spec.PrivateCaArn[(spec.PrivateCaArn.LastIndexOf('/') + 1)..];
        var name = "notary-" + SessionCharacters().Replace(id, "-");
        return name.Length <= 64 ? name : name[..51] + "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..12];
    }

    /// <summary>At most this many characters of an AWS error text go into a status message.</summary>
    internal const int MaxAwsText = 200;

    /// <summary>
    /// An AWS-supplied text (error code, message, failure reason) as it may appear in an issuer's
    /// status: one line, control characters replaced, at most <see cref="MaxAwsText"/> characters.
    /// </summary>
    internal static string OneLine(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var line = new string([.. text.Select(c => char.IsControl(c) ? ' ' : c)]).Trim();
        return line.Length <= MaxAwsText ? line : line[..(MaxAwsText - 1)] + "…";
    }

    /// <summary>
    /// Why the operator does not allow <paramref name="spec"/>; null when it may be used. A
    /// namespaced Issuer (<see cref="AcmIssuerSpec.Namespace"/>) needs
    /// <see cref="AcmIssuerOptions.AllowNamespacedAcm"/>, so serviceUrl too can be set only by
    /// cluster admins unless they allow namespaced acm Issuers; serviceUrl must be https, plain
    /// http only to a loopback address and only with <see cref="AcmIssuerOptions.AllowHttpServiceUrl"/>.
    /// </summary>
    internal static string? Refusal(AcmIssuerSpec spec, AcmIssuerOptions options)
    {
        if (spec.Namespace is { } ns && !options.AllowNamespacedAcm)
        {
            return $"acm Issuers in a namespace ({ns}) are not allowed: they would sign with Notary's AWS credentials on behalf of anyone who can create an Issuer there. Use a ClusterIssuer, or have the operator set Notary__Issuer__Acm__AllowNamespacedAcm=true (chart: issuer.acm.allowNamespaced) (README, \"ACM issuers\").";
        }

        if (!string.IsNullOrWhiteSpace(spec.ServiceUrl) && Uri.TryCreate(spec.ServiceUrl, UriKind.Absolute, out var url) && url.Scheme != Uri.UriSchemeHttps)
        {
            if (!(url.Scheme == Uri.UriSchemeHttp && url.IsLoopback && options.AllowHttpServiceUrl))
            {
                return $"spec.acm.serviceUrl \"{spec.ServiceUrl}\" is not https: Notary sends signed requests only over https (plain http only to a loopback address, and only when Notary__Issuer__Acm__AllowHttpServiceUrl=true, for tests and development).";
            }
        }

        return null;
    }

    /// <summary>Why <paramref name="spec"/> cannot work as written; null when it can be tried.</summary>
    internal static string? Validate(AcmIssuerSpec spec)
    {
        var region = new AwsClientOptions { Region = spec.Region, ServiceUrl = spec.ServiceUrl }.Validate("spec.acm", _ => null);
        if (region.Count > 0)
        {
            return $"spec.acm: region \"{spec.Region}\" or serviceUrl \"{spec.ServiceUrl}\" is not usable: give an AWS region such as us-west-2 and, if any, an absolute http(s) URL.";
        }

        var ca = PrivateCaArnPattern().Match(spec.PrivateCaArn ?? "");
        if (!ca.Success)
        {
            return $"spec.acm.privateCaArn \"{spec.PrivateCaArn}\" is not an ACM Private CA ARN (arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID).";
        }

        if (ca.Groups["region"].Value != spec.Region)
        {
            return $"spec.acm.privateCaArn is in region {ca.Groups["region"].Value} but spec.acm.region is {spec.Region}: ACM issues only from a Private CA of its own region.";
        }

        if (spec.RoleArn is not null && !RoleArnPattern().IsMatch(spec.RoleArn))
        {
            return $"spec.acm.roleArn \"{spec.RoleArn}\" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME).";
        }

        return null;
    }

    private AcmIssuerCheck NotReady(AcmIssuerSpec spec, string reason, string message)
    {
        LogNotReady(_logger, spec.PrivateCaArn, spec.RoleArn ?? "-", reason, message);
        return new AcmIssuerCheck(new IssuerReadiness(false, reason, message), null);
    }

    private Clients ClientsFor(AcmIssuerSpec spec) => _clients.GetOrAdd(spec, s => new Lazy<Clients>(() => Build(s))).Value;

    private Clients Build(AcmIssuerSpec spec)
    {
        var client = _options.For(spec).ToClientOptions();
        AssumedRoleCredentials? assumed = null;
        if (spec.RoleArn is not null)
        {
            var sts = _sts.GetOrAdd(spec.Region, region => new Lazy<IStsAssumeRole>(() => _stsFactory?.Invoke(region)
                ?? new StsAssumeRole(region, _options.StsServiceUrl, client, _sourceCredentials))).Value;
            assumed = new AssumedRoleCredentials(sts, spec.RoleArn, SessionName(spec), _options.AssumeRoleDuration, _options.AssumeRoleRefreshBefore, _time, AssumeRoleScope.For(spec.Namespace));
        }

        AWSCredentials? credentials = assumed ?? _sourceCredentials;
        return new Clients(
            AwsClients.CreateAcm(client, _http, _loggerFactory, _time, credentials),
            AwsClients.CreateAcmPca(client, _http, _loggerFactory, _time, credentials),
            assumed);
    }

    private static bool Transient(int status, string? code) => status == 429 || status >= 500 || code is "Throttling" or "ThrottlingException" or "RequestLimitExceeded";

    /// <summary>The CA's certificate then its chain, as PEM; null when the answer holds none.</summary>
    private static string? CaBundle(GetCertificateAuthorityCertificateResponse response)
    {
        if (string.IsNullOrWhiteSpace(response.Certificate))
        {
            return null;
        }

        try
        {
            var all = new X509Certificate2Collection();
            all.ImportFromPem(response.Certificate);
            if (all.Count == 0)
            {
                return null;
            }

            if (!string.IsNullOrWhiteSpace(response.CertificateChain))
            {
                all.ImportFromPem(response.CertificateChain);
            }

            var pem = string.Concat(all.Select(c => c.ExportCertificatePem() + "\n"));
            foreach (var certificate in all)
            {
                certificate.Dispose();
            }

            return pem;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private sealed record Clients(AcmClient Acm, AcmPcaClient Pca, AssumedRoleCredentials? Assumed);

    [GeneratedRegex(@"[^\w+=,.@-]", RegexOptions.CultureInvariant)]
    private static partial Regex SessionCharacters();

    [GeneratedRegex(@"^arn:aws[a-z-]*:acm-pca:(?<region>[a-z0-9-]+):[0-9]{12}:certificate-authority/[A-Za-z0-9-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex PrivateCaArnPattern();

    [GeneratedRegex(@"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$", RegexOptions.CultureInvariant)]
    private static partial Regex RoleArnPattern();

    [LoggerMessage(1, LogLevel.Warning, "ACM issuer for {PrivateCaArn} (role {RoleArn}) is not ready: {Reason}: {Message}")]
    private static partial void LogNotReady(ILogger logger, string privateCaArn, string roleArn, string reason, string message);
}
