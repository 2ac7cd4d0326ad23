using Microsoft.Extensions.Logging;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>
/// Forwards CertificatePolicies (cluster-scoped) to the policy grain, once per (uid,
/// generation) and again on resync: a create or change there wakes the Certificates the
/// policies refused. No finalizer: a policy keeps nothing to clean up, and its deletion only
/// wakes the refused Certificates again. The grain keeps its policies, and a session sees only
/// the deletions made while it watches: after each full list (and each resync) the grain gets
/// every policy that exists (uid by name) and deletes the others, so a policy deleted during a
/// leader failover or an outage does not stay in force.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The SemaphoreSlim's wait handle is never asked for: nothing to dispose.")]
internal sealed partial class CertificatePolicyReconciler(IResourceEventSink sink, ILogger logger) : IReconciler<CertificatePolicy>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ResourceVersionInfo> _forwarded = new(StringComparer.Ordinal);

    // The policies that exist as the informer knows them: uid by name (kept by Observe, which runs
    // before the key is queued).
    private readonly Dictionary<string, string> _existing = new(StringComparer.Ordinal);

    // Forwards and the prune exclude each other: a prune takes its snapshot and reaches the grain
    // with no apply in between, so a policy created meanwhile is either in the snapshot or
    // applied after the prune, never pruned after its apply.
    private readonly SemaphoreSlim _forwarding = new(1, 1);

    public void Observe(string key, CertificatePolicy? current)
    {
        var name = NameOf(key);
        lock (_lock)
        {
            if (current is null || current.Metadata.DeletionTimestamp is not null)
            {
                _existing.Remove(name);
            }
            else
            {
                _existing[name] = current.Metadata.Uid ?? string.Empty;
            }
        }
    }

    public async Task ListedAsync(CancellationToken cancellationToken)
    {
        await _forwarding.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Dictionary<string, string> existing;
            lock (_lock)
            {
                existing = new Dictionary<string, string>(_existing, StringComparer.Ordinal);
            }

            await sink.CertificatePoliciesListedAsync(existing, cancellationToken).ConfigureAwait(false);
            PoliciesListed(logger, existing.Count);
        }
        finally
        {
            _forwarding.Release();
        }
    }

    // Cluster-scoped: the key is "/NAME".
    private static string NameOf(string key) => key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..];

    public async Task ReconcileAsync(string key, CertificatePolicy? current, CertificatePolicy? lastKnown, bool resync, CancellationToken cancellationToken)
    {
        await _forwarding.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ForwardAsync(key, current, resync, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _forwarding.Release();
        }
    }

    private async Task ForwardAsync(string key, CertificatePolicy? current, bool resync, CancellationToken cancellationToken)
    {
        var name = NameOf(key);
        if (current is null || current.Metadata.DeletionTimestamp is not null)
        {
            await sink.DeleteCertificatePolicyAsync(name, cancellationToken).ConfigureAwait(false);
            Set(key, null);
            PolicyForwarded(logger, name, "deleted", 0);
            return;
        }

        var origin = ResourceMapping.OriginOf(current);
        lock (_lock)
        {
            if (!resync && _forwarded.TryGetValue(key, out var known) && known.Uid == origin.Uid && known.Generation >= origin.Generation)
            {
                return;
            }
        }

        await sink.ApplyCertificatePolicyAsync(name, CertificatePolicyMapping.ToSpec(current.Spec), origin, cancellationToken).ConfigureAwait(false);
        Set(key, origin);
        PolicyForwarded(logger, name, resync ? "resync" : "applied", origin.Generation);
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

    [LoggerMessage(EventId = 2060, Level = LogLevel.Debug, Message = "CertificatePolicy {Name} forwarded ({What}, generation {Generation})")]
    private static partial void PolicyForwarded(ILogger logger, string name, string what, long generation);

    [LoggerMessage(EventId = 2064, Level = LogLevel.Debug, Message = "CertificatePolicies listed: {Count} exist; any other the policy grain holds is deleted")]
    private static partial void PoliciesListed(ILogger logger, int count);
}
