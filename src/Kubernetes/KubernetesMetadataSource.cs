using System.Text;
using k8s;
using k8s.Autorest;
using Notary.CustomResources;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="IServiceMetadataSource"/>: reads a service's metadata Secret and
/// hands back the text under <c>metadata.json</c>, unparsed (the grain reports what is wrong
/// with it). A missing Secret is an answer, not an error; any other failure is thrown, described
/// without the Secret's contents.
/// </summary>
public sealed class KubernetesMetadataSource(IKubernetes client) : IServiceMetadataSource
{
    public const string MetadataKey = "metadata.json";

    public async Task<MetadataSecretContent> ReadAsync(string @namespace, string secretName, CancellationToken cancellationToken)
    {
        try
        {
            var secret = await client.CoreV1.ReadNamespacedSecretAsync(secretName, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return secret.Data is not null && secret.Data.TryGetValue(MetadataKey, out var bytes) && bytes is not null
                ? new MetadataSecretContent(true, Encoding.UTF8.GetString(bytes))
                : new MetadataSecretContent(true, null);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            return new MetadataSecretContent(false, null);
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Reading Secret {@namespace}/{secretName}");
        }
    }
}
