using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Retry;
using Notary.Grains.Retry;

namespace Notary.Grains;

// Retries of a transient failure: a grain timer with backoff, backed by the "retry" reminder
// (see DurableRetry), until a reconcile ends without one.
public abstract partial class StoreGrain<TSpec> : IRemindable, IDurableRetryOwner
    where TSpec : class
{
    /// <summary>
    /// Backs up the retry timer of a transient failure. A grain timer lives only as long as its
    /// activation, and Orleans drops activations that still have one pending: on a silo's death
    /// it deactivates every activation whose directory entry that silo held, and it collects idle
    /// ones. Nobody else would call such a store again (the watcher had its answer, a
    /// certificate's notification came and went) until the next resync, minutes later.
    /// </summary>
    public const string RetryReminder = "retry";

    /// <summary>How often the retry reminder fires: Orleans' shortest reminder period.</summary>
    public static readonly TimeSpan RetryReminderPeriod = TimeSpan.FromMinutes(1);

    /// <summary>First retry delay after a transient failure; doubles per failure up to <see cref="MaxRetryDelay"/>.</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);

    private static readonly ExponentialBackoff RetryBackoff = new(FirstRetryDelay, MaxRetryDelay, MaxDoublings: 20);

    // Created at the first transient failure: most stores never need one.
    private DurableRetry? _retry;

    private DurableRetry Retries => _retry ??= new(this, RetryReminder, RetryReminderPeriod, RetryBackoff);

    // This reconcile ended in a transient failure and scheduled a retry.
    private bool _retrying;

    /// <summary>
    /// A transient failure: try again after a delay that doubles per failure, capped, and make
    /// sure the retry reminder exists in case this activation goes before its timer fires. The
    /// state is saved by the caller, which records the failure.
    /// </summary>
    /// <param name="cause">What failed: a silo that is down (a grain call refused) is retried within <see cref="ClusterFailures.MaxUnavailableSiloRetryDelay"/>.</param>
    /// <param name="write">The write itself failed: retries write even a store whose contents are current, until one succeeds.</param>
    private async Task ScheduleRetryAsync(Exception cause, bool write)
    {
        _retrying = true;
        State.MustWrite |= write;
        var retry = Retries;
        retry.Schedule(retry.NextFailureDelay(ClusterFailures.IsUnavailableSilo(cause) ? ClusterFailures.MaxUnavailableSiloRetryDelay : MaxRetryDelay));
        // Once per run of failures, not per retry: one write to the reminder table. A failure
        // (the reminder service's silo is down) leaves the timer to retry, and the next failure
        // registers the reminder again.
        await retry.EnsureReminderAsync();
    }

    private async Task OnRetryAsync()
    {
        if (State.Spec is not null)
        {
            // After a failure before the write (a grain call, the metadata), a store stored and
            // current is left as it is: rewriting its Secret would change it for nothing.
            await ReconcileAsync(force: State.MustWrite);
        }
    }

    /// <summary>No transient failure is outstanding: cancel the timer and the reminder.</summary>
    private async Task StopRetryingAsync()
    {
        _retry?.ResetFailures();
        _retry?.Cancel();
        if (State.RetryRegistered)
        {
            await ForgetRetryAsync();
            await SaveAsync();
        }
    }

    /// <summary>Unregisters the retry reminder; a failure leaves it to find nothing to retry and try again.</summary>
    private Task<bool> ForgetRetryAsync() => Retries.ForgetReminderAsync();

    bool IDurableRetryOwner.RetryReminderRegistered
    {
        get => State.RetryRegistered;
        set => State.RetryRegistered = value;
    }

    Task IDurableRetryOwner.OnRetryDueAsync() => OnRetryAsync();

    void IDurableRetryOwner.OnRetryReminderFailed(Exception exception) =>
        Log.RetryReminderFailed(logger, kind.ToString(), Resource.ToString(), exception.GetType().Name, exception.Message);

    /// <summary>
    /// The retry reminder: a transient failure is still outstanding and no activation holds its
    /// timer (this one was created by the tick, or dropped the timer): retry now.
    /// </summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != RetryReminder)
        {
            return;
        }

        if (State.Spec is null)
        {
            // Deleted (and its state cleared, so nothing is saved): nothing left to retry.
            await ForgetRetryAsync();
            return;
        }

        // A tick proves the reminder registered, whatever the state says: the save that would
        // have recorded it may have failed (and dropped the activation with its timer).
        State.RetryRegistered = true;
        if (IsReady())
        {
            // Recovered while unregistering failed.
            await StopRetryingAsync();
            return;
        }

        if (_retry is { TimerPending: true })
        {
            // This activation's own timer is pending and comes at the delay the backoff chose.
            return;
        }

        await ReconcileAsync(force: State.MustWrite);
    }
}
