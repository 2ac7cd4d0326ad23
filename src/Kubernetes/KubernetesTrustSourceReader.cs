using System.Text;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="ITrustSourceReader"/>: one GET of the named ConfigMap or Secret in the
/// Truststore's own namespace (never a list, never another namespace), handing back the text under
/// the key unparsed; defaultCAs reads <see cref="TrustSourceOptions.DefaultCAsPath"/>. A missing
/// object or key is an answer, not an error; any other failure is thrown without contents.
/// </summary>
public sealed class KubernetesTrustSourceReader(IKubernetes client, IOptions<TrustSourceOptions> options) : ITrustSourceReader
{
    public async Task<TrustSourceContent> ReadAsync(string truststoreNamespace, TrustSourceSpec source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        switch (source.Kind)
        {
            case TrustSourceKinds.ConfigMap:
                return await ReadConfigMapAsync(truststoreNamespace, source.Name ?? string.Empty, source.Key ?? string.Empty, cancellationToken).ConfigureAwait(false);
            case TrustSourceKinds.Secret:
                return await ReadSecretAsync(truststoreNamespace, source.Name ?? string.Empty, source.Key ?? string.Empty, cancellationToken).ConfigureAwait(false);
            case TrustSourceKinds.DefaultCAs:
                var path = options.Value.DefaultCAsPath;
                return File.Exists(path)
                    ? new TrustSourceContent(TrustSourceReadOutcome.Found, await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false))
                    : new TrustSourceContent(TrustSourceReadOutcome.ObjectMissing, null);
            case TrustSourceKinds.Inline:
                return new TrustSourceContent(TrustSourceReadOutcome.Found, source.Inline ?? string.Empty);
            default:
                throw new ArgumentException($"Trust source kind \"{source.Kind}\" cannot be read.", nameof(source));
        }
    }

    private async Task<TrustSourceContent> ReadConfigMapAsync(string @namespace, string name, string key, CancellationToken cancellationToken)
    {
        try
        {
            var configMap = await client.CoreV1.ReadNamespacedConfigMapAsync(name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (configMap.Data is not null && configMap.Data.TryGetValue(key, out var text) && text is not null)
            {
                return new TrustSourceContent(TrustSourceReadOutcome.Found, text);
            }

            return configMap.BinaryData is not null && configMap.BinaryData.TryGetValue(key, out var bytes) && bytes is not null
                ? new TrustSourceContent(TrustSourceReadOutcome.Found, Encoding.UTF8.GetString(bytes))
                : new TrustSourceContent(TrustSourceReadOutcome.KeyMissing, null);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            return new TrustSourceContent(TrustSourceReadOutcome.ObjectMissing, null);
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Reading ConfigMap {@namespace}/{name}");
        }
    }

    private async Task<TrustSourceContent> ReadSecretAsync(string @namespace, string name, string key, CancellationToken cancellationToken)
    {
        try
        {
            var secret = await client.CoreV1.ReadNamespacedSecretAsync(name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return secret.Data is not null && secret.Data.TryGetValue(key, out var bytes) && bytes is not null
                ? new TrustSourceContent(TrustSourceReadOutcome.Found, Encoding.UTF8.GetString(bytes))
                : new TrustSourceContent(TrustSourceReadOutcome.KeyMissing, null);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            return new TrustSourceContent(TrustSourceReadOutcome.ObjectMissing, null);
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Reading Secret {@namespace}/{name}");
        }
    }
}
