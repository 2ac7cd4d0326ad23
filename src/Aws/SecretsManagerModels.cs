using System.Text.Json.Serialization;

namespace Notary.Aws;

// The request and response shapes of the Secrets Manager operations Notary uses, named and typed
// as in the botocore model secretsmanager/2017-10-17/service-2.json (the wire-shape tests compare
// them). Shapes that hold SecretBinary are classes, not records, so that no generated ToString
// ever prints the secret.

public sealed class CreateSecretRequest
{
    public required string Name { get; init; }

    /// <summary>32 to 64 characters; a retry with the same token creates the secret once.</summary>
    public string? ClientRequestToken { get; init; }

    public string? Description { get; init; }

    public string? KmsKeyId { get; init; }

    public byte[]? SecretBinary { get; init; }

    public IReadOnlyList<AwsTag>? Tags { get; init; }
}

public sealed class CreateSecretResponse
{
    [JsonPropertyName("ARN")]
    public string? Arn { get; init; }

    public string? Name { get; init; }

    public string? VersionId { get; init; }
}

public sealed class PutSecretValueRequest
{
    public required string SecretId { get; init; }

    /// <summary>32 to 64 characters; a retry with the same token and value adds the version once.</summary>
    public string? ClientRequestToken { get; init; }

    public byte[]? SecretBinary { get; init; }
}

public sealed class PutSecretValueResponse
{
    [JsonPropertyName("ARN")]
    public string? Arn { get; init; }

    public string? Name { get; init; }

    public string? VersionId { get; init; }

    public IReadOnlyList<string>? VersionStages { get; init; }
}

public sealed class DescribeSecretRequest
{
    public required string SecretId { get; init; }
}

public sealed class DescribeSecretResponse
{
    [JsonPropertyName("ARN")]
    public string? Arn { get; init; }

    public string? Name { get; init; }

    public string? Description { get; init; }

    public string? KmsKeyId { get; init; }

    public DateTimeOffset? CreatedDate { get; init; }

    public DateTimeOffset? LastChangedDate { get; init; }

    /// <summary>Set while the secret is scheduled for deletion (the date DeleteSecret was called).</summary>
    public DateTimeOffset? DeletedDate { get; init; }

    public IReadOnlyList<AwsTag>? Tags { get; init; }
}

public sealed class DeleteSecretRequest
{
    public required string SecretId { get; init; }

    /// <summary>7 to 30 days; the secret can be restored until then.</summary>
    public long? RecoveryWindowInDays { get; init; }

    public bool? ForceDeleteWithoutRecovery { get; init; }
}

public sealed class DeleteSecretResponse
{
    [JsonPropertyName("ARN")]
    public string? Arn { get; init; }

    public string? Name { get; init; }

    /// <summary>When the secret will be deleted for good.</summary>
    public DateTimeOffset? DeletionDate { get; init; }
}

public sealed class RestoreSecretRequest
{
    public required string SecretId { get; init; }
}

public sealed class RestoreSecretResponse
{
    [JsonPropertyName("ARN")]
    public string? Arn { get; init; }

    public string? Name { get; init; }
}

public sealed class TagResourceRequest
{
    public required string SecretId { get; init; }

    public required IReadOnlyList<AwsTag> Tags { get; init; }
}

public sealed class GetSecretValueRequest
{
    public required string SecretId { get; init; }

    public string? VersionId { get; init; }

    public string? VersionStage { get; init; }
}

public sealed class GetSecretValueResponse
{
    [JsonPropertyName("ARN")]
    public string? Arn { get; init; }

    public string? Name { get; init; }

    public string? VersionId { get; init; }

    public byte[]? SecretBinary { get; init; }

    public IReadOnlyList<string>? VersionStages { get; init; }

    public DateTimeOffset? CreatedDate { get; init; }
}
