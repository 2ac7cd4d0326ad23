using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="ICertificatePolicyStatusWriter"/>: replaces the status subresource of a
/// CertificatePolicy (cluster-scoped) with its Ready condition. A policy that is gone has no status
/// to write: not an error.
/// </summary>
public sealed class KubernetesCertificatePolicyStatusWriter(IKubernetes client, IOptions<NotaryKubernetesOptions> options) : ICertificatePolicyStatusWriter
{
    public async Task WriteAsync(string name, StatusCondition ready, long observedGeneration, CancellationToken cancellationToken)
    {
        var status = new CertificatePolicyStatus { ObservedGeneration = observedGeneration, Conditions = [ResourceMapping.ToModel(ready)] };
        var patch = new JsonArray(new JsonObject
        {
            ["op"] = "add",
            ["path"] = "/status",
            ["value"] = JsonNode.Parse(KubernetesJson.Serialize(status)),
        });
        try
        {
            await client.CustomObjects.PatchClusterCustomObjectStatusAsync(
                new V1Patch(patch.ToJsonString(), V1Patch.PatchType.JsonPatch),
                NotaryResources.Group,
                NotaryResources.Version,
                CertificatePolicy.KubePluralName,
                name,
                fieldManager: options.Value.Component,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Writing the status of CertificatePolicy {name}");
        }
    }
}
