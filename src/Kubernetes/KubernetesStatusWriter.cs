using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using NotaryResources = Notary.CustomResources.Models.NotaryResources;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="IStatusWriter"/>: publishes a grain's status as the status subresource
/// of its Certificate, Keystore or Truststore. The grain owns the whole status, so each write
/// replaces it (a JSON patch "add /status"): a field the grain no longer reports, or a tag it
/// dropped, disappears, which a merge patch would have kept. A resource that is gone has no
/// status to write; that is logged at debug level, not thrown.
/// </summary>
public sealed class KubernetesStatusWriter(
    IKubernetes client,
    IOptions<NotaryKubernetesOptions> options,
    ILogger<KubernetesStatusWriter> logger) : IStatusWriter
{
    public Task WriteCertificateStatusAsync(ResourceKey resource, CertificateStatus status, CancellationToken cancellationToken) =>
        WriteAsync(resource, ResourceKind.Certificate, ResourceMapping.ToModel(status), cancellationToken);

    public Task WriteStoreStatusAsync(ResourceKey resource, ResourceKind kind, StoreStatus status, CancellationToken cancellationToken) => kind switch
    {
        ResourceKind.Keystore => WriteAsync(resource, kind, ResourceMapping.ToKeystoreModel(status), cancellationToken),
        ResourceKind.Truststore => WriteAsync(resource, kind, ResourceMapping.ToTruststoreModel(status), cancellationToken),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "store status belongs to a Keystore or a Truststore"),
    };

    private async Task WriteAsync<TStatus>(ResourceKey resource, ResourceKind kind, TStatus status, CancellationToken cancellationToken)
    {
        var patch = new JsonArray(new JsonObject
        {
            ["op"] = "add",
            ["path"] = "/status",
            ["value"] = JsonNode.Parse(KubernetesJson.Serialize(status)),
        });
        try
        {
            await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                new V1Patch(patch.ToJsonString(), V1Patch.PatchType.JsonPatch),
                NotaryResources.Group,
                NotaryResources.Version,
                resource.Namespace,
                ResourceKinds.Plural(kind),
                resource.Name,
                fieldManager: options.Value.Component,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            Log.StatusWritten(logger, kind, resource);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            Log.StatusTargetGone(logger, kind, resource);
        }
    }
}
