using System.Runtime.CompilerServices;
using k8s;
using k8s.Models;

namespace Notary.Watcher;

/// <summary>
/// ConfigMaps of all namespaces, as metadata only (PartialObjectMetadata, like
/// <see cref="SecretSource"/>): the watcher needs to know that a ConfigMap a Truststore's
/// <c>spec.sources</c> names changed, never what it holds; the grain reads the one ConfigMap it
/// names with a GET (KubernetesTrustSourceReader). Everything but the identity is dropped on arrival.
/// </summary>
internal sealed class ConfigMapSource(IKubernetes client, TimeSpan watchTimeout) : IResourceSource<V1ConfigMap>
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> ListHeaders =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["Accept"] = [SecretSource.ListAccept] };

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> WatchHeaders =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["Accept"] = [SecretSource.WatchAccept] };

    private const string PartialKind = "PartialObjectMetadata";

    public string Name => "configmaps";

    public async Task<ResourceList<V1ConfigMap>> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<WatchItem<V1ConfigMap>>();
        string? next = null;
        string? resourceVersion;
        do
        {
            using var response = await client.CoreV1.ListConfigMapForAllNamespacesWithHttpMessagesAsync(
                continueParameter: next, limit: ResourceSources.PageSize, customHeaders: ListHeaders, cancellationToken: cancellationToken).ConfigureAwait(false);
            var page = response.Body;
            if (page.Kind != "PartialObjectMetadataList")
            {
                throw new InvalidOperationException($"The API server answered a metadata-only list of ConfigMaps with a {page.Kind ?? "list of unknown kind"}; Notary reads ConfigMaps as metadata only.");
            }

            resourceVersion = page.Metadata?.ResourceVersion;
            next = page.Metadata?.ContinueProperty;
            items.AddRange((page.Items ?? []).Select(configMap => Read(WatchEventType.Added, configMap.Metadata)));
        }
        while (!string.IsNullOrEmpty(next));

        return new ResourceList<V1ConfigMap>(items, resourceVersion ?? throw new InvalidOperationException("The list of ConfigMaps carries no resourceVersion."));
    }

    public async IAsyncEnumerable<WatchItem<V1ConfigMap>> WatchAsync(string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var response = client.CoreV1.ListConfigMapForAllNamespacesWithHttpMessagesAsync(
            allowWatchBookmarks: true,
            resourceVersion: resourceVersion,
            timeoutSeconds: ResourceSources.WatchTimeoutSeconds(watchTimeout),
            watch: true,
            customHeaders: WatchHeaders,
            cancellationToken: cancellationToken);

        // As SecretSource.WatchAsync: the generated watch takes no Accept header.
#pragma warning disable CS0618
        var events = response.WatchAsync<V1ConfigMap, V1ConfigMapList>(onError, cancellationToken);
#pragma warning restore CS0618
        await foreach (var (type, partial) in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (type != WatchEventType.Bookmark && partial?.Kind != PartialKind)
            {
                throw new InvalidOperationException(
                    $"The API server answered the metadata-only watch of ConfigMaps with a {type} event carrying a {partial?.Kind ?? "object of unknown kind"}"
                    + $" ({partial?.Metadata?.NamespaceProperty}/{partial?.Metadata?.Name}), not {PartialKind}: refused and not forwarded, as Notary reads ConfigMaps as metadata only.");
            }

            yield return Read(type, partial?.Metadata);
        }
    }

    private static WatchItem<V1ConfigMap> Read(WatchEventType type, V1ObjectMeta? metadata)
    {
        if (type == WatchEventType.Bookmark)
        {
            return new WatchItem<V1ConfigMap>(type, null, null, metadata?.ResourceVersion, null);
        }

        var identity = new V1ConfigMap
        {
            Metadata = new V1ObjectMeta
            {
                Name = metadata?.Name,
                NamespaceProperty = metadata?.NamespaceProperty,
                Uid = metadata?.Uid,
                ResourceVersion = metadata?.ResourceVersion,
            },
        };
        var key = metadata?.Name is null ? null : $"{metadata.NamespaceProperty}/{metadata.Name}";
        return new WatchItem<V1ConfigMap>(type, identity, key, metadata?.ResourceVersion, null);
    }
}
