using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws;

/// <summary>
/// Adapter for <see cref="ISecretStore"/>, SPEC "Where stores go / AWS Secrets Manager": each
/// Keystore or Truststore is the SecretBinary of the secret <c>{prefix}{namespace}/{name}</c>,
/// tagged as Notary's with the resource's namespace, name, kind and fqdn. A write adds a version
/// (PutSecretValue), so readers see the old or the new store, never a mix. A secret of that name
/// that Notary does not own (no managed-by tag, or tags naming another resource or kind) is never
/// overwritten nor deleted. Deletion is scheduled with the configured recovery window; writing
/// the store again within the window restores the secret.
/// </summary>
/// <remarks>
/// Failures of a write surface as <see cref="SecretStoreFailedException"/> (retried by the
/// grain) whose message carries AWS's <c>"{ErrorCode}: {AWS message}"</c>; AWS never echoes a
/// secret value in an error message, so that text is safe for a status condition. A refusal the user must fix (too large, a name
/// taken by a secret Notary does not own) is a <see cref="SecretStoreRejectedException"/>.
/// </remarks>
public sealed class SecretsManagerStore(
    SecretsManagerClient client,
    IOptions<SecretsManagerStoreOptions> options,
    ILogger<SecretsManagerStore> logger) : ISecretStore
{
    public const string ManagedByTag = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "notary";
    public const string NamespaceTag = "notary.dev/namespace";
    public const string NameTag = "notary.dev/name";
    public const string KindTag = "notary.dev/kind";
    public const string FqdnTag = "notary.dev/fqdn";

    /// <summary>The secret's name for <paramref name="resource"/>.</summary>
    public string SecretName(ResourceKey resource) => $"{options.Value.Prefix}{resource.Namespace}/{resource.Name}";

    public async Task<StoredLocation> PutAsync(StoreWrite write, CancellationToken cancellationToken)
    {
        var resource = write.Resource;
        var name = SecretName(resource);
        if (!write.Files.TryGetValue(write.PrimaryFileName, out var value))
        {
            throw new ArgumentException($"The write of {write.Kind} {resource} has no file {write.PrimaryFileName}.", nameof(write));
        }

        if (value.Length is 0 or > SecretsManagerClient.MaxSecretBytes)
        {
            var reason = $"The {write.Kind} {resource} is {value.Length} bytes; a Secrets Manager secret holds 1 to {SecretsManagerClient.MaxSecretBytes} bytes (SecretBinary), so it was not written to {name}. "
                + "Trust fewer certificates, or store it as a Kubernetes Secret (up to 1 MiB).";
            Log.SecretRefused(logger, name, $"{value.Length} bytes is over the limit of {SecretsManagerClient.MaxSecretBytes}");
            throw new SecretStoreRejectedException(reason);
        }

        // One token per write: the client's retries of CreateSecret or PutSecretValue (after a
        // lost answer) then create the secret or add the version once.
        var token = Guid.NewGuid().ToString("N");
        var tags = TagsFor(write);
        var operation = "DescribeSecret";
        try
        {
            var existing = await client.DescribeSecretAsync(name, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                try
                {
                    operation = "CreateSecret";
                    var created = await client.CreateSecretAsync(
                        new CreateSecretRequest
                        {
                            Name = name,
                            ClientRequestToken = token,
                            Description = $"Notary {write.Kind} {resource} ({write.Fqdn})",
                            KmsKeyId = string.IsNullOrWhiteSpace(options.Value.KmsKeyId) ? null : options.Value.KmsKeyId,
                            SecretBinary = value,
                            Tags = tags,
                        },
                        cancellationToken).ConfigureAwait(false);
                    var arn = created.Arn ?? throw SecretsManagerClient.MissingMember(SecretsManagerClient.CreateSecret, "ARN");
                    Log.SecretCreated(logger, name, write.Kind, resource);
                    return new StoredLocation(arn, arn);
                }
                catch (AwsServiceException ex) when (ex.ErrorCode == "ResourceExistsException")
                {
                    // Created since we described it (another writer, or a secret of that name
                    // appeared): decide on the secret as it is now, with the ownership check.
                    Log.SecretCreatedConcurrently(logger, name);
                    operation = "DescribeSecret";
                    existing = await client.DescribeSecretAsync(name, cancellationToken).ConfigureAwait(false)
                        ?? throw new AwsServiceException("CreateSecret", ex.ErrorCode, ex.AwsMessage, ex.StatusCode, retryable: true, ex.Attempts, ex.RequestId);
                }
            }

            if (Refusal(existing, write.Kind, resource) is { } refusal)
            {
                Log.SecretRefused(logger, name, refusal);
                throw new SecretStoreRejectedException(
                    $"Secrets Manager secret {name} {refusal}; Notary does not overwrite it. Give this {write.Kind} another name, or use another {SecretsManagerStoreOptions.SectionName}:Prefix.");
            }

            // By ARN from here on: a name ending in "-" and six characters could be read as a partial ARN.
            var secretArn = existing.Arn ?? name;
            if (existing.DeletedDate is not null)
            {
                operation = "RestoreSecret";
                await client.RestoreSecretAsync(secretArn, cancellationToken).ConfigureAwait(false);
                Log.SecretRestored(logger, name, write.Kind, resource);
            }

            operation = "PutSecretValue";
            await client.PutSecretValueAsync(secretArn, value, token, cancellationToken).ConfigureAwait(false);
            if (!Covers(existing.Tags, tags))
            {
                operation = "TagResource";
                await client.TagResourceAsync(secretArn, tags, cancellationToken).ConfigureAwait(false);
            }

            Log.SecretUpdated(logger, name, write.Kind, resource);
            return new StoredLocation(secretArn, secretArn);
        }
        catch (AwsServiceException ex)
        {
            Log.SecretCallFailed(logger, operation, name, ex.ErrorCode);
            // AWS words its errors without secret values: safe for the store's condition.
            throw new SecretStoreFailedException($"Secrets Manager {operation} of {name} failed: {ex.Message}", ex);
        }
    }

    public async Task<bool> DeleteAsync(ResourceKey resource, ResourceKind kind, CancellationToken cancellationToken)
    {
        var name = SecretName(resource);
        var operation = "DescribeSecret";
        try
        {
            var existing = await client.DescribeSecretAsync(name, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                Log.SecretAlreadyGone(logger, name, kind, resource);
                return false;
            }

            if (Refusal(existing, kind, resource) is { } refusal)
            {
                Log.SecretNotOurs(logger, name, kind, resource, refusal);
                return false;
            }

            if (existing.DeletedDate is not null)
            {
                // A second DeleteSecret would fail with InvalidRequestException: the deletion stands.
                Log.SecretAlreadyScheduled(logger, name, kind, resource);
                return true;
            }

            var secretArn = existing.Arn ?? name;
            var days = options.Value.RecoveryWindowDays;
            try
            {
                operation = "DeleteSecret";
                await client.DeleteSecretAsync(secretArn, days, cancellationToken).ConfigureAwait(false);
            }
            catch (AwsServiceException ex) when (ex.ErrorCode == "ResourceNotFoundException")
            {
                Log.SecretAlreadyGone(logger, name, kind, resource);
                return false;
            }
            catch (AwsServiceException ex) when (ex.ErrorCode == "InvalidRequestException")
            {
                // Marked for deletion already, e.g. by our own attempt whose answer was lost.
                operation = "DescribeSecret";
                var now = await client.DescribeSecretAsync(secretArn, cancellationToken).ConfigureAwait(false);
                if (now?.DeletedDate is null)
                {
                    throw;
                }
            }

            Log.SecretDeleted(logger, name, kind, resource, days);
            return true;
        }
        catch (AwsServiceException ex)
        {
            Log.SecretCallFailed(logger, operation, name, ex.ErrorCode);
            throw;
        }
    }

    /// <summary>The tags that mark a secret as this store's.</summary>
    public static IReadOnlyList<AwsTag> TagsFor(StoreWrite write) =>
    [
        new(ManagedByTag, ManagedByValue),
        new(NamespaceTag, write.Resource.Namespace),
        new(NameTag, write.Resource.Name),
        new(KindTag, write.Kind.ToString()),
        new(FqdnTag, write.Fqdn),
    ];

    /// <summary>
    /// Why the existing secret is not this store's to overwrite or delete; null when it is. Only a
    /// secret tagged as exactly this store qualifies: managed by Notary, for this namespace, name
    /// and kind. A secret someone made by hand under Notary's prefix is left alone.
    /// </summary>
    internal static string? Refusal(DescribeSecretResponse existing, ResourceKind kind, ResourceKey resource)
    {
        var tags = (existing.Tags ?? []).GroupBy(tag => tag.Key, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.Last().Value ?? "", StringComparer.Ordinal);
        if (!tags.TryGetValue(ManagedByTag, out var managedBy) || managedBy != ManagedByValue)
        {
            return $"exists and is not managed by Notary (its tag {ManagedByTag} is not \"{ManagedByValue}\")";
        }

        tags.TryGetValue(NamespaceTag, out var ns);
        tags.TryGetValue(NameTag, out var name);
        if (ns != resource.Namespace || name != resource.Name)
        {
            return $"is managed by Notary for another resource ({ns ?? "?"}/{name ?? "?"})";
        }

        if (!tags.TryGetValue(KindTag, out var existingKind) || existingKind != kind.ToString())
        {
            return existingKind is null ? "is managed by Notary but holds no store" : $"holds the {existingKind} of that name";
        }

        return null;
    }

    private static bool Covers(IReadOnlyList<AwsTag>? existing, IReadOnlyList<AwsTag> wanted)
    {
        var have = (existing ?? []).ToLookup(tag => tag.Key, tag => tag.Value ?? "", StringComparer.Ordinal);
        return wanted.All(tag => have[tag.Key].Contains(tag.Value ?? "", StringComparer.Ordinal));
    }
}
