using Notary.Grains.Abstractions.Retry;

namespace Notary.Grains.Retry;

/// <summary>
/// Durable retry, owned by one grain activation: a grain timer that runs the work again after a
/// delay from the one backoff policy, backed by a reminder, because a grain timer lives only as
/// long as its activation, and Orleans drops activations that still have one pending (on a
/// silo's death it deactivates every activation whose directory entry that silo held, and it
/// collects idle ones). The reminder is registered once per run of failures (one write to the
/// reminder table), its registration recorded in a flag of the grain's persisted state, and
/// unregistered only when that flag (or a tick) says it exists.
/// </summary>
/// <remarks>
/// Small on purpose (a grain creates one only once it has something to retry): resident
/// activations are many, so the owner answers the callbacks itself instead of closures.
/// </remarks>
/// <param name="owner">The owning grain: its timer, reminders, persisted flag and log.</param>
/// <param name="reminderName">The backing reminder's name (persisted in the reminder table: never rename).</param>
/// <param name="reminderPeriod">How often the backing reminder fires.</param>
/// <param name="backoff">The delay after each consecutive failure.</param>
internal sealed class DurableRetry(IDurableRetryOwner owner, string reminderName, TimeSpan reminderPeriod, ExponentialBackoff backoff)
{
    private IGrainTimer? _timer;

    /// <summary>Consecutive failures counted by <see cref="NextFailureDelay"/> since the last <see cref="ResetFailures"/>.</summary>
    public int Failures { get; private set; }

    /// <summary>This activation's timer is pending (it comes at the delay the backoff chose).</summary>
    public bool TimerPending => _timer is not null;

    /// <summary>Counts one more failure and answers the delay before the next attempt, capped at <paramref name="cap"/> when given.</summary>
    public TimeSpan NextFailureDelay(TimeSpan? cap = null)
    {
        Failures++;
        return (cap is { } max ? backoff with { Cap = max } : backoff).AfterFailures(Failures);
    }

    /// <summary>The run of failures ended.</summary>
    public void ResetFailures() => Failures = 0;

    /// <summary>Runs the work once after <paramref name="delay"/>, replacing a timer still pending.</summary>
    public void Schedule(TimeSpan delay)
    {
        _timer?.Dispose();
        _timer = owner.RegisterGrainTimer(
            async _ =>
            {
                _timer = null;
                await owner.OnRetryDueAsync();
            },
            new GrainTimerCreationOptions { DueTime = delay, Period = Timeout.InfiniteTimeSpan, Interleave = false });
    }

    /// <summary>Drops the pending timer, if any.</summary>
    public void Cancel()
    {
        _timer?.Dispose();
        _timer = null;
    }

    /// <summary>
    /// Registers the backing reminder unless the state says it is registered. True when it was
    /// registered now (the flag is set: the caller saves the state); a failure is logged, and the
    /// timer still retries, and the next failure registers again.
    /// </summary>
    public async Task<bool> EnsureReminderAsync()
    {
        if (owner.RetryReminderRegistered)
        {
            return false;
        }

        try
        {
            await owner.RegisterOrUpdateReminder(reminderName, reminderPeriod, reminderPeriod);
        }
        catch (Exception ex)
        {
            owner.OnRetryReminderFailed(ex);
            return false;
        }

        owner.RetryReminderRegistered = true;
        return true;
    }

    /// <summary>
    /// Unregisters the backing reminder. True when it is gone (the flag is cleared: the caller
    /// saves the state); a failure is logged, and the reminder finds nothing to do and tries again.
    /// </summary>
    public async Task<bool> ForgetReminderAsync()
    {
        try
        {
            if (await owner.GetReminder(reminderName) is { } reminder)
            {
                await owner.UnregisterReminder(reminder);
            }
        }
        catch (Exception ex)
        {
            owner.OnRetryReminderFailed(ex);
            return false;
        }

        owner.RetryReminderRegistered = false;
        return true;
    }
}

/// <summary>What a grain that owns a <see cref="DurableRetry"/> provides.</summary>
internal interface IDurableRetryOwner : IGrainBase
{
    /// <summary>The persisted flag: the backing reminder is registered (the grain saves its state).</summary>
    bool RetryReminderRegistered { get; set; }

    /// <summary>The timer fired: run the work again.</summary>
    Task OnRetryDueAsync();

    /// <summary>Registering or unregistering the reminder failed (logged; the reminder service may be what failed).</summary>
    void OnRetryReminderFailed(Exception exception);
}
