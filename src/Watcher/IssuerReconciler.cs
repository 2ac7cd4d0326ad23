using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>
/// Which Secrets <c>ca</c> issuers name: an Issuer's in its own namespace, a ClusterIssuer's in
/// Notary's. When the Secret watch sees one of them change, each issuer naming it reads it again.
/// </summary>
public sealed class CaSecretIndex
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _byIssuer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _bySecret = new(StringComparer.Ordinal);

    /// <summary>Records that the issuer (grain key) names <paramref name="secretKey"/> ("namespace/name"), or nothing.</summary>
    public void Set(string issuerKey, string? secretKey)
    {
        lock (_lock)
        {
            if (_byIssuer.Remove(issuerKey, out var previous) && _bySecret.TryGetValue(previous, out var issuers))
            {
                issuers.Remove(issuerKey);
                if (issuers.Count == 0)
                {
                    _bySecret.Remove(previous);
                }
            }

            if (secretKey is not null)
            {
                _byIssuer[issuerKey] = secretKey;
                if (!_bySecret.TryGetValue(secretKey, out var set))
                {
                    _bySecret[secretKey] = set = new HashSet<string>(StringComparer.Ordinal);
                }

                set.Add(issuerKey);
            }
        }
    }

    /// <summary>The issuers (grain keys) that name the Secret; empty for any other Secret.</summary>
    public IReadOnlyList<string> IssuersOf(string secretKey)
    {
        lock (_lock)
        {
            return _bySecret.TryGetValue(secretKey, out var issuers) ? [.. issuers.Order(StringComparer.Ordinal)] : [];
        }
    }
}

/// <summary>
/// Forwards Issuers or ClusterIssuers to their issuer grains (keyed <see cref="IssuerKeys"/>),
/// once per (uid, generation) and again on resync; a deleted one (or one being deleted) is
/// forwarded as a deletion, so that its Certificates wait. No finalizer: an issuer keeps nothing
/// outside its grain. Keeps <see cref="CaSecretIndex"/> up to date before the key is queued, so a
/// Secret event that follows is matched. <see cref="InitialListForwarded"/> completes once every
/// issuer of the first list was forwarded: the session forwards Certificates only then (see
/// <see cref="WatchSession"/>), so a Certificate never asks an issuer grain that has not yet
/// seen its spec.
/// </summary>
internal sealed partial class IssuerReconciler<T>(
    IResourceEventSink sink,
    CaSecretIndex caSecrets,
    string kind,
    Func<string, string> issuerKeyOf,
    string? secretNamespace,
    ILogger logger) : IReconciler<T>
    where T : class, IKubernetesObject<V1ObjectMeta>, ISpec<IssuerResourceSpec>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ResourceVersionInfo> _forwarded = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unforwarded = new(StringComparer.Ordinal);
    // Grain keys of the issuers the informer holds (not being deleted): what a full list found.
    private readonly HashSet<string> _existing = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _initial = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _listed;

    /// <summary>Every issuer of the first full list has been forwarded (or was gone by then).</summary>
    public Task InitialListForwarded => _initial.Task;

    public void Observe(string key, T? current)
    {
        var issuerKey = issuerKeyOf(key);
        var gone = current is null || current.Metadata.DeletionTimestamp is not null;
        var secretName = gone ? null : IssuerMapping.CaSecretOf(current!.Spec);
        // A namespaced Issuer's Secret is in its own namespace; a ClusterIssuer's in Notary's.
        var secretKey = secretName is null ? null : $"{secretNamespace ?? current!.Metadata.NamespaceProperty}/{secretName}";
        caSecrets.Set(issuerKey, secretKey);
        lock (_lock)
        {
            if (gone)
            {
                _existing.Remove(issuerKey);
            }
            else
            {
                _existing.Add(issuerKey);
            }

            if (current is null)
            {
                _unforwarded.Remove(key);
            }
            else if (!_initial.Task.IsCompleted)
            {
                _unforwarded.Add(key);
            }

            CheckInitial();
        }
    }

    public async Task ListedAsync(CancellationToken cancellationToken)
    {
        HashSet<string> existing;
        lock (_lock)
        {
            existing = new HashSet<string>(_existing, StringComparer.Ordinal);
        }

        // Issuer grains of this kind that the list did not have were deleted while no watcher ran
        // (issuers have no finalizer): the sink deletes them. Retried by the controller on failure;
        // the initial list counts as forwarded either way (a failing prune must not hold the
        // Certificates back).
        try
        {
            await sink.IssuersListedAsync(kind, existing, cancellationToken).ConfigureAwait(false);
            IssuersListed(logger, kind, existing.Count);
        }
        finally
        {
            lock (_lock)
            {
                _listed = true;
                CheckInitial();
            }
        }
    }

    public async Task ReconcileAsync(string key, T? current, T? lastKnown, bool resync, CancellationToken cancellationToken)
    {
        await ForwardAsync(key, current, resync, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _unforwarded.Remove(key);
            CheckInitial();
        }
    }

    private async Task ForwardAsync(string key, T? current, bool resync, CancellationToken cancellationToken)
    {
        var issuerKey = issuerKeyOf(key);
        if (current is null || current.Metadata.DeletionTimestamp is not null)
        {
            // Forwarded even when this session never applied it: the grain may hold an earlier session's spec.
            await sink.DeleteIssuerAsync(issuerKey, cancellationToken).ConfigureAwait(false);
            IssuerForwarded(logger, issuerKey, "deleted", 0);

            Set(key, null);
            return;
        }

        var origin = ResourceMapping.OriginOf(current);
        ResourceVersionInfo? forwarded;
        lock (_lock)
        {
            forwarded = _forwarded.GetValueOrDefault(key);
        }

        if (!resync && forwarded is not null && forwarded.Uid == origin.Uid && forwarded.Generation >= origin.Generation)
        {
            return;
        }

        await sink.ApplyIssuerAsync(issuerKey, IssuerMapping.ToSpec(current.Spec), origin, cancellationToken).ConfigureAwait(false);
        Set(key, origin);
        IssuerForwarded(logger, issuerKey, resync ? "resync" : "applied", origin.Generation);
    }

    private void Set(string key, ResourceVersionInfo? origin)
    {
        lock (_lock)
        {
            if (origin is null)
            {
                _forwarded.Remove(key);
            }
            else
            {
                _forwarded[key] = origin;
            }
        }
    }

    private void CheckInitial()
    {
        if (_listed && _unforwarded.Count == 0)
        {
            _initial.TrySetResult();
        }
    }

    [LoggerMessage(EventId = 3056, Level = LogLevel.Information, Message = "Listed {Kind}s: {Count} exist; issuer grains of that kind not listed are deleted")]
    private static partial void IssuersListed(ILogger logger, string kind, int count);

    [LoggerMessage(EventId = 3050, Level = LogLevel.Information, Message = "Forwarded issuer {Issuer} ({What}, generation {Generation})")]
    private static partial void IssuerForwarded(ILogger logger, string issuer, string what, long generation);
}
