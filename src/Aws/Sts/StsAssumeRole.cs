using Amazon;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;

namespace Notary.Aws.Sts;

/// <summary>
/// <see cref="IStsAssumeRole"/> through AWSSDK.SecurityToken (STS speaks the query protocol, not
/// the JSON one of <see cref="AwsJsonClient"/>). Signs with Notary's own credentials: the SDK's
/// default chain (environment, IRSA web identity, instance metadata), or those given.
/// </summary>
public sealed class StsAssumeRole : IStsAssumeRole, IDisposable
{
    private readonly AmazonSecurityTokenServiceClient _client;

    /// <param name="region">The STS region (the issuer's): regional endpoint <c>sts.REGION.amazonaws.com</c>.</param>
    /// <param name="serviceUrl">An endpoint override (a VPC endpoint; moto in tests); null: the regional endpoint.</param>
    /// <param name="timing">Per-attempt timeout and attempts.</param>
    /// <param name="sourceCredentials">Null: the SDK's default chain.</param>
    public StsAssumeRole(string region, string? serviceUrl, AwsClientOptions timing, AWSCredentials? sourceCredentials = null)
    {
        var config = new AmazonSecurityTokenServiceConfig
        {
            Timeout = timing.RequestTimeout,
            MaxErrorRetry = Math.Max(0, timing.MaxAttempts - 1),
        };
        if (string.IsNullOrWhiteSpace(serviceUrl))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }
        else
        {
            config.ServiceURL = serviceUrl;
            config.AuthenticationRegion = region;
        }

        _client = sourceCredentials is null ? new AmazonSecurityTokenServiceClient(config) : new AmazonSecurityTokenServiceClient(sourceCredentials, config);
    }

    public async Task<AssumedRole> AssumeRoleAsync(string roleArn, string sessionName, TimeSpan duration, AssumeRoleScope scope, CancellationToken cancellationToken)
    {
        var response = await _client.AssumeRoleAsync(
            new AssumeRoleRequest
            {
                RoleArn = roleArn,
                RoleSessionName = sessionName,
                DurationSeconds = (int)duration.TotalSeconds,
                ExternalId = scope.ExternalId,
                Tags = [.. scope.Tags.Select(t => new Tag { Key = t.Key, Value = t.Value })],
            },
            cancellationToken).ConfigureAwait(false);
        var credentials = response.Credentials
            ?? throw new AmazonSecurityTokenServiceException("STS AssumeRole answered without credentials.");
        var expiration = credentials.Expiration is { } at ? new DateTimeOffset(at.Kind == DateTimeKind.Local ? at.ToUniversalTime() : DateTime.SpecifyKind(at, DateTimeKind.Utc)) : DateTimeOffset.UtcNow.Add(duration);
        return new AssumedRole(
            new ImmutableCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken),
            expiration,
            response.AssumedRoleUser?.Arn);
    }

    public void Dispose() => _client.Dispose();
}
