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
/// seen its spec. After each full list, the issuer grains of this kind that the list did not have
/// are deleted (<see cref="ListPrune"/>, shared with the CertificatePolicies): an issuer deleted
/// while no watcher ran does not stay in force.
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
    private readonly ForwardedOrigins _forwarded = new();
    private readonly ListPrune _prune = new();
    private readonly InitialListGate _initial = new();

    /// <summary>Every issuer of the first full list has been forwarded (or was gone by then).</summary>
    public Task InitialListForwarded => _initial.Forwarded;

    public void Observe(string key, T? current)
    {
        var issuerKey = issuerKeyOf(key);
        var gone = current is null || current.Metadata.DeletionTimestamp is not null;
        var secretName = gone ? null : IssuerMapping.CaSecretOf(current!.Spec);
        // A namespaced Issuer's Secret is in its own namespace; a ClusterIssuer's in Notary's.
        var secretKey = secretName is null ? null : $"{secretNamespace ?? current!.Metadata.NamespaceProperty}/{secretName}";
        caSecrets.Set(issuerKey, secretKey);
        _prune.Observe(issuerKey, gone ? null : current!.Metadata.Uid ?? string.Empty);
        _initial.Observe(key, exists: current is not null);
    }

    public async Task ListedAsync(CancellationToken cancellationToken)
    {
        // Issuer grains of this kind that the list did not have were deleted while no watcher ran
        // (issuers have no finalizer): the sink deletes them. Retried by the controller on failure;
        // the initial list counts as forwarded either way (a failing prune must not hold the
        // Certificates back).
        try
        {
            var count = await _prune.PruneAsync(
                (existing, token) => sink.IssuersListedAsync(kind, existing.Keys.ToHashSet(StringComparer.Ordinal), token),
                cancellationToken).ConfigureAwait(false);
            IssuersListed(logger, kind, count);
        }
        finally
        {
            _initial.Listed();
        }
    }

    public async Task ReconcileAsync(string key, T? current, T? lastKnown, bool resync, CancellationToken cancellationToken)
    {
        await _prune.ForwardAsync(() => ForwardAsync(key, current, resync, cancellationToken), cancellationToken).ConfigureAwait(false);
        _initial.Handled(key);
    }

    private async Task ForwardAsync(string key, T? current, bool resync, CancellationToken cancellationToken)
    {
        var issuerKey = issuerKeyOf(key);
        if (current is null || current.Metadata.DeletionTimestamp is not null)
        {
            // Forwarded even when this session never applied it: the grain may hold an earlier session's spec.
            await sink.DeleteIssuerAsync(issuerKey, cancellationToken).ConfigureAwait(false);
            IssuerForwarded(logger, issuerKey, "deleted", 0);

            _forwarded.Set(key, null);
            return;
        }

        var origin = ResourceMapping.OriginOf(current);
        if (!resync && _forwarded.Covers(key, origin))
        {
            return;
        }

        await sink.ApplyIssuerAsync(issuerKey, IssuerMapping.ToSpec(current.Spec), origin, cancellationToken).ConfigureAwait(false);
        _forwarded.Set(key, origin);
        IssuerForwarded(logger, issuerKey, resync ? "resync" : "applied", origin.Generation);
    }

    [LoggerMessage(EventId = 3056, Level = LogLevel.Information, Message = "Listed {Kind}s: {Count} exist; issuer grains of that kind not listed are deleted")]
    private static partial void IssuersListed(ILogger logger, string kind, int count);

    [LoggerMessage(EventId = 3050, Level = LogLevel.Information, Message = "Forwarded issuer {Issuer} ({What}, generation {Generation})")]
    private static partial void IssuerForwarded(ILogger logger, string issuer, string what, long generation);
}
