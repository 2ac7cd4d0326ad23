using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains;

// Events on the Issuer or ClusterIssuer object (kubectl describe issuer X): a Warning when it
// becomes not Ready (the condition's reason and message), a Normal one when it becomes Ready, and
// one at a CA rotation's start and end. Recorded once per transition: a retry that finds the same
// reason records nothing (the recorder's correlation would only count it up anyway).
public sealed partial class IssuerGrain
{
    /// <summary>Normal Event: a CA rotation started (the issuer's CA changed under certificates it issued).</summary>
    public const string RotationStartedReason = "CaRotationStarted";

    /// <summary>Normal Event: a CA rotation re-issued every certificate and ended.</summary>
    public const string RotationCompletedReason = "CaRotationCompleted";

    /// <summary>Warning Event: a CA rotation stopped before its end (the issuer was deleted).</summary>
    public const string RotationPausedReason = "CaRotationPaused";

    /// <summary>The object's kind and key as the event recorder names it (a ClusterIssuer: an empty namespace).</summary>
    private (ResourceKind Kind, ResourceKey Resource) EventTarget => _namespace is null
        ? (ResourceKind.ClusterIssuer, new ResourceKey(string.Empty, _name))
        : (ResourceKind.Issuer, new ResourceKey(_namespace, _name));

    /// <summary>
    /// Records the Ready transition from <paramref name="before"/> (null: never decided) to
    /// <paramref name="readiness"/>: nothing when the status and reason are the same.
    /// </summary>
    private Task RecordReadinessAsync(StatusCondition? before, IssuerReadiness readiness)
    {
        var status = readiness.Ready ? Conditions.True : Conditions.False;
        if (before is not null && before.Status == status && before.Reason == readiness.Reason)
        {
            return Task.CompletedTask;
        }

        return readiness.Ready
            ? RecordAsync(EventSeverity.Normal, readiness.Reason, readiness.Message)
            : RecordAsync(EventSeverity.Warning, readiness.Reason, readiness.Message);
    }

    /// <summary>Records an Event on this issuer's object (its uid: the incarnation last applied); a failure is logged, never thrown.</summary>
    private async Task RecordAsync(EventSeverity severity, string reason, string message)
    {
        if (_builtinRoot)
        {
            // No object to record it on: the log has it, and the certificates get their own Events.
            Log.BuiltinRootEvent(logger, reason, message);
            return;
        }

        var (kind, resource) = EventTarget;
        try
        {
            await events.RecordAsync(resource, kind, State.Origin?.Uid, severity, reason, message, CancellationToken.None);
        }
        catch (Exception ex)
        {
            Log.EventFailed(logger, _kind, _key, ex.GetType().Name, ex.Message);
        }
    }
}
