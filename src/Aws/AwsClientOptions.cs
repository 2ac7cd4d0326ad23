using System.Globalization;
using System.Text.RegularExpressions;
using Amazon;

namespace Notary.Aws;

/// <summary>
/// How one AWS service client reaches its service: region, endpoint, per-attempt timeout and
/// retries. A plain bindable class: the issuer and store option classes carry the same keys in
/// their own configuration sections (e.g. <c>Notary:Store:SecretsManager:Region</c>) and hand
/// an instance of this class to <see cref="AwsClients"/>.
/// </summary>
public sealed partial class AwsClientOptions
{
    /// <summary>
    /// The AWS region, e.g. <c>us-west-2</c>. When empty, the environment variables AWS_REGION
    /// and then AWS_DEFAULT_REGION are used, as every AWS SDK does (EKS sets AWS_REGION on pods
    /// that use IAM roles for service accounts).
    /// </summary>
    public string? Region { get; set; }

    /// <summary>
    /// An absolute http or https URL that replaces the regional endpoint, e.g. a VPC endpoint or
    /// a local emulator (<c>http://127.0.0.1:5000</c>). Empty: <c>https://{service}.{region}.{dns suffix}</c>.
    /// </summary>
    public string? ServiceUrl { get; set; }

    /// <summary>How long one HTTP attempt may take before it is abandoned and retried (default 10 s).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP attempts per call, the first included (default 5); 1 disables retries.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The backoff before the second attempt; doubled per attempt, with full jitter (default 200 ms).</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest backoff between two attempts (default 20 s).</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The region this client uses: <see cref="Region"/>, else AWS_REGION, else AWS_DEFAULT_REGION; null when none is set.</summary>
    /// <param name="environment">Reads an environment variable; null reads the process environment.</param>
    public string? EffectiveRegion(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        return new[] { Region, environment("AWS_REGION"), environment("AWS_DEFAULT_REGION") }
            .FirstOrDefault(value => !string.IsNullOrWhiteSpace(value))?.Trim();
    }

    /// <summary>
    /// Problems with these options, each saying how to fix the value; empty when they are usable.
    /// </summary>
    /// <param name="section">The configuration section the options were bound from, e.g. <c>Notary:Store:SecretsManager</c>.</param>
    /// <param name="environment">Reads an environment variable; null reads the process environment.</param>
    public IReadOnlyList<string> Validate(string section, Func<string, string?>? environment = null)
    {
        var failures = new List<string>();
        var env = section.Replace(":", "__", StringComparison.Ordinal);
        var region = EffectiveRegion(environment);
        if (region is null)
        {
            failures.Add($"{section}:Region is not set and AWS_REGION is empty; set {env}__Region=us-west-2 (or AWS_REGION) to the region of the service.");
        }
        else if (!RegionPattern().IsMatch(region))
        {
            failures.Add($"{section}:Region \"{region}\" is not an AWS region name; use one such as us-west-2 or eu-central-1 ({env}__Region).");
        }

        if (!string.IsNullOrWhiteSpace(ServiceUrl)
            && (!Uri.TryCreate(ServiceUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp) || url.Query.Length > 0 || url.Fragment.Length > 0))
        {
            failures.Add($"{section}:ServiceUrl \"{ServiceUrl}\" is not an absolute http or https URL without query; use e.g. https://secretsmanager.us-west-2.amazonaws.com, or leave it empty for the regional endpoint ({env}__ServiceUrl).");
        }

        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{section}:RequestTimeout {Format(RequestTimeout)} must be positive and at most 00:05:00; e.g. {env}__RequestTimeout=00:00:10.");
        }

        if (MaxAttempts is < 1 or > 20)
        {
            failures.Add($"{section}:MaxAttempts {MaxAttempts.ToString(CultureInfo.InvariantCulture)} must be between 1 (no retries) and 20; e.g. {env}__MaxAttempts=5.");
        }

        if (BaseDelay <= TimeSpan.Zero || BaseDelay > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{section}:BaseDelay {Format(BaseDelay)} must be positive and at most 00:01:00; e.g. {env}__BaseDelay=00:00:00.200.");
        }

        if (MaxDelay < BaseDelay || MaxDelay > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{section}:MaxDelay {Format(MaxDelay)} must be at least BaseDelay ({Format(BaseDelay)}) and at most 00:10:00; e.g. {env}__MaxDelay=00:00:20.");
        }

        return failures;
    }

    /// <summary>The region endpoint to sign for; throws, saying how to fix it, when no region is set.</summary>
    internal RegionEndpoint ResolveRegion(Func<string, string?>? environment = null) =>
        RegionEndpoint.GetBySystemName(EffectiveRegion(environment)
            ?? throw new InvalidOperationException("No AWS region is set: set the client's Region option or AWS_REGION, e.g. us-west-2."));

    /// <summary>Where requests go: <see cref="ServiceUrl"/>, else the service's regional endpoint in the region's partition.</summary>
    internal Uri ResolveEndpoint(AwsServiceInfo service, RegionEndpoint region)
    {
        if (!string.IsNullOrWhiteSpace(ServiceUrl))
        {
            var url = new Uri(ServiceUrl, UriKind.Absolute);
            return url.AbsolutePath.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");
        }

        // The partition's suffix keeps China (amazonaws.com.cn) and other partitions right.
        return new Uri($"https://{service.EndpointPrefix}.{region.SystemName}.{region.PartitionDnsSuffix}/");
    }

    private static string Format(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);

    // Region names as AWS spells them: us-west-2, us-gov-west-1, cn-north-1, eu-isoe-west-1.
    [GeneratedRegex("^[a-z]{2,}(-[a-z]+)+-[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionPattern();
}
