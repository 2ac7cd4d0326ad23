using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

// Make-before-break renewal (SPEC "Trust"): a renewal or spec-change re-issue of a certificate
// that already has a valid one puts the new certificate into every dependent truststore beside
// the current one, waits until every truststore acknowledged holding it plus
// Rotation:PropagationDelay, and only then switches the keystores (which build from the served
// revision). Bounded by Rotation:MaxWait and by the old certificate's expiry. The replaced
// certificate stays trusted (Previous) until it expires or Rotation:Overlap ends, and only then
// is it retired at the issuer. The overlap counts from the moment every keystore confirmed
// writing the new certificate (AcknowledgeKeystoreAsync), not from the switch decision: with
// Overlap and PropagationDelay zero, the old certificate then leaves truststores only once the
// service's keystore serves the new one (it was dropped before the keystore's write landed, which
// the renewal-storm benchmark found). A keystore that never confirms holds it no longer than
// Rotation:MaxWait (then the overlap counts anyway) or its expiry. A rotate (breach) does none of
// this: see CompleteAsync.
//
// Decisions written down here:
// - State.Material is always the newest certificate (status, renewal and alerts follow it);
//   State.Serving is what keystores keep serving during the roll. A re-issue during a roll (a
//   spec change, a renewal) replaces the unserved intermediate, which never reached a keystore:
//   it is dropped and retired, the roll keeps its start and deadline but needs every truststore
//   to acknowledge the newest certificate again. Stores skip the intermediate when they can.
// - Without dependent truststores nothing has to propagate: the keystore switches at once.
// - Truststores acknowledge after their store was written, or found already written, with the
//   newest revision (one-way calls: this grain never calls a truststore and waits).
// - While truststores are missing, the "roll" reminder wakes the grain every RenotifyInterval
//   to notify them again (a one-way notification lost with a silo is not lost for good).
public sealed partial class CertificateGrain
{
    internal const string RollReminder = "roll";

    /// <summary>How often a roll that waits for truststores notifies the missing ones again.</summary>
    private static readonly TimeSpan RenotifyInterval = TimeSpan.FromMinutes(10);

    /// <summary>The truststores that depend on this certificate (its truststore subscribers).</summary>
    private List<string> DependentTruststores() =>
        [.. State.Subscribers.Where(s => s.Kind == ResourceKind.Truststore).Select(s => s.Key)];

    /// <summary>The keystores that serve this certificate (its keystore subscribers).</summary>
    private List<string> DependentKeystores() =>
        [.. State.Subscribers.Where(s => s.Kind == ResourceKind.Keystore).Select(s => s.Key)];

    /// <summary>The revision keystores build from: the served one during a roll, the newest otherwise.</summary>
    private long ServedRevision => State.Serving is null ? State.Revision : State.ServingRevision;

    public async Task AcknowledgeKeystoreAsync(SubscriberRef keystore, long revision)
    {
        if (State.KeystoresWritten is not { } written || keystore.Kind != ResourceKind.Keystore || revision != ServedRevision || !written.Add(keystore.Key))
        {
            return;
        }

        // Saved (and the overlap started once the set is complete) by AdvanceRollAsync.
        await AdvanceRollAsync(forceSave: true);
    }

    /// <summary>
    /// Once every keystore confirmed writing the served certificate, the overlap of the previous
    /// certificates that waited for it starts now (never later than the bound they had). Saves
    /// nothing; true when something changed.
    /// </summary>
    private bool StartOverlapsIfKeystoresWritten()
    {
        if (State.KeystoresWritten is not { } written)
        {
            return false;
        }

        if (State.Previous?.Any(p => p.AwaitsKeystores) is not true)
        {
            // Nothing waits any more (dropped at its bound, by MaxPrevious, or by a rotate).
            State.KeystoresWritten = null;
            return true;
        }

        if (!DependentKeystores().All(written.Contains))
        {
            return false;
        }

        var now = time.GetUtcNow();
        State.Previous = [.. State.Previous!.Select(p => p.AwaitsKeystores
            ? p with { AwaitsKeystores = false, TrustedUntil = RollPolicy.TrustedUntilConfirmed(now, p.TrustedUntil, p.NotAfter, rotation.Value.Overlap, rotation.Value.PropagationDelay) }
            : p)];
        State.KeystoresWritten = null;
        return true;
    }

    // CONTRACT (issue 18): replaced by the rotation stream (SetIssuerCasAsync). OnIssuerChangedAsync: CertificateGrain.Issuers.cs.

    public async Task AcknowledgeTrustAsync(SubscriberRef truststore, long revision)
    {
        if (State.Roll is not { } roll || State.Serving is null || revision != State.Revision || truststore.Kind != ResourceKind.Truststore)
        {
            return;
        }

        if (!roll.Acknowledged.Add(truststore.Key))
        {
            return;
        }

        // The newest acknowledgement that completes the set is the last write: the propagation
        // delay counts from it, also when a truststore that subscribed late acknowledges after the
        // others (its pods must read it before the keystore switches too).
        if (DependentTruststores().All(roll.Acknowledged.Contains))
        {
            roll.AllWrittenAt = time.GetUtcNow();
        }

        await AdvanceRollAsync(forceSave: true);
    }

    /// <summary>
    /// Begins (or, during a roll, restarts for the newest certificate) a roll in which the keystore
    /// keeps serving <paramref name="served"/> of <paramref name="servedRevision"/>. Saved by the caller.
    /// </summary>
    private void BeginRoll(StoredMaterial served, long servedRevision, DateTimeOffset now)
    {
        State.Serving = served;
        State.ServingRevision = servedRevision;
        if (State.Roll is { } running)
        {
            running.Acknowledged.Clear();
            running.AllWrittenAt = null;
            return;
        }

        var (deadline, isExpiry) = RollPolicy.Deadline(now, served.NotAfter, rotation.Value.MaxWait, rotation.Value.PropagationDelay);
        State.Roll = new RollState { Started = now, Deadline = deadline, DeadlineIsExpiry = isExpiry };
        Log.RollStarted(logger, _resource.ToString(), State.Material!.SerialNumber, deadline);
    }

    /// <summary>Ends every overlap at once (rotate): nothing older than the new certificate is trusted any more.</summary>
    private List<string> DropRollAndOverlap()
    {
        var dropped = new List<string>();
        if (State.Serving is { } serving)
        {
            dropped.Add(serving.Arn);
        }

        dropped.AddRange(State.Previous?.Select(p => p.Arn) ?? []);
        State.Serving = null;
        State.ServingRevision = 0;
        State.Roll = null;
        State.Previous = null;
        State.KeystoresWritten = null;
        return dropped;
    }

    private RollStep? CurrentStep() => State.Roll is { } roll && State.Serving is not null
        ? RollPolicy.Step(new RollSnapshot(time.GetUtcNow(), roll.Deadline, roll.DeadlineIsExpiry, roll.AllWrittenAt, DependentTruststores(), roll.Acknowledged, rotation.Value.PropagationDelay))
        : null;

    /// <summary>
    /// Takes the roll as far as it can go now (switches when due, shows its phase otherwise),
    /// drops previous certificates whose overlap ended, and sets the roll reminder for what is next.
    /// </summary>
    private async Task AdvanceRollAsync(bool forceSave = false, bool renotify = false)
    {
        var dirty = forceSave;
        var publish = false;
        if (State.Roll is not null && State.Serving is null)
        {
            // Nothing served apart from the newest: no roll is left to finish.
            State.Roll = null;
            dirty = true;
        }

        if (State.Roll is { AllWrittenAt: null } waiting && State.Serving is not null && DependentTruststores().All(waiting.Acknowledged.Contains))
        {
            // Nothing is pending any more without an acknowledgement completing the set (the last
            // pending truststore was deleted or unsubscribed): the delay counts from now, once,
            // rather than from every look again (which would wait out MaxWait).
            waiting.AllWrittenAt = time.GetUtcNow();
            dirty = true;
        }

        switch (CurrentStep())
        {
            case RollStep.Switch @switch:
                await SwitchAsync(@switch);
                dirty = false;
                break;
            case RollStep.Wait wait:
                var message = wait.Phase == Reasons.Propagating
                    ? $"Every dependent truststore holds serial {State.Material!.SerialNumber}; the keystore switches to it at {wait.Until:O}, after the propagation delay ({rotation.Value.PropagationDelay})."
                    : $"Serial {State.Material!.SerialNumber} is being written to the dependent truststores beside serial {State.Serving!.SerialNumber} ({DependentTruststores().Count - wait.Pending.Count} of {DependentTruststores().Count} hold it; waiting for {string.Join(", ", wait.Pending)}); the keystore switches once all are written plus {rotation.Value.PropagationDelay}, at the latest at {State.Roll!.Deadline:O}.";
                if (ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.True, wait.Phase, message, time.GetUtcNow(), State.Origin?.Generation ?? 0))
                {
                    dirty = publish = true;
                }

                if (renotify && wait.Pending.Count > 0)
                {
                    Notify(State.Revision, wait.Pending);
                }

                break;
        }

        dirty |= StartOverlapsIfKeystoresWritten();
        dirty |= await DropEndedOverlapsAsync();
        dirty |= await ScheduleRollAsync();
        if (dirty)
        {
            await SaveAsync();
        }

        if (publish)
        {
            await PublishAsync();
        }
    }

    private async Task SwitchAsync(RollStep.Switch @switch)
    {
        var now = time.GetUtcNow();
        var old = State.Serving!;
        var material = State.Material!;
        // The overlap starts once every keystore confirmed serving the new certificate (see the
        // header); until then trustedUntil is only its bound. Without keystores: from now.
        var awaitsKeystores = DependentKeystores().Count > 0;
        var trustedUntil = awaitsKeystores
            ? RollPolicy.TrustedUntilAwaitingKeystores(now, old.NotAfter, rotation.Value.Overlap, rotation.Value.PropagationDelay, rotation.Value.MaxWait)
            : RollPolicy.TrustedUntil(now, old.NotAfter, rotation.Value.Overlap, rotation.Value.PropagationDelay);
        (State.Previous ??= []).Add(new TrustedPrevious(old.Arn, old.CertificatePem, old.ChainPem, old.SerialNumber, old.NotAfter, trustedUntil) { AwaitsKeystores = awaitsKeystores });
        if (awaitsKeystores)
        {
            // A new served revision: the keystores confirm it afresh (earlier previous certificates
            // still waiting start their overlap with this one).
            State.KeystoresWritten = new HashSet<string>(StringComparer.Ordinal);
        }

        var dependents = DependentTruststores().Count;
        State.Serving = null;
        State.ServingRevision = 0;
        State.Roll = null;
        ConditionList.Remove(State.Conditions, Conditions.Issuing);
        await ScheduleRollAsync();
        await SaveAsync();
        Log.RollSwitched(logger, _resource.ToString(), material.SerialNumber, @switch.Cause.ToString(), @switch.LeftBehind.Count);
        await PublishAsync();
        // The keystores build from the served revision, which is now the newest; truststores
        // already hold it and skip the notification.
        NotifySubscribers(State.Revision);
        var why = @switch.Cause switch
        {
            SwitchCause.AllWritten => $"all {dependents} dependent truststore(s) hold it and the propagation delay ({rotation.Value.PropagationDelay}) passed",
            SwitchCause.MaxWait => $"Rotation:MaxWait ({rotation.Value.MaxWait}) passed",
            _ => $"serial {old.SerialNumber} expires at {old.NotAfter:O}",
        };
        await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Normal, "KeystoreSwitched",
            awaitsKeystores
                ? $"Keystores switched to serial {material.SerialNumber} (revision {State.Revision}) because {why}; serial {old.SerialNumber} stays trusted until every keystore serves the new one, then for the overlap, at the latest until {trustedUntil:O}."
                : $"Keystores switched to serial {material.SerialNumber} (revision {State.Revision}) because {why}; serial {old.SerialNumber} stays trusted until {trustedUntil:O}.");
        if (@switch.LeftBehind.Count > 0)
        {
            await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Warning, Reasons.TruststoresLeftBehind,
                $"Keystores switched to serial {material.SerialNumber} because {why} before these truststores held it: {string.Join(", ", @switch.LeftBehind)}. Their services refuse the new certificate until they are written; see their Ready condition.");
        }
    }

    /// <summary>Drops previous certificates whose overlap ended, tells the truststores, retires them at the issuer. Saves nothing; true when something changed.</summary>
    private async Task<bool> DropEndedOverlapsAsync()
    {
        var now = time.GetUtcNow();
        var endedAt = State.Previous is { Count: > 0 } list ? RollPolicy.EndedOverlaps(now, [.. list.Select(p => p.TrustedUntil)], RollPolicy.MaxPrevious) : [];
        if (endedAt.Count == 0)
        {
            return false;
        }

        var previous = State.Previous!;
        var ended = endedAt.Select(i => previous[i]).ToList();
        previous.RemoveAll(ended.Contains);
        if (previous.Count == 0)
        {
            State.Previous = null;
        }

        await SaveAsync();
        // Revision 0: nothing was issued, but what truststores contain changed.
        NotifySubscribers(0);
        foreach (var gone in ended)
        {
            Log.PreviousDropped(logger, _resource.ToString(), gone.SerialNumber);
            if (InUse(gone.Arn) is false)
            {
                // Out of every truststore now: only here is the replaced certificate retired (an
                // ACM renewal keeps its ARN, which InUse keeps).
                await RetireAsync(gone.Arn, RetireReason.Replaced, throwOnFailure: false);
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="arn"/> still names a certificate this grain serves or trusts.</summary>
    private bool InUse(string arn) =>
        State.Material?.Arn == arn || State.Serving?.Arn == arn || (State.Previous?.Any(p => p.Arn == arn) ?? false);

    /// <summary>Registers the roll reminder for the next roll step or overlap end, or unregisters it; saves nothing; true when the state changed.</summary>
    private async Task<bool> ScheduleRollAsync()
    {
        var now = time.GetUtcNow();
        DateTimeOffset? next = null;
        if (CurrentStep() is RollStep.Wait wait)
        {
            next = wait.Pending.Count > 0 && now + RenotifyInterval < wait.Until ? now + RenotifyInterval : wait.Until;
        }
        else if (State.Roll is not null && State.Serving is not null)
        {
            // A switch is due (the caller switches): look again at once should it not happen.
            next = now;
        }

        foreach (var previous in State.Previous ?? [])
        {
            next = next is null || previous.TrustedUntil < next ? previous.TrustedUntil : next;
        }

        try
        {
            if (next is null)
            {
                if (!State.RollReminderRegistered)
                {
                    return false;
                }

                var reminder = await this.GetReminder(RollReminder);
                if (reminder is not null)
                {
                    await this.UnregisterReminder(reminder);
                }

                State.RollReminderRegistered = false;
                return true;
            }

            var max = lifecycle.Value.MaxReminderDelay;
            var due = next.Value - now;
            due = due < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : due > max ? max : due;
            await this.RegisterOrUpdateReminder(RollReminder, due, max);
            var changed = !State.RollReminderRegistered;
            State.RollReminderRegistered = true;
            return changed;
        }
        catch (Exception ex)
        {
            // The next apply or resync (ApplyAsync), acknowledgement or lifecycle tick
            // (RunLifecycleAsync) advances the roll again and registers the reminder then.
            Log.RollReminderFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
            return false;
        }
    }

    /// <summary>
    /// The "roll" reminder: a new activation may receive it, everything comes from the state. A
    /// reminder firing proves it is registered, whatever the state recorded (a registration whose
    /// flag was lost, e.g. by a failed unregistration at delete): with nothing to do it
    /// unregisters itself rather than firing for ever.
    /// </summary>
    private async Task OnRollReminderAsync()
    {
        if (State.Spec is null)
        {
            var reminder = await this.GetReminder(RollReminder);
            if (reminder is not null)
            {
                await this.UnregisterReminder(reminder);
            }

            return;
        }

        State.RollReminderRegistered = true;
        await AdvanceRollAsync(renotify: true);
    }

    /// <summary>
    /// The expiry lifecycle alerts, Expired and the expiry metric follow: the newest certificate's,
    /// except when a roll is overdue (its deadline passed, so it should have switched, and the
    /// keystores still serve the older certificate): then the served certificate's, if sooner. A
    /// stalled roll thus alerts before what the service presents expires; a roll on time does
    /// not (the served certificate is within the alert thresholds during every renewal).
    /// </summary>
    private DateTimeOffset? LifecycleNotAfter(DateTimeOffset now) =>
        State.Roll is { } roll && now >= roll.Deadline && State.Serving is { } serving && State.Material is { } material && serving.NotAfter < material.NotAfter
            ? serving.NotAfter
            : State.Material?.NotAfter;

    /// <summary>
    /// The lifecycle wake-up no later than the roll's deadline, while it is ahead: should every
    /// roll reminder have failed, the lifecycle tick advances the roll (RunLifecycleAsync).
    /// </summary>
    private DateTimeOffset? WithRollDeadline(DateTimeOffset? wake, DateTimeOffset now) =>
        State.Roll is { } roll && roll.Deadline > now && (wake is null || roll.Deadline < wake) ? roll.Deadline : wake;

    /// <summary>
    /// Advances a roll from an apply, a resync or a lifecycle tick, not only from its own reminder
    /// and acknowledgements (a failed reminder registration or a crash between saving a roll and
    /// scheduling it would otherwise stall it until the old certificate expires). Only when a roll
    /// runs, or previous certificates have no reminder recorded: a resync costs no reminder write.
    /// </summary>
    private Task AdvanceRollIfAnyAsync() =>
        State.Roll is not null || (State.Previous is { Count: > 0 } && !State.RollReminderRegistered) ? AdvanceRollAsync() : Task.CompletedTask;

    /// <summary>What truststores trust beside the newest certificate: the one keystores still serve, then the previous ones.</summary>
    private List<PublicMaterial>? AlsoTrusted()
    {
        if (State.Serving is null && State.Previous is not { Count: > 0 })
        {
            return null;
        }

        var also = new List<PublicMaterial>();
        if (State.Serving is { } serving)
        {
            also.Add(new PublicMaterial(serving.Arn, serving.CertificatePem, serving.ChainPem, serving.SerialNumber, serving.NotAfter));
        }

        also.AddRange((State.Previous ?? []).Where(p => p.SerialNumber != State.Material?.SerialNumber && also.All(a => a.SerialNumber != p.SerialNumber)).Select(p => p.ToPublic()));
        return also;
    }
}
