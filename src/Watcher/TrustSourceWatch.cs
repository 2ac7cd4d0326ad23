using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>
/// Which Truststores name which ConfigMaps and Secrets in <c>spec.sources</c> (as last seen):
/// (kind, "namespace/name") → the Truststores ("namespace/name") to nudge when that object
/// changes. A source is always in the Truststore's own namespace, so the object key carries it.
/// </summary>
public sealed class TrustSourceIndex
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HashSet<(string Kind, string Object)>> _byTruststore = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Kind, string Object), HashSet<string>> _byObject = [];

    /// <summary>Records the ConfigMap and Secret sources of the Truststore <paramref name="truststoreKey"/>; null: it is gone.</summary>
    public void Set(string truststoreKey, IEnumerable<TrustSource>? sources)
    {
        var ns = ResourceKey.Parse(truststoreKey).Namespace;
        var now = new HashSet<(string Kind, string Object)>();
        foreach (var source in sources ?? [])
        {
            if (source.ConfigMap is { Name.Length: > 0 } configMap)
            {
                now.Add((TrustSourceKinds.ConfigMap, $"{ns}/{configMap.Name}"));
            }

            if (source.Secret is { Name.Length: > 0 } secret)
            {
                now.Add((TrustSourceKinds.Secret, $"{ns}/{secret.Name}"));
            }
        }

        lock (_lock)
        {
            if (_byTruststore.Remove(truststoreKey, out var before))
            {
                foreach (var item in before)
                {
                    if (_byObject.TryGetValue(item, out var stores) && stores.Remove(truststoreKey) && stores.Count == 0)
                    {
                        _byObject.Remove(item);
                    }
                }
            }

            if (now.Count == 0)
            {
                return;
            }

            _byTruststore[truststoreKey] = now;
            foreach (var item in now)
            {
                if (!_byObject.TryGetValue(item, out var stores))
                {
                    _byObject[item] = stores = new HashSet<string>(StringComparer.Ordinal);
                }

                stores.Add(truststoreKey);
            }
        }
    }

    /// <summary>The Truststores that name the object (<paramref name="kind"/> one of <see cref="TrustSourceKinds"/>), sorted.</summary>
    public IReadOnlyList<string> TruststoresOf(string kind, string objectKey)
    {
        lock (_lock)
        {
            return _byObject.TryGetValue((kind, objectKey), out var stores) ? [.. stores.Order(StringComparer.Ordinal)] : [];
        }
    }
}

/// <summary>Keeps <see cref="TrustSourceIndex"/> up to date from the Truststores the informer sees, then forwards as usual.</summary>
internal sealed class TrustSourceObservingReconciler(IReconciler<Truststore> inner, TrustSourceIndex index) : IReconciler<Truststore>
{
    public void Observe(string key, Truststore? current)
    {
        index.Set(key, current?.Spec?.Sources);
        inner.Observe(key, current);
    }

    public Task ReconcileAsync(string key, Truststore? current, Truststore? lastKnown, bool resync, CancellationToken cancellationToken) =>
        inner.ReconcileAsync(key, current, lastKnown, resync, cancellationToken);

    public Task ListedAsync(CancellationToken cancellationToken) => inner.ListedAsync(cancellationToken);
}

/// <summary>
/// A ConfigMap or Secret (metadata only) that some Truststore names as a trust source was created,
/// changed or deleted: each such Truststore is nudged to read its sources again (the grain rebuilds
/// only when a source's certificates changed, and a fixed SourceInvalid source rebuilds this way).
/// Forwarded once per (uid, resourceVersion); a resync forwards nothing new, since the Truststores'
/// own resync reads their sources anyway. No retry timer for a missing source: it is read again
/// on its change (this) or on resync.
/// </summary>
internal sealed class TrustSourceReconciler<T>(string sourceKind, IResourceEventSink sink, TrustSourceIndex index, ILogger logger) : IReconciler<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string? Uid, string? ResourceVersion)> _forwarded = new(StringComparer.Ordinal);

    public void Observe(string key, T? current)
    {
    }

    public async Task ReconcileAsync(string key, T? current, T? lastKnown, bool resync, CancellationToken cancellationToken)
    {
        var truststores = index.TruststoresOf(sourceKind, key);
        if (truststores.Count == 0)
        {
            Forget(key);
            return;
        }

        var version = current is null ? (null, null) : (current.Metadata?.Uid, current.Metadata?.ResourceVersion);
        lock (_lock)
        {
            if (_forwarded.TryGetValue(key, out var known) && known == version)
            {
                return;
            }
        }

        foreach (var truststore in truststores)
        {
            await sink.TrustSourceChangedAsync(ResourceKey.Parse(truststore), cancellationToken).ConfigureAwait(false);
            TrustSourceLog.Nudged(logger, sourceKind, key, truststore, current is null ? "deleted" : "changed");
        }

        lock (_lock)
        {
            _forwarded[key] = version;
        }
    }

    private void Forget(string key)
    {
        lock (_lock)
        {
            _forwarded.Remove(key);
        }
    }
}

/// <summary>Two reconcilers over one informer (the Secrets: metadata Secrets and trust sources), the first first.</summary>
internal sealed class BothReconcilers<T>(IReconciler<T> first, IReconciler<T> second) : IReconciler<T>
{
    public void Observe(string key, T? current)
    {
        first.Observe(key, current);
        second.Observe(key, current);
    }

    public async Task ReconcileAsync(string key, T? current, T? lastKnown, bool resync, CancellationToken cancellationToken)
    {
        // Both are idempotent per (uid, resourceVersion): a failure of the second retries both, harmlessly.
        await first.ReconcileAsync(key, current, lastKnown, resync, cancellationToken).ConfigureAwait(false);
        await second.ReconcileAsync(key, current, lastKnown, resync, cancellationToken).ConfigureAwait(false);
    }

    public async Task ListedAsync(CancellationToken cancellationToken)
    {
        await first.ListedAsync(cancellationToken).ConfigureAwait(false);
        await second.ListedAsync(cancellationToken).ConfigureAwait(false);
    }
}

internal static partial class TrustSourceLog
{
    [LoggerMessage(EventId = 3055, Level = LogLevel.Information, Message = "Trust source {Kind} {Source} {Change}: Truststore {Truststore} reads its sources again")]
    public static partial void Nudged(ILogger logger, string kind, string source, string truststore, string change);
}
