using k8s;
using k8s.Autorest;
using k8s.Models;
using Notary.CustomResources;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Reading one of Notary's own Secrets (the built-in CA, the state keys): null when it is absent,
/// any other API error sanitized (KubernetesClient's exception carries the response body), so
/// that no Secret content reaches a log or a condition.
/// </summary>
internal static class SecretReads
{
    /// <summary>The Secret, or null when absent; <c>doing</c> names the step in a failure's message.</summary>
    public static async Task<V1Secret?> ReadSecretOrNullAsync(this IKubernetes client, string @namespace, string name, string doing, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, doing);
        }
    }
}
