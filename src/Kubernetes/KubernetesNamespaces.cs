using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Notary.Kubernetes;

/// <summary>Creates Notary's own namespace when it is missing (dev mode; the chart creates it in production).</summary>
public static class KubernetesNamespaces
{
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

        try
        {
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } }, cancellationToken: cancellationToken).ConfigureAwait(false);
            Log.NamespaceCreated(logger, name);
        }
        catch (HttpOperationException ex) when (ex.IsConflict())
        {
            // Created by another instance meanwhile.
        }
    }
}
