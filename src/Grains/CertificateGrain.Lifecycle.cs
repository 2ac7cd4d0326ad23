using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

// The lifecycle of an issued certificate: the "lifecycle" reminder, renewal and its backoff,
// expiry alerts and the Expired condition, as LifecyclePolicy plans them.
public sealed partial class CertificateGrain
{
    /// <summary>The one reminder of a certificate: renewal, alerts and expiry, whichever comes first.</summary>
    internal const string LifecycleReminder = "lifecycle";

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ContinueReminder)
        {
            await OnContinueReminderAsync();
            return;
        }

        if (reminderName == RollReminder)
        {
            await OnRollReminderAsync();
            return;
        }

        if (reminderName == RetireReminder)
        {
            await OnRetireReminderAsync(status.CurrentTickTime);
            return;
        }

        if (reminderName != LifecycleReminder)
        {
            return;
        }

        // A new activation may receive a reminder an older one registered: all from the state.
        if (State.Spec is null || State.Material is null)
        {
            await UnregisterLifecycleAsync();
            return;
        }

        await RunLifecycleAsync();
    }

    /// <summary>Renews, alerts and reports expiry as <see cref="LifecyclePolicy"/> decides, then sets the next wake-up.</summary>
    /// <param name="why">Words the renewal's Event; null: its renewal time came.</param>
    private async Task RunLifecycleAsync(string? why = null)
    {
        await AdvanceRollIfAnyAsync();
        var material = State.Material!;
        var now = time.GetUtcNow();
        var thresholds = lifecycle.Value.EffectiveThresholds;
        var notAfter = LifecycleNotAfter(now) ?? material.NotAfter;
        var plan = LifecyclePolicy.Plan(now, notAfter, State.RenewalTime ?? material.NotAfter, State.NextRenewalAttempt, State.Pending is not null, thresholds, State.AlertsSent);

        if (plan.RenewNow)
        {
            // A renewal is an issuance: the name policy decides it too.
            await EvaluatePolicyAsync();
        }

        if (plan.RenewNow && HasValidSpec(out var valid))
        {
            var before = State.Revision;
            await IssueAsync(valid!, IssuePurpose.Renew, "Renewed", why ?? "its renewal time came");
            if (State.Revision == before && State.Pending is null)
            {
                await RenewalFailedAsync();
            }

            now = time.GetUtcNow();
            material = State.Material!;
            notAfter = LifecycleNotAfter(now) ?? material.NotAfter;
            plan = LifecyclePolicy.Plan(now, notAfter, State.RenewalTime ?? material.NotAfter, State.NextRenewalAttempt, State.Pending is not null, thresholds, State.AlertsSent);
        }
        else if (plan.RenewNow)
        {
            // The spec or the name policy refuses the renewal: not attempted, but said (once).
            await RenewalRefusedAsync();
        }

        if (plan.Alert is { } threshold)
        {
            foreach (var passed in plan.AlertsPassed)
            {
                State.AddAlertSent(passed);
            }

            await SaveAsync();
            var message = notAfter < material.NotAfter
                ? $"Keystores still serve serial {State.Serving!.SerialNumber}, which expires at {notAfter:O} (within {LifecyclePolicy.Describe(threshold)}): the switch to serial {material.SerialNumber} is overdue since {State.Roll!.Deadline:O}."
                : $"Certificate expires at {material.NotAfter:O} (within {LifecyclePolicy.Describe(threshold)}) and has not been renewed{(State.RenewalFailures > 0 ? $": {State.RenewalFailures} renewal attempt(s) failed" : string.Empty)}.";
            await AlertAsync("ExpiringSoon", message);
        }

        if (now >= notAfter && State.Conditions.Any(c => c.Type == Conditions.Ready && c.Status == Conditions.True))
        {
            await NotReadyAsync(new Problem(Reasons.Expired, $"The certificate expired at {notAfter:O} and could not be renewed."));
        }

        await ScheduleLifecycleAsync(WithRollDeadline(plan.NextWake, now));
    }

    private async Task RenewalFailedAsync()
    {
        State.RenewalFailures++;
        var delay = LifecyclePolicy.RenewalBackoff(State.RenewalFailures);
        State.NextRenewalAttempt = time.GetUtcNow() + delay;
        await SaveAsync();
        var cause = State.Conditions.FirstOrDefault(c => c.Type == Conditions.Issuing && c.Status == Conditions.False)?.Message
            ?? State.Conditions.FirstOrDefault(c => c.Type == Conditions.Ready && c.Status == Conditions.False)?.Message
            ?? "the issuer did not issue";
        await AlertAsync(Reasons.RenewalFailed, $"Renewal attempt {State.RenewalFailures} failed ({cause}); the current certificate stays in use until {State.Material!.NotAfter:O}; next attempt at {State.NextRenewalAttempt:O}.");
    }

    /// <summary>A Warning Event on the Certificate and, where configured, the alert sink (webhook).</summary>
    private async Task AlertAsync(string reason, string message)
    {
        Log.Alert(logger, _resource.ToString(), reason, message);
        await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Warning, reason, message);
        try
        {
            await alerts.SendAsync(new Alert { Reason = reason, Resource = _resource, Message = message, NotAfter = State.Material?.NotAfter, At = time.GetUtcNow(), Arn = State.Material?.Arn }, CancellationToken.None);
        }
        catch (Exception ex)
        {
            Log.AlertFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>Registers the lifecycle reminder without saving; a failure is logged, not thrown.</summary>
    private async Task TryScheduleLifecycleAsync()
    {
        try
        {
            await ScheduleLifecycleAsync(save: false);
        }
        catch (Exception ex)
        {
            State.ReminderDue = null;
            Log.ReminderFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>
    /// Registers the lifecycle reminder for the next thing to do, never further ahead than
    /// MaxReminderDelay: a longer wait is cut into pieces, each wake-up re-plans from the state.
    /// </summary>
    /// <param name="nextWake">The wake-up <see cref="LifecyclePolicy"/> planned; null plans it here.</param>
    /// <param name="keepInTime">
    /// Leave the registered reminder alone when it is still ahead and due no later than needed
    /// (it wakes the grain, which re-plans): a restart's resync then reads the state and writes
    /// nothing. A reminder already due is registered again, as Orleans skips a missed tick.
    /// </param>
    /// <param name="save">false: the caller saves the state (with <see cref="CertificateState.ReminderDue"/>) itself.</param>
    private async Task ScheduleLifecycleAsync(DateTimeOffset? nextWake = null, bool keepInTime = false, bool save = true)
    {
        if (State.Spec is null || State.Material is null)
        {
            return;
        }

        var now = time.GetUtcNow();
        if (nextWake is null)
        {
            var plan = LifecyclePolicy.Plan(now, LifecycleNotAfter(now) ?? State.Material.NotAfter, State.RenewalTime ?? State.Material.NotAfter, State.NextRenewalAttempt, State.Pending is not null, lifecycle.Value.EffectiveThresholds, State.AlertsSent);
            // Something due already (a silo was down at the time, or the clock moved on): at once.
            nextWake = plan.RenewNow || plan.Alert is not null ? now : WithRollDeadline(plan.NextWake, now);
        }
        if (nextWake is null)
        {
            await UnregisterLifecycleAsync(save);
            return;
        }

        var max = lifecycle.Value.MaxReminderDelay;
        var due = nextWake.Value - now;
        due = due < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : due > max ? max : due;
        if (keepInTime && State.ReminderDue is { } registered && registered > now && registered <= now + due)
        {
            return;
        }

        // The period only matters if a tick is missed; every tick re-registers from the plan.
        await this.RegisterOrUpdateReminder(LifecycleReminder, due, max);
        State.ReminderDue = now + due;
        if (save)
        {
            await SaveAsync();
        }
    }

    private async Task UnregisterLifecycleAsync(bool save = true)
    {
        var reminder = await this.GetReminder(LifecycleReminder);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }

        if (State.ReminderDue is not null)
        {
            // Saved, or a later resync would take the reminder for registered.
            State.ReminderDue = null;
            if (save)
            {
                await SaveAsync();
            }
        }
    }
}
