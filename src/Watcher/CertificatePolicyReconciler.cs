using Microsoft.Extensions.Logging;
using Notary.CustomResources;
using Notary.CustomResources.Models;

namespace Notary.Watcher;

/// <summary>
/// Forwards CertificatePolicies (cluster-scoped) to the policy grain, once per (uid,
/// generation) and again on resync: a create or change there wakes the Certificates the
/// policies refused. No finalizer: a policy keeps nothing to clean up, and its deletion only
/// wakes the refused Certificates again. The grain keeps its policies, and a session sees only
/// the deletions made while it watches: after each full list (and each resync) the grain gets
/// every policy that exists (uid by name) and deletes the others, so a policy deleted during a
/// leader failover or an outage does not stay in force (<see cref="ListPrune"/>, shared with
/// the issuers).
/// </summary>
internal sealed partial class CertificatePolicyReconciler(IResourceEventSink sink, ILogger logger) : IReconciler<CertificatePolicy>
{
    private readonly ForwardedOrigins _forwarded = new();
    private readonly ListPrune _prune = new();

    public void Observe(string key, CertificatePolicy? current) =>
        _prune.Observe(NameOf(key), current is null || current.Metadata.DeletionTimestamp is not null ? null : current.Metadata.Uid ?? string.Empty);

    public async Task ListedAsync(CancellationToken cancellationToken)
    {
        var count = await _prune.PruneAsync(sink.CertificatePoliciesListedAsync, cancellationToken).ConfigureAwait(false);
        PoliciesListed(logger, count);
    }

    // Cluster-scoped: the key is "/NAME".
    private static string NameOf(string key) => key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..];

    public Task ReconcileAsync(string key, CertificatePolicy? current, CertificatePolicy? lastKnown, bool resync, CancellationToken cancellationToken) =>
        _prune.ForwardAsync(() => ForwardAsync(key, current, resync, cancellationToken), cancellationToken);

    private async Task ForwardAsync(string key, CertificatePolicy? current, bool resync, CancellationToken cancellationToken)
    {
        var name = NameOf(key);
        if (current is null || current.Metadata.DeletionTimestamp is not null)
        {
            await sink.DeleteCertificatePolicyAsync(name, cancellationToken).ConfigureAwait(false);
            _forwarded.Set(key, null);
            PolicyForwarded(logger, name, "deleted", 0);
            return;
        }

        var origin = ResourceMapping.OriginOf(current);
        if (!resync && _forwarded.Covers(key, origin))
        {
            return;
        }

        await sink.ApplyCertificatePolicyAsync(name, CertificatePolicyMapping.ToSpec(current.Spec), origin, cancellationToken).ConfigureAwait(false);
        _forwarded.Set(key, origin);
        PolicyForwarded(logger, name, resync ? "resync" : "applied", origin.Generation);
    }

    [LoggerMessage(EventId = 2060, Level = LogLevel.Debug, Message = "CertificatePolicy {Name} forwarded ({What}, generation {Generation})")]
    private static partial void PolicyForwarded(ILogger logger, string name, string what, long generation);

    [LoggerMessage(EventId = 2064, Level = LogLevel.Debug, Message = "CertificatePolicies listed: {Count} exist; any other the policy grain holds is deleted")]
    private static partial void PoliciesListed(ILogger logger, int count);
}
