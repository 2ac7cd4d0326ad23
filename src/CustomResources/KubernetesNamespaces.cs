using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Notary.CustomResources;

/// <summary>Creates Notary's own namespace when it is missing (dev mode; the chart creates it in production).</summary>
public static class KubernetesNamespaces
{
    /// <summary>
    /// Creates the namespace when it is missing. Without the right to read namespaces (the
    /// chart's RBAC need not grant it) the namespace is assumed to exist: a later write into a
    /// missing one fails with its own clear error.
    /// </summary>
    public static async Task EnsureAsync(IKubernetes client, string name, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await client.CoreV1.ReadNamespaceAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
        }
        catch (HttpOperationException ex) when (ex.Is(HttpStatusCode.Forbidden))
        {
            return;
        }

        try
        {
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } }, cancellationToken: cancellationToken).ConfigureAwait(false);
            Log.NamespaceCreated(logger, name);
        }
        catch (HttpOperationException ex) when (ex.IsConflict())
        {
            // Created by another instance meanwhile.
        }
        catch (HttpOperationException ex)
        {
            throw new KubernetesApiException(ex.Response?.StatusCode, $"Namespace {name} does not exist and creating it failed: the API server answered {KubernetesApiErrors.Describe(ex)}. Create it, or set {NotaryKubernetesOptions.SectionName}:Namespace to an existing one.");
        }
    }
}
