using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

/// <summary>
/// Publishes what a grain decided (status, events) without letting a failing API call undo the
/// decision: the state is persisted first, and a failed publication is logged and repeated on
/// the next reconcile (the watcher's resync).
/// </summary>
internal sealed class Reporter(IStatusWriter statusWriter, IEventRecorder events, ILogger logger, ResourceKind kind)
{
    // A fingerprint of the last status written, not the status itself: a resident certificate
    // activation kept about 400 B for the object (its tags dictionary, a copy of its conditions)
    // only to compare the next status with.
    private UInt128? _lastPublished;

    public async Task PublishAsync(ResourceKey resource, CertificateStatus status)
    {
        var fingerprint = StatusFingerprint.Of(status);
        if (_lastPublished == fingerprint)
        {
            return;
        }

        try
        {
            await statusWriter.WriteCertificateStatusAsync(resource, status, CancellationToken.None);
            _lastPublished = fingerprint;
        }
        catch (Exception ex)
        {
            Log.StatusFailed(logger, kind.ToString(), resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    public async Task PublishAsync(ResourceKey resource, StoreStatus status)
    {
        var fingerprint = StatusFingerprint.Of(status);
        if (_lastPublished == fingerprint)
        {
            return;
        }

        try
        {
            await statusWriter.WriteStoreStatusAsync(resource, kind, status, CancellationToken.None);
            _lastPublished = fingerprint;
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

    /// <summary>
    /// The not-ready path every grain shares: sets Ready=False with the problem, saves the
    /// state, and when the condition changed logs it and records a Warning Event. The caller
    /// publishes the status after.
    /// </summary>
    public async Task NotReadyAsync(ResourceKey resource, string? uid, List<StatusCondition> conditions, Problem problem, DateTimeOffset now, long generation, Func<Task> save)
    {
        var changed = ConditionList.Set(conditions, Conditions.Ready, Conditions.False, problem.Reason, problem.Message, now, generation);
        await save();
        if (changed)
        {
            Log.NotReady(logger, kind.ToString(), resource.ToString(), problem.Reason, problem.Message);
            await EventAsync(resource, uid, EventSeverity.Warning, problem.Reason, problem.Message);
        }
    }

    /// <summary>Forget what was published, so the next publish writes even if unchanged.</summary>
    public void Reset() => _lastPublished = null;
}
