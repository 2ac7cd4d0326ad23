using System.Net;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>
/// Puts Notary's finalizer (notary.dev/cleanup) on its resources and takes it off once the
/// cleanup is done. Each change is a JSON patch guarded by "test" operations (same uid; same
/// resourceVersion or the same entry at the index), so a finalizer another controller added or
/// removed meanwhile is never lost and a re-created object of the same name is never touched: on
/// such a conflict the object is read again and the patch recomputed.
/// </summary>
public sealed class ResourceFinalizers(IKubernetes client, IOptions<NotaryKubernetesOptions> options, ILogger<ResourceFinalizers> logger)
{
    public const string Finalizer = NotaryResources.CleanupFinalizer;

    private const int MaxAttempts = 5;

    public static bool Has(V1ObjectMeta? metadata) => metadata?.Finalizers?.Contains(Finalizer) == true;

    /// <summary>
    /// Ensures the finalizer is on the object. False when the object is gone, re-created, or
    /// already being deleted (the API server accepts no new finalizers then).
    /// </summary>
    public Task<bool> AddAsync(ResourceKind kind, ResourceKey resource, V1ObjectMeta metadata, CancellationToken cancellationToken) =>
        PatchAsync(kind.ToString(), ResourceKinds.Plural(kind), resource, metadata, add: true, cancellationToken);

    /// <summary>Ensures the finalizer is off the object. False when the object is gone or re-created.</summary>
    public Task<bool> RemoveAsync(ResourceKind kind, ResourceKey resource, V1ObjectMeta metadata, CancellationToken cancellationToken) =>
        PatchAsync(kind.ToString(), ResourceKinds.Plural(kind), resource, metadata, add: false, cancellationToken);

    /// <summary>As <see cref="AddAsync"/> and <see cref="RemoveAsync"/>, for a Breach (not a <see cref="ResourceKind"/>: no store, no status of the grains' kind).</summary>
    public Task<bool> PatchBreachAsync(ResourceKey breach, V1ObjectMeta metadata, bool add, CancellationToken cancellationToken) =>
        PatchAsync(Breach.KubeKind, NotaryResources.BreachPlural, breach, metadata, add, cancellationToken);

    private async Task<bool> PatchAsync(string kind, string plural, ResourceKey resource, V1ObjectMeta metadata, bool add, CancellationToken cancellationToken)
    {
        var uid = metadata.Uid;
        V1ObjectMeta? current = metadata;
        for (var attempt = 1; ; attempt++)
        {
            if (Has(current) == add)
            {
                return true;
            }

            if (add && current.DeletionTimestamp is not null)
            {
                return false;
            }

            try
            {
                await client.CustomObjects.PatchNamespacedCustomObjectAsync(
                    new V1Patch(Operations(current, add).ToJsonString(), V1Patch.PatchType.JsonPatch),
                    NotaryResources.Group,
                    NotaryResources.Version,
                    resource.Namespace,
                    plural,
                    resource.Name,
                    fieldManager: options.Value.Component,
                    cancellationToken: cancellationToken).ConfigureAwait(false);
                if (add)
                {
                    Log.FinalizerAdded(logger, Finalizer, kind, resource);
                }
                else
                {
                    Log.FinalizerRemoved(logger, Finalizer, kind, resource);
                }

                return true;
            }
            catch (HttpOperationException ex) when (ex.IsNotFound())
            {
                return false;
            }
            catch (HttpOperationException ex) when ((ex.IsConflict() || ex.Is(HttpStatusCode.UnprocessableEntity)) && attempt < MaxAttempts)
            {
                // A "test" failed: the object changed since it was read.
                Log.FinalizerConflict(logger, kind, resource, attempt);
                current = await ReadMetadataAsync(plural, resource, cancellationToken).ConfigureAwait(false);
                if (current is null || current.Uid != uid)
                {
                    return false;
                }
            }
        }
    }

    private static JsonArray Operations(V1ObjectMeta metadata, bool add)
    {
        var operations = new JsonArray { Test("/metadata/uid", metadata.Uid) };
        if (add)
        {
            // Appending keeps other finalizers; the resourceVersion test keeps a concurrent change from being lost.
            operations.Add(Test("/metadata/resourceVersion", metadata.ResourceVersion));
            operations.Add(metadata.Finalizers is { Count: > 0 }
                ? new JsonObject { ["op"] = "add", ["path"] = "/metadata/finalizers/-", ["value"] = Finalizer }
                : new JsonObject { ["op"] = "add", ["path"] = "/metadata/finalizers", ["value"] = new JsonArray(Finalizer) });
        }
        else
        {
            var index = metadata.Finalizers!.IndexOf(Finalizer);
            operations.Add(Test($"/metadata/finalizers/{index}", Finalizer));
            operations.Add(new JsonObject { ["op"] = "remove", ["path"] = $"/metadata/finalizers/{index}" });
        }

        return operations;
    }

    private static JsonObject Test(string path, string? value) => new() { ["op"] = "test", ["path"] = path, ["value"] = value };

    private async Task<V1ObjectMeta?> ReadMetadataAsync(string plural, ResourceKey resource, CancellationToken cancellationToken)
    {
        try
        {
            var found = await client.CustomObjects.GetNamespacedCustomObjectAsync(
                NotaryResources.Group, NotaryResources.Version, resource.Namespace, plural, resource.Name, cancellationToken).ConfigureAwait(false);
            return KubernetesJson.Deserialize<MetadataOnly>(KubernetesJson.Serialize(found)).Metadata;
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            return null;
        }
    }

    private sealed class MetadataOnly
    {
        [JsonPropertyName("metadata")]
        public V1ObjectMeta? Metadata { get; set; }
    }
}
