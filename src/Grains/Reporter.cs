using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains;

/// <summary>
/// Publishes what a grain decided (status, events) without letting a failing API call undo the
/// decision: the state is persisted first, and a failed publication is logged and repeated on
/// the next reconcile (the watcher's resync).
/// </summary>
internal sealed class Reporter(IStatusWriter statusWriter, IEventRecorder events, ILogger logger, ResourceKind kind)
{
    private object? _lastPublished;

    public async Task PublishAsync(ResourceKey resource, CertificateStatus status)
    {
        if (_lastPublished is CertificateStatus last && CertificateStatusEquals(last, status))
        {
            return;
        }

        try
        {
            await statusWriter.WriteCertificateStatusAsync(resource, status, CancellationToken.None);
            _lastPublished = status;
        }
        catch (Exception ex)
        {
            Log.StatusFailed(logger, kind.ToString(), resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    public async Task PublishAsync(ResourceKey resource, StoreStatus status)
    {
        if (StoreStatusEquals(_lastPublished as StoreStatus, status))
        {
            return;
        }

        try
        {
            await statusWriter.WriteStoreStatusAsync(resource, kind, status, CancellationToken.None);
            _lastPublished = status;
        }
        catch (Exception ex)
        {
            Log.StatusFailed(logger, kind.ToString(), resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    // uid: the incarnation the event is about, when known (see IEventRecorder).
    public async Task EventAsync(ResourceKey resource, string? uid, EventSeverity severity, string reason, string message)
    {
        try
        {
            await events.RecordAsync(resource, kind, uid, severity, reason, message, CancellationToken.None);
        }
        catch (Exception ex)
        {
            Log.EventFailed(logger, kind.ToString(), resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>Forget what was published, so the next publish writes even if unchanged.</summary>
    public void Reset() => _lastPublished = null;

    private static bool CertificateStatusEquals(CertificateStatus a, CertificateStatus b) =>
        a.Arn == b.Arn && a.SerialNumber == b.SerialNumber && a.NotBefore == b.NotBefore && a.NotAfter == b.NotAfter
        && a.RenewalTime == b.RenewalTime && a.Revision == b.Revision && a.ObservedGeneration == b.ObservedGeneration
        && a.Conditions.SequenceEqual(b.Conditions) && a.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).SequenceEqual(b.Tags.OrderBy(t => t.Key, StringComparer.Ordinal));

    private static bool StoreStatusEquals(StoreStatus? a, StoreStatus b) =>
        a is not null
        && a.Arn == b.Arn && a.Location == b.Location && a.ObservedGeneration == b.ObservedGeneration
        && a.Entries.SequenceEqual(b.Entries) && a.Conditions.SequenceEqual(b.Conditions)
        && a.CertificateRevisions.Count == b.CertificateRevisions.Count
        && a.CertificateRevisions.All(kv => b.CertificateRevisions.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
