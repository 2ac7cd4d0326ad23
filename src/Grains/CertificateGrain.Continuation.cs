using Notary.Grains.Abstractions.Retry;
using Notary.Grains.Policies;
using Notary.Grains.Retry;

namespace Notary.Grains;

// The durable continuation of an issuance: an issuance in progress or a transient failure is
// continued by a grain timer backed by the "continue" reminder (see DurableRetry).
public sealed partial class CertificateGrain : IDurableRetryOwner
{
    /// <summary>
    /// Backs up the continuation timer (an issuance in progress, or a retry after a transient
    /// failure): the timer goes with its activation, which Orleans drops when the silo holding
    /// its directory entry dies or when it is idle, and no lifecycle reminder exists before the
    /// first issuance. Fires every <see cref="ContinueReminderPeriod"/> until nothing is left to continue.
    /// </summary>
    public const string ContinueReminder = "continue";

    /// <summary>Orleans' shortest reminder period.</summary>
    public static readonly TimeSpan ContinueReminderPeriod = TimeSpan.FromMinutes(1);

    /// <summary>A transient issuance failure is retried after one second, doubling per failure, at most five minutes apart.</summary>
    private static readonly ExponentialBackoff ContinuationBackoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), MaxDoublings: 20);

    // Created once something is left to continue: most certificates never need one.
    private DurableRetry? _continuation;

    private DurableRetry Continuation => _continuation ??= new(this, ContinueReminder, ContinueReminderPeriod, ContinuationBackoff);

    /// <summary>Continues an issuance in progress, or retries a failed one (grain timer, or the continuation reminder).</summary>
    /// <param name="registered">Whether the continuation reminder is registered, when known better than the state (a tick proves it is).</param>
    private async Task ContinueAsync(bool? registered = null)
    {
        if (State.Spec is null)
        {
            return;
        }

        await EvaluatePolicyAsync();
        switch (Decide(IssueTrigger.Continue))
        {
            case IssueOutcome.NotReady:
                // The spec became invalid (or its issuer went) while an issuance was in progress: the
                // apply reported it, and nothing continues until a new apply fixes it, which starts
                // again. A reminder kept here would tick for nothing every minute, forever.
                await ForgetContinuationAsync(registered);
                break;
            case IssueOutcome.Issue issue:
                // An issuance in progress, or an apply a transient failure left unfinished: the
                // same decision ApplyAsync makes.
                await IssueAsync(issue.Valid, issue.Purpose, issue.EventReason, issue.Why);
                break;
        }
    }

    private async Task ScheduleContinuationAsync(TimeSpan delay)
    {
        Continuation.Schedule(delay);
        if (State.ContinueRegistered || !HasWorkToContinue())
        {
            // A failed renewal leaves nothing to continue: the lifecycle reminder retries it.
            return;
        }

        // Once per issuance in progress or run of failures: one write to the reminder table. A
        // failure (the reminder service's silo is down) leaves the timer to continue, and the
        // next step registers the reminder again.
        if (await Continuation.EnsureReminderAsync())
        {
            await SaveAsync();
        }
    }

    /// <summary>
    /// Something is left to continue: an issuance in progress, or an apply a transient failure left
    /// unfinished, for a spec that can be issued. An issuance in progress whose spec became invalid
    /// (or whose issuer went) waits for the apply that fixes it, which starts again.
    /// </summary>
    private bool HasWorkToContinue() => State.Spec is not null && (State.Pending is not null || State.Reconciled != State.Origin) && HasValidSpec(out _);

    /// <summary>Unregisters the continuation reminder; a failure leaves it to find nothing to do and try again.</summary>
    /// <param name="registered">Whether it is registered, when known better than the state (a tick proves it is).</param>
    private async Task ForgetContinuationAsync(bool? registered = null)
    {
        if (!(registered ?? State.ContinueRegistered))
        {
            return;
        }

        var recorded = State.ContinueRegistered;
        if (await Continuation.ForgetReminderAsync() && recorded)
        {
            await SaveAsync();
        }
    }

    /// <summary>
    /// The continuation reminder: when no activation holds the continuation timer any more (this
    /// one was created by the tick, or dropped it), continue now; when nothing is left, unregister.
    /// </summary>
    private async Task OnContinueReminderAsync()
    {
        if (!HasWorkToContinue())
        {
            await ForgetContinuationAsync(registered: true);
            return;
        }

        if (_continuation is not { TimerPending: true })
        {
            await ContinueAsync(registered: true);
        }
    }

    private void CancelContinuation() => _continuation?.Cancel();

    bool IDurableRetryOwner.RetryReminderRegistered
    {
        get => State.ContinueRegistered;
        set => State.ContinueRegistered = value;
    }

    Task IDurableRetryOwner.OnRetryDueAsync() => ContinueAsync();

    void IDurableRetryOwner.OnRetryReminderFailed(Exception exception) =>
        Log.ContinueReminderFailed(logger, _resource.ToString(), exception.GetType().Name, exception.Message);
}
