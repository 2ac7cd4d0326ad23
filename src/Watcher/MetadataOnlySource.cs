using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Notary.Watcher;

/// <summary>
/// A core resource of all namespaces (Secrets, ConfigMaps), as metadata only: the watcher needs
/// to know that such an object changed and whose it is, never what it holds. The list and the
/// watch ask the API server for PartialObjectMetadata (as client-go's metadata informers do), so
/// no object's data ever reaches Notary's process: a cluster full of large Secrets costs the
/// watcher a few hundred bytes each, not their size. The one object a grain needs is read on its
/// own, by that grain (a GET: KubernetesMetadataSource, KubernetesTrustSourceReader). There is no
/// fallback to full objects: an API server that cannot serve metadata answers 406 and the
/// watcher reports it, rather than silently reading every Secret in the cluster. Annotations
/// arrive too (kubectl's last-applied annotation of an object applied with kubectl holds its
/// data): everything but the identity the caller keeps (<c>identity</c>) is dropped on arrival.
/// Lists are paged; the watch resumes from a resourceVersion with bookmarks, and its ERROR
/// events (410 Gone among them) reach the informer, which relists.
/// </summary>
/// <param name="name">The resource's plural, for log lines ("secrets").</param>
/// <param name="kinds">The kind's plural in messages ("Secrets").</param>
/// <param name="list">The generated list call of the resource across all namespaces (it also watches, with <c>watch: true</c>).</param>
/// <param name="identity">What is kept of an object's metadata; the rest is dropped.</param>
/// <param name="watchTimeout">How long the server keeps a watch open (to twice that, see <see cref="ResourceSources.WatchTimeoutSeconds"/>).</param>
internal sealed class MetadataOnlySource<T, TList>(
    string name,
    string kinds,
    MetadataOnlySource<T, TList>.ListCall list,
    Func<V1ObjectMeta, T> identity,
    TimeSpan watchTimeout) : IResourceSource<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TList : class, IKubernetesObject<V1ListMeta>, IItems<T>
{
    /// <summary>A generated <c>List…ForAllNamespacesWithHttpMessagesAsync</c>, with the arguments Notary passes.</summary>
    public delegate Task<HttpOperationResponse<TList>> ListCall(
        string? continueParameter,
        int? limit,
        string? resourceVersion,
        int? timeoutSeconds,
        bool? watch,
        IReadOnlyDictionary<string, IReadOnlyList<string>> customHeaders,
        CancellationToken cancellationToken);

    public string Name => name;

    public async Task<ResourceList<T>> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<WatchItem<T>>();
        string? next = null;
        string? resourceVersion;
        do
        {
            // The generated call reads the answer as the resource's list type: a
            // PartialObjectMetadataList has the same shape with metadata alone in each item.
            using var response = await list(next, ResourceSources.PageSize, null, null, null, MetadataOnly.ListHeaders, cancellationToken).ConfigureAwait(false);
            var page = response.Body;
            if (page.Kind != MetadataOnly.ListKind)
            {
                throw new InvalidOperationException($"The API server answered a metadata-only list of {kinds} with a {page.Kind ?? "list of unknown kind"}; Notary reads {kinds} as metadata only.");
            }

            resourceVersion = page.Metadata?.ResourceVersion;
            next = page.Metadata?.ContinueProperty;
            items.AddRange((page.Items ?? []).Select(item => Read(WatchEventType.Added, item.Metadata)));
        }
        while (!string.IsNullOrEmpty(next));

        return new ResourceList<T>(items, resourceVersion ?? throw new InvalidOperationException($"The list of {kinds} carries no resourceVersion."));
    }

    public async IAsyncEnumerable<WatchItem<T>> WatchAsync(string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var response = list(null, null, resourceVersion, ResourceSources.WatchTimeoutSeconds(watchTimeout), true, MetadataOnly.WatchHeaders, cancellationToken);

        // The generated Watch…ForAllNamespacesAsync is exactly this call without the Accept header
        // (it takes no custom headers); KubernetesClient marks the extension it uses obsolete only
        // to steer callers to the generated methods. Each event's PartialObjectMetadata is read as
        // a T, which it fits (metadata alone; KubernetesClient has no model of it).
#pragma warning disable CS0618
        var events = response.WatchAsync<T, TList>(onError, cancellationToken);
#pragma warning restore CS0618
        await foreach (var (type, partial) in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            // As the list is checked, so is every event: a server or a proxy that drops the Accept
            // header's as= would otherwise stream full objects, data included, without a word. Such
            // an event is refused before anything reads it; the informer logs a warning and
            // restarts the watch (with backoff), and it is never forwarded. A bookmark carries
            // nothing but a resourceVersion, whatever its kind.
            if (type != WatchEventType.Bookmark && partial?.Kind != MetadataOnly.Kind)
            {
                throw new InvalidOperationException(NotMetadata(type, partial));
            }

            yield return Read(type, partial?.Metadata);
        }
    }

    /// <summary>Why an event is refused: its type, kind and identity, never its content.</summary>
    internal string NotMetadata(WatchEventType type, T? received) =>
        $"The API server answered the metadata-only watch of {kinds} with a {type} event carrying a {received?.Kind ?? "object of unknown kind"}"
        + $" ({received?.Metadata?.NamespaceProperty}/{received?.Metadata?.Name}), not {MetadataOnly.Kind}: refused and not forwarded, as Notary reads {kinds} as metadata only;"
        + " is a proxy between Notary and the API server dropping the Accept header's as=PartialObjectMetadata?";

    private WatchItem<T> Read(WatchEventType type, V1ObjectMeta? metadata)
    {
        if (type == WatchEventType.Bookmark || metadata is null)
        {
            return new WatchItem<T>(type, null, null, metadata?.ResourceVersion, null);
        }

        var key = metadata.Name is null ? null : $"{metadata.NamespaceProperty}/{metadata.Name}";
        return new WatchItem<T>(type, identity(metadata), key, metadata.ResourceVersion, null);
    }
}

/// <summary>The metadata-only sources the watch session runs, and the media types they ask for.</summary>
internal static class MetadataOnly
{
    /// <summary>A list answered as PartialObjectMetadataList (JSON: KubernetesClient reads no protobuf).</summary>
    public const string ListAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

    /// <summary>A watch whose every event carries a PartialObjectMetadata.</summary>
    public const string WatchAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

    public const string Kind = "PartialObjectMetadata";

    public const string ListKind = "PartialObjectMetadataList";

    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> ListHeaders =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["Accept"] = [ListAccept] };

    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> WatchHeaders =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["Accept"] = [WatchAccept] };

    /// <summary>
    /// Secrets: their identity and labels (labels say whose store a Secret holds, so that a
    /// deleted one is written again). The Secret a store or an issuer names is read by a GET.
    /// </summary>
    public static MetadataOnlySource<V1Secret, V1SecretList> Secrets(IKubernetes client, TimeSpan watchTimeout) => new(
        "secrets",
        "Secrets",
        (next, limit, resourceVersion, timeoutSeconds, watch, headers, cancellationToken) => client.CoreV1.ListSecretForAllNamespacesWithHttpMessagesAsync(
            allowWatchBookmarks: watch,
            continueParameter: next,
            limit: limit,
            resourceVersion: resourceVersion,
            timeoutSeconds: timeoutSeconds,
            watch: watch,
            customHeaders: headers,
            cancellationToken: cancellationToken),
        metadata => new V1Secret { Metadata = Identity(metadata, metadata.Labels) },
        watchTimeout);

    /// <summary>
    /// ConfigMaps: their identity alone. The watcher needs to know that a ConfigMap a Truststore's
    /// <c>spec.sources</c> names changed; the grain reads the one it names (KubernetesTrustSourceReader).
    /// </summary>
    public static MetadataOnlySource<V1ConfigMap, V1ConfigMapList> ConfigMaps(IKubernetes client, TimeSpan watchTimeout) => new(
        "configmaps",
        "ConfigMaps",
        (next, limit, resourceVersion, timeoutSeconds, watch, headers, cancellationToken) => client.CoreV1.ListConfigMapForAllNamespacesWithHttpMessagesAsync(
            allowWatchBookmarks: watch,
            continueParameter: next,
            limit: limit,
            resourceVersion: resourceVersion,
            timeoutSeconds: timeoutSeconds,
            watch: watch,
            customHeaders: headers,
            cancellationToken: cancellationToken),
        metadata => new V1ConfigMap { Metadata = Identity(metadata, labels: null) },
        watchTimeout);

    private static V1ObjectMeta Identity(V1ObjectMeta metadata, IDictionary<string, string>? labels) => new()
    {
        Name = metadata.Name,
        NamespaceProperty = metadata.NamespaceProperty,
        Uid = metadata.Uid,
        ResourceVersion = metadata.ResourceVersion,
        Labels = labels,
    };
}
