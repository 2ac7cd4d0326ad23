using Microsoft.Extensions.Options;

namespace Notary.Aws.Acm;

/// <summary>
/// The ACM issuer (configuration section <c>Notary:Issuer:Acm</c>, or environment variables
/// such as <c>Notary__Issuer__Acm__PrivateCaArn</c>). Credentials come from the standard AWS
/// chain (environment, profile, web identity / IRSA, instance metadata).
/// </summary>
public sealed class AcmIssuerOptions
{
    public const string SectionName = "Notary:Issuer:Acm";

    /// <summary>
    /// The named instance, bound from the same section, that the issuers of <c>acm</c> Issuer and
    /// ClusterIssuer resources take their timing, retries, OnRetire and STS settings from (their
    /// region, endpoint, Private CA and role come from each resource's spec). Validated without
    /// requiring a region, since the default issuer may be the built-in one.
    /// </summary>
    public const string PerIssuer = "PerIssuer";

    /// <summary>The AWS region of ACM; falls back to AWS_REGION, then AWS_DEFAULT_REGION.</summary>
    public string? Region { get; set; }

    /// <summary>An endpoint override (e.g. a VPC endpoint, or moto in tests); null uses the region's endpoint.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>The ACM Private CA that issues Private certificates; without it only Public ones can be issued.</summary>
    public string? PrivateCaArn { get; set; }

    /// <summary>
    /// What happens to a certificate in ACM when Notary no longer uses it (the Certificate was
    /// deleted, or a newer certificate replaced it): <c>Delete</c> (the default: nothing is
    /// left behind to pay for or to leak) or <c>Keep</c>.
    /// </summary>
    public string OnRetire { get; set; } = "Delete";

    /// <summary>How often to look at a certificate that ACM is still issuing (doubled per look, capped by <see cref="MaxPollInterval"/>).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often to look at a Public certificate waiting for its DNS validation records.</summary>
    public TimeSpan ValidationPollInterval { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Per HTTP attempt; the client retries throttling, 5xx and dropped connections.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public int MaxAttempts { get; set; } = 5;

    /// <summary>First retry delay (full jitter, doubling per attempt).</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// STS's endpoint for issuers with <c>roleArn</c> (a VPC endpoint; moto in tests); empty: the
    /// regional endpoint <c>sts.REGION.amazonaws.com</c> of the issuer's region.
    /// </summary>
    public string? StsServiceUrl { get; set; }

    /// <summary>How long an assumed role's credentials last (DurationSeconds; 15 min to 12 h, the role's maximum session applies).</summary>
    public TimeSpan AssumeRoleDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long before they expire assumed credentials are replaced.</summary>
    public TimeSpan AssumeRoleRefreshBefore { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether namespaced <c>acm</c> Issuers are accepted (<c>Notary__Issuer__Acm__AllowNamespacedAcm</c>;
    /// default false). An acm issuer signs with Notary's AWS credentials (or a role they can
    /// assume): allowing it in every namespace lets anyone who can create an Issuer use every
    /// Private CA and role Notary can reach. Off, only ClusterIssuers (made by cluster admins) may
    /// be acm, as cert-manager allows ambient credentials only for ClusterIssuers.
    /// </summary>
    public bool AllowNamespacedAcm { get; set; }

    /// <summary>
    /// Whether an issuer's <c>serviceUrl</c> may be plain <c>http://</c> to a loopback address
    /// (moto in tests, a local emulator in development; <c>Notary__Issuer__Acm__AllowHttpServiceUrl</c>;
    /// default false). Otherwise serviceUrl must be https.
    /// </summary>
    public bool AllowHttpServiceUrl { get; set; }

    /// <summary>How long the factory keeps the clients, credentials and issuers of a spec nobody asked for (default 1 h).</summary>
    public TimeSpan CacheIdleTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>These options for one <c>acm</c> issuer resource: its region, endpoint and Private CA; the rest as configured.</summary>
    public AcmIssuerOptions For(Grains.Abstractions.AcmIssuerSpec spec) => new()
    {
        Region = spec.Region,
        ServiceUrl = spec.ServiceUrl,
        PrivateCaArn = spec.PrivateCaArn,
        OnRetire = OnRetire,
        PollInterval = PollInterval,
        ValidationPollInterval = ValidationPollInterval,
        MaxPollInterval = MaxPollInterval,
        RequestTimeout = RequestTimeout,
        MaxAttempts = MaxAttempts,
        BaseDelay = BaseDelay,
        MaxDelay = MaxDelay,
        StsServiceUrl = StsServiceUrl,
        AssumeRoleDuration = AssumeRoleDuration,
        AssumeRoleRefreshBefore = AssumeRoleRefreshBefore,
        AllowNamespacedAcm = AllowNamespacedAcm,
        AllowHttpServiceUrl = AllowHttpServiceUrl,
        CacheIdleTimeout = CacheIdleTimeout,
    };

    /// <summary>The client part of these options.</summary>
    public AwsClientOptions ToClientOptions() => new()
    {
        Region = Region,
        ServiceUrl = ServiceUrl,
        RequestTimeout = RequestTimeout,
        MaxAttempts = MaxAttempts,
        BaseDelay = BaseDelay,
        MaxDelay = MaxDelay,
    };

    internal bool DeletesRetired => string.Equals(OnRetire, "Delete", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Refuses ACM settings that cannot work, saying how to fix them.</summary>
public sealed class AcmIssuerOptionsValidator : IValidateOptions<AcmIssuerOptions>
{
    private const string S = AcmIssuerOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, AcmIssuerOptions options)
    {
        // Region, endpoint, timeouts and attempts: the checks every AWS client shares.
        var client = options.ToClientOptions();
        if (name == AcmIssuerOptions.PerIssuer && string.IsNullOrWhiteSpace(client.Region))
        {
            // Each acm Issuer names its region; only the shared settings are checked here.
            client.Region = "us-east-1";
        }

        var failures = new List<string>(client.Validate(S));
        if (!string.IsNullOrWhiteSpace(options.StsServiceUrl)
            && (!Uri.TryCreate(options.StsServiceUrl, UriKind.Absolute, out var sts) || (sts.Scheme != Uri.UriSchemeHttps && sts.Scheme != Uri.UriSchemeHttp)))
        {
            failures.Add($"{S}:StsServiceUrl \"{options.StsServiceUrl}\" is not an absolute http or https URL; use e.g. https://sts.us-west-2.amazonaws.com, or leave it empty for the issuer's regional endpoint.");
        }

        if (options.AssumeRoleDuration < TimeSpan.FromMinutes(15) || options.AssumeRoleDuration > TimeSpan.FromHours(12))
        {
            failures.Add($"{S}:AssumeRoleDuration {options.AssumeRoleDuration} must be between 00:15:00 and 12:00:00 (STS's limits), e.g. \"01:00:00\".");
        }

        if (options.AssumeRoleRefreshBefore <= TimeSpan.Zero || options.AssumeRoleRefreshBefore >= options.AssumeRoleDuration / 2)
        {
            failures.Add($"{S}:AssumeRoleRefreshBefore {options.AssumeRoleRefreshBefore} must be positive and less than half of AssumeRoleDuration ({options.AssumeRoleDuration}), e.g. \"00:05:00\".");
        }

        if (options.CacheIdleTimeout < TimeSpan.FromMinutes(1) || options.CacheIdleTimeout > TimeSpan.FromDays(1))
        {
            failures.Add($"{S}:CacheIdleTimeout {options.CacheIdleTimeout} must be between 00:01:00 and 1.00:00:00, e.g. \"01:00:00\".");
        }

        if (!string.IsNullOrEmpty(options.PrivateCaArn) && !options.PrivateCaArn.StartsWith("arn:", StringComparison.Ordinal))
        {
            failures.Add($"{S}:PrivateCaArn \"{options.PrivateCaArn}\" is not an ARN: give the ACM Private CA's ARN, arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID.");
        }

        if (!(string.Equals(options.OnRetire, "Delete", StringComparison.OrdinalIgnoreCase) || string.Equals(options.OnRetire, "Keep", StringComparison.OrdinalIgnoreCase)))
        {
            failures.Add($"{S}:OnRetire \"{options.OnRetire}\" must be Delete (remove certificates Notary no longer uses from ACM) or Keep.");
        }

        foreach (var (key, value) in new[] { ("PollInterval", options.PollInterval), ("ValidationPollInterval", options.ValidationPollInterval), ("MaxPollInterval", options.MaxPollInterval) })
        {
            if (value <= TimeSpan.Zero || value > TimeSpan.FromHours(1))
            {
                failures.Add($"{S}:{key} {value} must be positive and at most an hour, e.g. \"00:00:30\".");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
