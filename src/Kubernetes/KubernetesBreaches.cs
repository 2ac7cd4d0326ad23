using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for the Breach ports: the breach grain's progress written to the Breach's status
/// (<see cref="IBreachStatusWriter"/>), and the HTTP API's Breach objects (<see cref="IBreachObjects"/>:
/// created on the caller's behalf with status.requestedBy, read, deleted). Status writes are JSON
/// merge patches of the fields the grain owns, so that the requestedBy the API writes right after
/// creating the object is never lost to a grain write that raced it.
/// </summary>
public sealed class KubernetesBreaches(
    IKubernetes client,
    IOptions<NotaryKubernetesOptions> options,
    ILogger<KubernetesBreaches> logger) : IBreachStatusWriter, IBreachObjects
{
    public async Task WriteBreachStatusAsync(ResourceKey breach, string uid, BreachReport report, CancellationToken cancellationToken)
    {
        // Only the incarnation the report belongs to (a Breach deleted and created again under the
        // same name is another breach, whose grain writes its own status).
        var current = await GetAsync(breach, cancellationToken).ConfigureAwait(false);
        if (current is null || current.Uid != uid)
        {
            Log.BreachGone(logger, breach);
            return;
        }

        await PatchStatusAsync(breach, BreachMapping.ToStatusPatch(report), cancellationToken).ConfigureAwait(false);
        Log.BreachStatusWritten(logger, breach);
    }

    public async Task<BreachObject> CreateAsync(ResourceKey breach, BreachRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new Breach
        {
            Metadata = new V1ObjectMeta { Name = breach.Name, NamespaceProperty = breach.Namespace },
            Spec = new BreachSpec
            {
                Certificate = request.Certificate.Name,
                Mode = BreachMapping.ModeName(request.Mode),
                Reason = request.Reason,
                DryRun = false,
            },
        };
        var created = Read(await client.CustomObjects.CreateNamespacedCustomObjectAsync(
            body, NotaryResources.Group, NotaryResources.Version, breach.Namespace, NotaryResources.BreachPlural,
            fieldManager: options.Value.Component, cancellationToken: cancellationToken).ConfigureAwait(false));

        // Notary writes who asked (the status subresource ignores a status sent with the create).
        await PatchStatusAsync(breach, new JsonObject { ["status"] = new JsonObject { ["requestedBy"] = request.RequestedBy } }, cancellationToken).ConfigureAwait(false);
        created.Status ??= new BreachStatus();
        created.Status.RequestedBy = request.RequestedBy;
        return ToObject(created);
    }

    public async Task<BreachObject?> GetAsync(ResourceKey breach, CancellationToken cancellationToken)
    {
        try
        {
            var found = await client.CustomObjects.GetNamespacedCustomObjectAsync(
                NotaryResources.Group, NotaryResources.Version, breach.Namespace, NotaryResources.BreachPlural, breach.Name, cancellationToken).ConfigureAwait(false);
            return ToObject(Read(found));
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            return null;
        }
    }

    public async Task<bool> DeleteAsync(ResourceKey breach, string? uid, CancellationToken cancellationToken)
    {
        try
        {
            // The uid precondition: a Breach deleted and created again meanwhile (another incarnation) is not deleted.
            await client.CustomObjects.DeleteNamespacedCustomObjectAsync(
                NotaryResources.Group, NotaryResources.Version, breach.Namespace, NotaryResources.BreachPlural, breach.Name,
                body: uid is null ? null : new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = uid } },
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException ex) when (ex.IsNotFound() || ex.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    private Task<object> PatchStatusAsync(ResourceKey breach, JsonObject patch, CancellationToken cancellationToken) =>
        client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
            NotaryResources.Group,
            NotaryResources.Version,
            breach.Namespace,
            NotaryResources.BreachPlural,
            breach.Name,
            fieldManager: options.Value.Component,
            cancellationToken: cancellationToken);

    private static Breach Read(object value) => KubernetesJson.Deserialize<Breach>(KubernetesJson.Serialize(value));

    private static BreachObject ToObject(Breach breach) =>
        new(ResourceMapping.KeyOf(breach), breach.Metadata.Uid ?? string.Empty, BreachMapping.ToReport(breach), breach.Metadata.DeletionTimestamp is not null);
}
