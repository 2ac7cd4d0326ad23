using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using k8s;
using k8s.Models;
using Notary.CustomResources.Models;

namespace Notary.Watcher;

/// <summary>One object from a list or a watch. <see cref="Object"/> is null for a bookmark, or when the object could not be read (<see cref="Error"/>).</summary>
internal readonly record struct WatchItem<T>(WatchEventType Type, T? Object, string? Key, string? ResourceVersion, string? Error)
    where T : class;

internal sealed record ResourceList<T>(IReadOnlyList<WatchItem<T>> Items, string ResourceVersion)
    where T : class;

/// <summary>Lists and watches one resource type across all namespaces.</summary>
internal interface IResourceSource<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>e.g. "certificates.notary.dev", for log lines.</summary>
    string Name { get; }

    Task<ResourceList<T>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Watches from <paramref name="resourceVersion"/> with bookmarks. ERROR events (410 Gone
    /// among them) reach <paramref name="onError"/> as a <see cref="KubernetesException"/>.
    /// </summary>
    IAsyncEnumerable<WatchItem<T>> WatchAsync(string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken);
}

internal static class ResourceSources
{
    /// <summary>Lists are read in pages, as client-go's reflector does, so a large cluster is not one huge response.</summary>
    public const int PageSize = 500;

    /// <summary>
    /// KubernetesJson's own options (its converters for quantities, dates, int-or-string), taken
    /// once: KubernetesJson deserializes only from text, and every watch event is already a parsed element.
    /// </summary>
    public static JsonSerializerOptions KubernetesJsonOptions { get; } = CaptureKubernetesJsonOptions();

    private static JsonSerializerOptions CaptureKubernetesJsonOptions()
    {
        JsonSerializerOptions? options = null;
        KubernetesJson.AddJsonOptions(o => options = o);
        return options ?? throw new InvalidOperationException("KubernetesJson did not hand out its serializer options.");
    }

    /// <summary>Between the timeout and twice it, so that many watches do not all end together.</summary>
    public static int WatchTimeoutSeconds(TimeSpan timeout)
    {
        var seconds = Math.Max(1, (int)timeout.TotalSeconds);
        return seconds + RandomNumberGenerator.GetInt32(0, seconds + 1);
    }
}

/// <summary>A Notary custom resource, read as JSON first so that one object the model cannot read is skipped alone.</summary>
internal sealed class CustomResourceSource<T>(IKubernetes client, string plural, TimeSpan watchTimeout) : IResourceSource<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    public string Name => $"{plural}.{NotaryResources.Group}";

    public async Task<ResourceList<T>> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<WatchItem<T>>();
        string? next = null;
        string? resourceVersion;
        do
        {
            var page = ToElement(await client.CustomObjects.ListClusterCustomObjectAsync(
                NotaryResources.Group, NotaryResources.Version, plural, continueParameter: next, limit: ResourceSources.PageSize, cancellationToken: cancellationToken).ConfigureAwait(false));
            var metadata = page.TryGetProperty("metadata", out var m) ? m : default;
            resourceVersion = StringOf(metadata, "resourceVersion");
            next = StringOf(metadata, "continue");
            if (page.TryGetProperty("items", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                items.AddRange(list.EnumerateArray().Select(item => Read(WatchEventType.Added, item)));
            }
        }
        while (!string.IsNullOrEmpty(next));

        return new ResourceList<T>(items, resourceVersion ?? throw new InvalidOperationException($"The list of {Name} carries no resourceVersion."));
    }

    public async IAsyncEnumerable<WatchItem<T>> WatchAsync(string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = client.CustomObjects.WatchListClusterCustomObjectAsync(
            NotaryResources.Group,
            NotaryResources.Version,
            plural,
            allowWatchBookmarks: true,
            resourceVersion: resourceVersion,
            timeoutSeconds: ResourceSources.WatchTimeoutSeconds(watchTimeout),
            onError: onError,
            cancellationToken: cancellationToken);
        await foreach (var (type, value) in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return Read(type, ToElement(value));
        }
    }

    internal static WatchItem<T> Read(WatchEventType type, JsonElement element)
    {
        var metadata = element.ValueKind == JsonValueKind.Object && element.TryGetProperty("metadata", out var m) ? m : default;
        var resourceVersion = StringOf(metadata, "resourceVersion");
        if (type == WatchEventType.Bookmark)
        {
            return new WatchItem<T>(type, null, null, resourceVersion, null);
        }

        var name = StringOf(metadata, "name");
        var key = name is null ? null : $"{StringOf(metadata, "namespace")}/{name}";
        try
        {
            // Straight from the element's UTF-8 bytes: no detour through a string and a second parse of it.
            return new WatchItem<T>(type, Reduce(element.Deserialize<T>(ResourceSources.KubernetesJsonOptions) ?? throw new JsonException("the event has no object")), key, resourceVersion, null);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or NotSupportedException)
        {
            return new WatchItem<T>(type, null, key, resourceVersion, ex.Message);
        }
    }

    private static string? StringOf(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>
    /// Drops what the watcher never reads before the informer caches the object, as client-go's
    /// cache transforms do: managedFields (server-side apply bookkeeping, often larger than the
    /// spec), kubectl's last-applied annotation (a copy of the spec) and the status (Notary's own
    /// writes; the grains hold the truth). The watcher caches every object it watches, so at
    /// 100,000 Certificates this is most of its memory (bench/RESULTS.md, scenario scale).
    /// </summary>
    internal static T Reduce(T resource)
    {
        // Every object repeats the same apiVersion, kind and finalizer, each parsed into a copy of
        // its own: the constants instead (about 160 B per cached object).
        resource.ApiVersion = Shared(resource.ApiVersion);
        resource.Kind = Shared(resource.Kind);
        var metadata = resource.Metadata;
        if (metadata is not null)
        {
            metadata.ManagedFields = null;
            if (metadata.Annotations is { } annotations && annotations.Remove(LastAppliedAnnotation) && annotations.Count == 0)
            {
                metadata.Annotations = null;
            }

            if (metadata.Finalizers is { } finalizers)
            {
                for (var i = 0; i < finalizers.Count; i++)
                {
                    finalizers[i] = Shared(finalizers[i]);
                }
            }
        }

        switch (resource)
        {
            case Certificate certificate:
                certificate.Status = null;
                break;
            case Keystore keystore:
                keystore.Status = null;
                break;
            case Truststore truststore:
                truststore.Status = null;
                break;
            case CertificatePolicy policy:
                policy.Status = null;
                break;
        }

        // A Breach keeps its status: it is the record a breach grain that lost its state adopts.

        return resource;
    }

    private const string LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

    private static string Shared(string text) => text switch
    {
        NotaryResources.ApiVersion => NotaryResources.ApiVersion,
        NotaryResources.CleanupFinalizer => NotaryResources.CleanupFinalizer,
        Certificate.KubeKind => Certificate.KubeKind,
        Keystore.KubeKind => Keystore.KubeKind,
        Truststore.KubeKind => Truststore.KubeKind,
        Breach.KubeKind => Breach.KubeKind,
        _ => text,
    };

    private static JsonElement ToElement(object value) =>
        value is JsonElement element ? element : JsonSerializer.SerializeToElement(value);
}
