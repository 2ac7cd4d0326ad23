using Microsoft.Extensions.Logging;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>
/// Forwards CertificatePolicies (cluster-scoped) to the policy grain, once per (uid,
/// generation) and again on resync: a create or change there wakes the Certificates the
/// policies refused. No finalizer: a policy keeps nothing to clean up, and its deletion only
/// wakes the refused Certificates again.
/// </summary>
internal sealed partial class CertificatePolicyReconciler(IResourceEventSink sink, ILogger logger) : IReconciler<CertificatePolicy>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ResourceVersionInfo> _forwarded = new(StringComparer.Ordinal);

    public void Observe(string key, CertificatePolicy? current)
    {
    }

    public async Task ReconcileAsync(string key, CertificatePolicy? current, CertificatePolicy? lastKnown, bool resync, CancellationToken cancellationToken)
    {
        // Cluster-scoped: the key is "/NAME".
        var name = key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..];
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
}
