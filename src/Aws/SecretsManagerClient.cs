using System.Net;

namespace Notary.Aws;

/// <summary>
/// The Secrets Manager operations Notary uses, typed and thin: one call each, through
/// <see cref="AwsJsonClient"/> (which signs, retries and maps errors). Ownership and the
/// create-or-update logic live in <see cref="SecretsManagerStore"/>.
/// </summary>
public sealed class SecretsManagerClient(AwsJsonClient client)
{
    private static readonly AwsJsonContext Json = AwsJsonContext.Default;

    internal static readonly AwsOperation<CreateSecretRequest, CreateSecretResponse> CreateSecret = new(nameof(CreateSecret), Json.CreateSecretRequest, Json.CreateSecretResponse);
    internal static readonly AwsOperation<PutSecretValueRequest, PutSecretValueResponse> PutSecretValue = new(nameof(PutSecretValue), Json.PutSecretValueRequest, Json.PutSecretValueResponse);
    internal static readonly AwsOperation<DescribeSecretRequest, DescribeSecretResponse> DescribeSecret = new(nameof(DescribeSecret), Json.DescribeSecretRequest, Json.DescribeSecretResponse);
    internal static readonly AwsOperation<DeleteSecretRequest, DeleteSecretResponse> DeleteSecret = new(nameof(DeleteSecret), Json.DeleteSecretRequest, Json.DeleteSecretResponse);
    internal static readonly AwsOperation<RestoreSecretRequest, RestoreSecretResponse> RestoreSecret = new(nameof(RestoreSecret), Json.RestoreSecretRequest, Json.RestoreSecretResponse);
    internal static readonly AwsOperation<TagResourceRequest, AwsEmptyResponse> TagResource = new(nameof(TagResource), Json.TagResourceRequest, Json.AwsEmptyResponse);
    internal static readonly AwsOperation<GetSecretValueRequest, GetSecretValueResponse> GetSecretValue = new(nameof(GetSecretValue), Json.GetSecretValueRequest, Json.GetSecretValueResponse);

    /// <summary>Every operation this client calls (the wire-shape tests compare each with the service model).</summary>
    public static IReadOnlyList<AwsOperation> Operations { get; } =
        [CreateSecret, PutSecretValue, DescribeSecret, DeleteSecret, RestoreSecret, TagResource, GetSecretValue];

    /// <summary>The most SecretBinary may hold.</summary>
    public const int MaxSecretBytes = 65_536;

    /// <summary>The transport: attempt counters, endpoint, region.</summary>
    public AwsJsonClient Transport { get; } = client;

    public Task<CreateSecretResponse> CreateSecretAsync(CreateSecretRequest request, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(CreateSecret, request, cancellationToken);

    /// <summary>Adds a version that becomes AWSCURRENT; <paramref name="clientRequestToken"/> makes a retry add it once.</summary>
    public Task<PutSecretValueResponse> PutSecretValueAsync(string secretId, byte[] secretBinary, string? clientRequestToken, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(PutSecretValue, new PutSecretValueRequest { SecretId = secretId, SecretBinary = secretBinary, ClientRequestToken = clientRequestToken }, cancellationToken);

    /// <summary>The secret's metadata; null when there is no such secret.</summary>
    public async Task<DescribeSecretResponse?> DescribeSecretAsync(string secretId, CancellationToken cancellationToken)
    {
        try
        {
            return await Transport.InvokeAsync(DescribeSecret, new DescribeSecretRequest { SecretId = secretId }, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceException ex) when (ex.ErrorCode == "ResourceNotFoundException")
        {
            return null;
        }
    }

    /// <summary>Schedules deletion after <paramref name="recoveryWindowInDays"/> (7 to 30) days.</summary>
    public Task<DeleteSecretResponse> DeleteSecretAsync(string secretId, int recoveryWindowInDays, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(DeleteSecret, new DeleteSecretRequest { SecretId = secretId, RecoveryWindowInDays = recoveryWindowInDays }, cancellationToken);

    /// <summary>Cancels a scheduled deletion.</summary>
    public Task<RestoreSecretResponse> RestoreSecretAsync(string secretId, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(RestoreSecret, new RestoreSecretRequest { SecretId = secretId }, cancellationToken);

    /// <summary>Adds or overwrites the given tags; other tags stay.</summary>
    public Task TagResourceAsync(string secretId, IReadOnlyList<AwsTag> tags, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(TagResource, new TagResourceRequest { SecretId = secretId, Tags = tags }, cancellationToken);

    /// <summary>The AWSCURRENT version, or the version <paramref name="versionId"/>.</summary>
    public Task<GetSecretValueResponse> GetSecretValueAsync(string secretId, string? versionId, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(GetSecretValue, new GetSecretValueRequest { SecretId = secretId, VersionId = versionId }, cancellationToken);

    internal static AwsServiceException MissingMember(AwsOperation operation, string member) =>
        new(operation.Name, "InvalidResponse", $"The answer to {operation.Name} has no {member}.", HttpStatusCode.OK, retryable: false);
}
