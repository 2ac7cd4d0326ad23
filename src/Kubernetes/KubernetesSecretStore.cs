using System.Net;
using System.Security.Cryptography;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="ISecretStore"/>, SPEC "Kubernetes Secret store": each Keystore or
/// Truststore is kept in an Opaque Secret of the same name in its namespace, labelled as
/// Notary's, whose keys are the store's files. A write replaces the whole Secret in one update
/// (readers see the old or the new store, never a mix). A Secret of that name that Notary does
/// not manage, or that holds the other kind of store, is never overwritten nor deleted.
/// </summary>
public sealed class KubernetesSecretStore(
    IKubernetes client,
    IOptions<NotaryKubernetesOptions> options,
    ILogger<KubernetesSecretStore> logger) : ISecretStore
{
    public const string ManagedByLabel = SecretLabels.ManagedBy;
    public const string ManagedByValue = SecretLabels.ManagedByValue;
    public const string KindLabel = SecretLabels.Kind;
    public const string NameLabel = SecretLabels.Name;

    private const int MaxAttempts = 8;

    /// <summary>Where the store of <paramref name="resource"/> lives: its Secret's location, also used as its ARN.</summary>
    public static string LocationOf(ResourceKey resource) => $"k8s://{resource.Namespace}/secrets/{resource.Name}";

    public async Task<StoredLocation> PutAsync(StoreWrite write, CancellationToken cancellationToken)
    {
        var resource = write.Resource;
        var secretName = resource.ToString();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var existing = await ReadAsync(resource, cancellationToken).ConfigureAwait(false);
                if (existing is null)
                {
                    await client.CoreV1.CreateNamespacedSecretAsync(Build(write, null), resource.Namespace, fieldManager: options.Value.Component, cancellationToken: cancellationToken).ConfigureAwait(false);
                    Log.SecretCreated(logger, secretName, write.Kind, resource);
                }
                else
                {
                    if (Refusal(existing, write.Kind, resource.Name) is { } reason)
                    {
                        Log.SecretRefused(logger, secretName, reason);
                        throw new SecretStoreRejectedException($"Secret {secretName} {reason}; Notary does not overwrite it. Give this {write.Kind} another name.");
                    }

                    await client.CoreV1.ReplaceNamespacedSecretAsync(Build(write, existing), resource.Name, resource.Namespace, fieldManager: options.Value.Component, cancellationToken: cancellationToken).ConfigureAwait(false);
                    Log.SecretReplaced(logger, secretName, write.Kind, resource);
                }

                var location = LocationOf(resource);
                return new StoredLocation(location, location);
            }
            catch (HttpOperationException ex) when (ex.IsConflict() && attempt < MaxAttempts)
            {
                // Created or changed by someone else between the read and the write: read again,
                // after a short random pause so that writers racing each other spread out.
                Log.SecretConflict(logger, secretName, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(RandomNumberGenerator.GetInt32(5, 20 * attempt)), cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException ex) when (ex.Is(HttpStatusCode.UnprocessableEntity) || ex.Is(HttpStatusCode.RequestEntityTooLarge))
            {
                // Invalid or too large (a Secret holds at most 1 MiB): retrying cannot help.
                throw new SecretStoreRejectedException(KubernetesApiErrors.Sanitize(ex, $"Writing Secret {secretName}").Message);
            }
            catch (HttpOperationException ex)
            {
                throw KubernetesApiErrors.Sanitize(ex, $"Writing Secret {secretName}");
            }
        }
    }

    public async Task<bool> DeleteAsync(ResourceKey resource, ResourceKind kind, CancellationToken cancellationToken)
    {
        var secretName = resource.ToString();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var existing = await ReadAsync(resource, cancellationToken).ConfigureAwait(false);
                if (existing is null)
                {
                    Log.SecretAlreadyGone(logger, secretName, kind, resource);
                    return false;
                }

                if (Refusal(existing, kind, resource.Name) is { } reason)
                {
                    Log.SecretNotOurs(logger, secretName, kind, resource, reason);
                    return false;
                }

                // Preconditions: delete exactly the Secret that was checked, not one re-created since.
                await client.CoreV1.DeleteNamespacedSecretAsync(
                    resource.Name,
                    resource.Namespace,
                    new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = existing.Metadata.Uid, ResourceVersion = existing.Metadata.ResourceVersion } },
                    cancellationToken: cancellationToken).ConfigureAwait(false);
                Log.SecretDeleted(logger, secretName, kind, resource);
                return true;
            }
            catch (HttpOperationException ex) when (ex.IsNotFound())
            {
                Log.SecretAlreadyGone(logger, secretName, kind, resource);
                return false;
            }
            catch (HttpOperationException ex) when (ex.IsConflict() && attempt < MaxAttempts)
            {
                Log.SecretConflict(logger, secretName, attempt);
            }
            catch (HttpOperationException ex)
            {
                throw KubernetesApiErrors.Sanitize(ex, $"Deleting Secret {secretName}");
            }
        }
    }

    /// <summary>
    /// Why the existing Secret is not this store's to overwrite or delete; null when it is. Only
    /// a Secret labelled as exactly this store qualifies: managed by Notary, of this kind and (when
    /// the name fits a label) this name. Anything else, the built-in CA's Secret included, is not.
    /// </summary>
    private static string? Refusal(V1Secret existing, ResourceKind kind, string name)
    {
        var labels = existing.Metadata?.Labels;
        if (labels is null || !labels.TryGetValue(ManagedByLabel, out var managedBy) || managedBy != ManagedByValue)
        {
            return $"exists and is not managed by Notary (its label {ManagedByLabel} is not \"{ManagedByValue}\")";
        }

        if (!labels.TryGetValue(KindLabel, out var existingKind) || existingKind != kind.ToString())
        {
            return existingKind is null ? "is managed by Notary but holds no store" : $"holds the {existingKind} of that name";
        }

        if (labels.TryGetValue(NameLabel, out var existingName) && existingName != name)
        {
            return $"holds the {existingKind} \"{existingName}\"";
        }

        return null;
    }

    private async Task<V1Secret?> ReadAsync(ResourceKey resource, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(resource.Name, resource.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            return null;
        }
    }

    /// <summary>The Secret to write; replacing keeps the existing metadata (other labels, annotations, owners) and its resourceVersion.</summary>
    private static V1Secret Build(StoreWrite write, V1Secret? existing)
    {
        var metadata = existing?.Metadata ?? new V1ObjectMeta { Name = write.Resource.Name, NamespaceProperty = write.Resource.Namespace };
        metadata.Labels = new Dictionary<string, string>(metadata.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [ManagedByLabel] = ManagedByValue,
            [KindLabel] = write.Kind.ToString(),
        };

        // A label value has at most 63 characters; a longer name is still in the Secret's own name.
        if (KubernetesNames.IsLabelValue(write.Resource.Name))
        {
            metadata.Labels[NameLabel] = write.Resource.Name;
        }
        else
        {
            metadata.Labels.Remove(NameLabel);
        }

        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = metadata,
            Type = "Opaque",
            Data = write.Files.ToDictionary(file => file.Key, file => file.Value, StringComparer.Ordinal),
        };
    }
}
