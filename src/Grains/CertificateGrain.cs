using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

/// <summary>
/// One Certificate: validates its spec, issues through the issuer port when the certificate must
/// change, keeps serial, validity, renewal time and revision, and tells its subscribers (the
/// keystores and truststores using it) whenever the certificate changes or goes away.
/// </summary>
public sealed class CertificateGrain(
    [PersistentState("certificate", GrainStorage.Name)] IPersistentState<CertificateState> state,
    IIssuerResolver issuers,
    IStatusWriter statusWriter,
    IEventRecorder events,
    IAlertSink alerts,
    INotaryMetrics metrics,
    IOptions<LifecycleOptions> lifecycle,
    TimeProvider time,
    ILogger<CertificateGrain> logger) : Grain, ICertificateGrain, IRemindable
{
    /// <summary>The one reminder of a certificate: renewal, alerts and expiry, whichever comes first.</summary>
    internal const string LifecycleReminder = "lifecycle";

    /// <summary>
    /// Backs up the continuation timer (an issuance in progress, or a retry after a transient
    /// failure): the timer goes with its activation, which Orleans drops when the silo holding
    /// its directory entry dies or when it is idle, and no lifecycle reminder exists before the
    /// first issuance. Fires every <see cref="ContinueReminderPeriod"/> until nothing is left to continue.
    /// </summary>
    public const string ContinueReminder = "continue";

    /// <summary>Orleans' shortest reminder period.</summary>
    public static readonly TimeSpan ContinueReminderPeriod = TimeSpan.FromMinutes(1);

    /// <summary>
    /// One issuer step is bounded well inside Orleans' 30 s call timeout, so a slow issuer never
    /// makes callers (the watcher, subscribing stores) time out; an unfinished step continues later.
    /// </summary>
    internal static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Steps that answer "continue at once" run inline while this much of the turn is left.</summary>
    private static readonly TimeSpan InlineBudget = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);

    private readonly Reporter _reporter = new(statusWriter, events, logger, ResourceKind.Certificate);
    private ResourceKey _resource;
    private IGrainTimer? _continue;
    private int _failures;

    private CertificateState State => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = ResourceKey.Parse(this.GetPrimaryKeyString());
        // Many certificates share a namespace: one copy of its name for all their activations.
        _resource = key with { Namespace = SharedText.Of(key.Namespace)! };
        State.Compact();
        return Task.CompletedTask;
    }

    public async Task<CertificateStatus> ApplyAsync(CertificateSpec spec, ResourceVersionInfo origin)
    {
        if (State.Origin is { } current && current.Uid == origin.Uid && origin.Generation < current.Generation)
        {
            Log.Stale(logger, nameof(ResourceKind.Certificate), _resource.ToString(), origin.Generation, current.Generation);
            return BuildStatus();
        }

        var done = State.Reconciled == origin && State.Spec is not null && CertificatePolicy.SameSpec(State.Spec, spec);
        // A resync sends the same spec and origin again, as new objects: keep the ones held (the
        // spec issued for and the origin reconciled point at them too) and let these go.
        State.Spec = State.Spec is not null && CertificateState.SameValue(State.Spec, spec) ? State.Spec : SharedText.Of(spec);
        State.Origin = State.Reconciled == origin ? State.Reconciled : origin;
        if (done)
        {
            // A resync of what was already applied: publish again in case the last write failed,
            // and make sure the lifecycle reminder exists (a failed registration is repaired here).
            await PublishAsync();
            await ScheduleLifecycleAsync(keepInTime: true);
            return BuildStatus();
        }

        await RegisterTagAsync(spec.Fqdn);
        var (valid, problem) = CertificatePolicy.Validate(spec);
        problem ??= CheckIssuer(spec);
        if (problem is not null)
        {
            State.Reconciled = origin;
            return await NotReadyAsync(problem);
        }

        if (State.Material is not null && State.IssuedFor is not null && !CertificatePolicy.AffectsCertificate(State.IssuedFor, spec))
        {
            // Nothing the certificate contains changed (e.g. only renewBefore): move the renewal time.
            State.RenewalTime = CertificatePolicy.RenewalTime(State.Material.NotBefore, State.Material.NotAfter, valid!.RenewBefore);
            SetReady(Reasons.Issued, $"Certificate is valid until {State.Material.NotAfter:O}.");
            ConditionList.Remove(State.Conditions, Conditions.Issuing);
            State.Reconciled = origin;
            await SaveAsync();
            await PublishAsync();
            await ScheduleLifecycleAsync();
            return BuildStatus();
        }

        return State.Material is null
            ? await IssueAsync(valid!, IssuePurpose.Issue, "Issued", "the certificate was created")
            : await IssueAsync(valid!, IssuePurpose.Issue, "Reissued", "the spec changed");
    }

    public async Task<CertificateStatus> ReissueAsync(string reason)
    {
        if (State.Spec is null)
        {
            throw new InvalidOperationException($"Certificate {_resource} does not exist.");
        }

        var (valid, problem) = CertificatePolicy.Validate(State.Spec);
        problem ??= CheckIssuer(State.Spec);
        if (problem is not null)
        {
            return await NotReadyAsync(problem);
        }

        return await IssueAsync(valid!, IssuePurpose.Rotate, "Reissued", reason);
    }

    public async Task DeleteAsync()
    {
        if (State.Spec is null && State.RegisteredFqdn is null)
        {
            return;
        }

        if (State.RegisteredFqdn is not null)
        {
            await GrainFactory.GetGrain<ICertificateTagGrain>(_resource.Name).UnregisterAsync(_resource.Namespace);
        }

        // Let go of what the issuer holds first: when that fails, the delete fails and is
        // retried (the finalizer keeps the resource), with the state still naming what to retire.
        await RetireAsync(State.Pending?.Ticket, RetireReason.Deleted, throwOnFailure: true);
        await RetireAsync(State.Material?.Arn, RetireReason.Deleted, throwOnFailure: true);
        CancelContinuation();
        await ForgetContinuationAsync();

        await UnregisterLifecycleAsync();
        metrics.CertificateRemoved(_resource);
        var uid = State.Origin?.Uid;
        // Subscribers stay: a Certificate created again under this name serves them again. The
        // revision stays too, so that a re-created certificate never repeats a revision a store
        // was built from.
        state.State = State.Deleted();
        await SaveAsync();
        _reporter.Reset();
        Log.Deleted(logger, nameof(ResourceKind.Certificate), _resource.ToString());
        NotifySubscribers(-1);
        await _reporter.EventAsync(_resource, uid, EventSeverity.Normal, Reasons.Deleted, "Certificate deleted; stores that use it keep their last contents.");
    }

    public Task<CertificateSnapshot> GetSnapshotAsync()
    {
        var spec = State.Spec;
        // Material issued for an older spec (a change whose re-issue has not succeeded) is not
        // this certificate any more: stores keep what they have rather than rebuild from it.
        var material = CurrentMaterial();
        var published = material is null ? null : new PublicMaterial(material.Arn, material.CertificatePem, material.ChainPem, material.SerialNumber, material.NotAfter);
        return Task.FromResult(new CertificateSnapshot(_resource, spec is not null, spec?.Fqdn, State.Revision, published, State.Quarantined));
    }

    public Task<IssuedMaterial?> GetIssuedMaterialAsync(long revision) =>
        Task.FromResult(revision == State.Revision ? CurrentMaterial()?.ToIssued() : null);

    private StoredMaterial? CurrentMaterial() =>
        State.Spec is not null && State.IssuedFor is not null && !CertificatePolicy.AffectsCertificate(State.IssuedFor, State.Spec) ? State.Material : null;

    public Task<CertificateStatus?> GetStatusAsync() => Task.FromResult(State.Spec is null ? null : BuildStatus());

    public async Task SubscribeAsync(SubscriberRef subscriber)
    {
        if (State.AddSubscriber(subscriber))
        {
            await SaveAsync();
        }
    }

    public async Task UnsubscribeAsync(SubscriberRef subscriber)
    {
        if (State.RemoveSubscriber(subscriber))
        {
            await SaveAsync();
        }
    }

    private async Task<CertificateStatus> IssueAsync(ValidCertificateSpec valid, IssuePurpose purpose, string eventReason, string why)
    {
        var spec = State.Spec!;
        var issuer = issuers.Resolve(spec.Issuer)!;
        if (State.Pending is { } abandoned && !(abandoned.Purpose == purpose && CertificatePolicy.SameSpec(abandoned.For, spec) && !CertificatePolicy.AffectsCertificate(abandoned.For, spec)))
        {
            // The spec changed (or a rotation overtook) while an issuance was in progress: start
            // over, and let the issuer drop what it had started.
            State.Pending = null;
            await RetireAsync(abandoned.Ticket, RetireReason.Replaced, throwOnFailure: false);
        }

        CancelContinuation();
        var started = time.GetUtcNow();
        while (true)
        {
            var request = new IssueRequest
            {
                Resource = _resource,
                Origin = State.Pending?.Origin ?? State.Origin!,
                Type = spec.Type,
                Fqdn = spec.Fqdn,
                Alt = spec.Alt,
                Lifetime = valid.Lifetime,
                Key = valid.Key,
                Revision = State.Revision,
                Purpose = purpose,
                CurrentArn = State.Material?.Arn,
                Ticket = State.Pending?.Ticket,
                Step = State.Pending?.Steps ?? 0,
            };

            IssueProgress progress;
            try
            {
                using var step = new CancellationTokenSource(StepTimeout, time);
                progress = await issuer.IssueAsync(request, step.Token);
            }
            catch (IssuerRejectedException ex)
            {
                // Final for this spec: adapters word these messages for users (no secret in them).
                State.Reconciled = State.Origin;
                State.Pending = null;
                _failures = 0;
                metrics.Count(_resource, "failed");
                return await IssuanceFailedAsync(new Problem(ex.Reason, $"Issuer \"{issuer.Name}\" rejected the certificate: {ex.Message}"));
            }
            catch (IssuerFailedException ex)
            {
                // Transient, with a message the issuer worded for users (e.g. an AWS error code).
                Log.IssueFailed(logger, _resource.ToString(), ex.Reason, ex.Message);
                metrics.Count(_resource, "failed");
                await ScheduleContinuationAsync(NextRetryDelay());
                return await IssuanceFailedAsync(new Problem(ex.Reason, $"Issuer \"{issuer.Name}\" failed: {ex.Message} Notary retries."));
            }
            catch (Exception ex)
            {
                // Transient: retried with capped backoff (and on the next apply). Only the error's
                // type reaches status and events, which more people can read than the logs.
                Log.IssueFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
                metrics.Count(_resource, "failed");
                await ScheduleContinuationAsync(NextRetryDelay());
                return await IssuanceFailedAsync(new Problem(Reasons.IssueFailed, $"Issuer \"{issuer.Name}\" failed ({ex.GetType().Name}); Notary retries, and its log has the details."));
            }

            _failures = 0;
            if (progress.Material is { } material)
            {
                return await CompleteAsync(valid, issuer, material, purpose, eventReason, why);
            }

            await PendingAsync(progress, purpose, eventReason, why);
            if (progress.RetryAfter > TimeSpan.Zero || time.GetUtcNow() - started > InlineBudget)
            {
                await ScheduleContinuationAsync(progress.RetryAfter);
                return BuildStatus();
            }
        }
    }

    private async Task<CertificateStatus> CompleteAsync(ValidCertificateSpec valid, ICertificateIssuer issuer, IssuedMaterial material, IssuePurpose purpose, string eventReason, string why)
    {
        var previous = State.Material?.Arn;
        var rotated = purpose == IssuePurpose.Rotate;
        State.ClearAlertsSent();
        State.RenewalFailures = 0;
        State.NextRenewalAttempt = null;
        State.Material = StoredMaterial.From(material);
        State.IssuedFor = State.Spec;
        State.Reconciled = State.Origin;
        State.Pending = null;
        State.Revision++;
        State.RenewalTime = CertificatePolicy.RenewalTime(material.NotBefore, material.NotAfter, valid.RenewBefore);
        SetReady(Reasons.Issued, $"Certificate is valid until {material.NotAfter:O}.");
        ConditionList.Remove(State.Conditions, Conditions.Issuing);
        // The lifecycle reminder is registered before the state is saved, so that one write
        // persists both the certificate and when its reminder is due: an issuance costs one state
        // write (a Redis round trip in production), not two. A failed registration does not hold
        // the certificate back: it is saved without ReminderDue, and the next apply or resync
        // registers the reminder (renewal and alerts are days away, the resync minutes).
        await TryScheduleLifecycleAsync();
        // Persist before anyone hears of it: a crash after this point loses no certificate.
        await SaveAsync();
        Log.Issued(logger, _resource.ToString(), material.SerialNumber, State.Revision, material.NotAfter);
        // Status first: Ready=True is what kubectl wait, a GitOps sync and the subscribed stores
        // wait for, so the Event (an audit record nobody waits on) no longer delays it by a
        // round trip to the API server.
        await PublishAsync();
        NotifySubscribers(State.Revision);
        await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Normal, eventReason,
            $"Issued serial {material.SerialNumber} (revision {State.Revision}) by {issuer.Name} because {why}; valid until {material.NotAfter:O}.");
        metrics.Count(_resource, purpose == IssuePurpose.Renew ? "renewed" : "issued");
        await ForgetContinuationAsync();
        if (previous is not null && previous != material.Arn)
        {
            // The old certificate is out of every store once subscribers rebuild; a failure here
            // leaves an unused certificate at the issuer, never a broken service.
            await RetireAsync(previous, rotated ? RetireReason.Compromised : RetireReason.Replaced, throwOnFailure: false);
        }

        return BuildStatus();
    }

    /// <summary>
    /// Records an issuance in progress. A valid current certificate keeps the resource Ready
    /// (Issuing=True says a new one is on its way); without one, Ready=False with the issuer's
    /// reason (Issuing, or PendingValidation with the DNS records to create).
    /// </summary>
    private async Task PendingAsync(IssueProgress progress, IssuePurpose purpose, string eventReason, string why)
    {
        var pending = new PendingIssuance
        {
            Ticket = progress.Ticket ?? throw new InvalidOperationException("An issuer reported progress without a ticket."),
            Purpose = purpose,
            For = State.Spec!,
            Origin = State.Pending?.Origin ?? State.Origin!,
            Reason = progress.Reason,
            Message = progress.Message,
            ValidationRecords = progress.ValidationRecords,
            EventReason = eventReason,
            Why = why,
        };
        var changed = State.Pending is null || State.Pending.Ticket != pending.Ticket || State.Pending.Reason != pending.Reason;
        pending = pending with { Steps = State.Pending?.Ticket == pending.Ticket ? State.Pending.Steps + 1 : 0 };
        State.Pending = pending;
        var now = time.GetUtcNow();
        var generation = State.Origin?.Generation ?? 0;
        ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.True, progress.Reason, progress.Message, now, generation);
        if (!HasValidMaterial())
        {
            ConditionList.Set(State.Conditions, Conditions.Ready, Conditions.False, progress.Reason, progress.Message, now, generation);
        }

        await SaveAsync();
        if (changed && progress.Reason == Reasons.PendingValidation)
        {
            await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Normal, Reasons.PendingValidation, progress.Message);
        }

        await PublishAsync();
    }

    /// <summary>Continues an issuance in progress, or retries a failed one (grain timer, or the continuation reminder).</summary>
    /// <param name="registered">Whether the continuation reminder is registered, when known better than the state (a tick proves it is).</param>
    private async Task ContinueAsync(bool? registered = null)
    {
        _continue = null;
        if (State.Spec is null)
        {
            return;
        }

        if (!HasValidSpec(out var valid))
        {
            // The spec became invalid (or its issuer went) while an issuance was in progress: the
            // apply reported it, and nothing continues until a new apply fixes it, which starts
            // again. A reminder kept here would tick for nothing every minute, forever.
            await ForgetContinuationAsync(registered);
            return;
        }

        if (State.Pending is { } pending)
        {
            await IssueAsync(valid!, pending.Purpose, pending.EventReason, pending.Why);
        }
        else if (State.Reconciled != State.Origin)
        {
            // A transient failure left the apply unfinished: the same decision ApplyAsync makes.
            var first = State.Material is null;
            if (first || State.IssuedFor is null || CertificatePolicy.AffectsCertificate(State.IssuedFor, State.Spec))
            {
                await IssueAsync(valid!, IssuePurpose.Issue, first ? "Issued" : "Reissued", first ? "the certificate was created" : "the spec changed");
            }
        }
    }

    private async Task ScheduleContinuationAsync(TimeSpan delay)
    {
        _continue?.Dispose();
        _continue = this.RegisterGrainTimer(
            async _ => await ContinueAsync(),
            new GrainTimerCreationOptions { DueTime = delay, Period = Timeout.InfiniteTimeSpan, Interleave = false });
        if (State.ContinueRegistered || !HasWorkToContinue())
        {
            // A failed renewal leaves nothing to continue: the lifecycle reminder retries it.
            return;
        }

        try
        {
            // Once per issuance in progress or run of failures: one write to the reminder table.
            await this.RegisterOrUpdateReminder(ContinueReminder, ContinueReminderPeriod, ContinueReminderPeriod);
        }
        catch (Exception ex)
        {
            // The reminder service may be what failed (its silo is down): the timer still
            // continues, and the next step registers the reminder again.
            Log.ContinueReminderFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
            return;
        }

        State.ContinueRegistered = true;
        await SaveAsync();
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

        try
        {
            if (await this.GetReminder(ContinueReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }
        }
        catch (Exception ex)
        {
            Log.ContinueReminderFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
            return;
        }

        if (State.ContinueRegistered)
        {
            State.ContinueRegistered = false;
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

        if (_continue is null)
        {
            await ContinueAsync(registered: true);
        }
    }

    private void CancelContinuation()
    {
        _continue?.Dispose();
        _continue = null;
    }

    /// <summary>Doubles per consecutive failure from one second, capped at five minutes.</summary>
    private TimeSpan NextRetryDelay()
    {
        _failures++;
        return TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, FirstRetryDelay.Ticks << Math.Min(_failures - 1, 20)));
    }

    private async Task RetireAsync(string? arn, RetireReason reason, bool throwOnFailure)
    {
        if (arn is null)
        {
            return;
        }

        var issuer = issuers.Resolve(State.Spec?.Issuer);
        if (issuer is null)
        {
            return;
        }

        try
        {
            using var step = new CancellationTokenSource(StepTimeout, time);
            await issuer.RetireAsync(arn, reason, step.Token);
        }
        catch (Exception ex) when (!throwOnFailure)
        {
            Log.RetireFailed(logger, _resource.ToString(), arn, ex.GetType().Name, ex.Message);
        }
    }

    private bool HasValidMaterial() =>
        State.Material is not null && State.IssuedFor is not null && State.Spec is not null
        && !CertificatePolicy.AffectsCertificate(State.IssuedFor, State.Spec) && State.Material.NotAfter > time.GetUtcNow();

    public Task<IReadOnlyList<SubscriberRef>> GetSubscribersAsync() =>
        Task.FromResult<IReadOnlyList<SubscriberRef>>([.. State.Subscribers.OrderBy(s => s.Kind).ThenBy(s => s.Key, StringComparer.Ordinal)]);

    public async Task<CertificateStatus> SetQuarantinedAsync(bool quarantined, string reason)
    {
        if (State.Spec is null)
        {
            throw new InvalidOperationException($"Certificate {_resource} does not exist.");
        }

        if (State.Quarantined == quarantined)
        {
            return BuildStatus();
        }

        State.Quarantined = quarantined;
        var now = time.GetUtcNow();
        var generation = State.Origin?.Generation ?? 0;
        if (quarantined)
        {
            ConditionList.Set(State.Conditions, Conditions.Compromised, Conditions.True, "Quarantined", $"Quarantined: {reason}. Truststores no longer trust it until the quarantine is lifted.", now, generation);
        }
        else
        {
            ConditionList.Set(State.Conditions, Conditions.Compromised, Conditions.False, "QuarantineLifted", $"The quarantine was lifted: {reason}.", now, generation);
        }

        await SaveAsync();
        await _reporter.EventAsync(_resource, State.Origin?.Uid, quarantined ? EventSeverity.Warning : EventSeverity.Normal,
            quarantined ? "Quarantined" : "QuarantineLifted", quarantined ? $"Certificate quarantined: {reason}." : $"Quarantine lifted: {reason}.");
        await PublishAsync();
        // Revision 0: nothing was issued, but what truststores may contain changed.
        NotifySubscribers(0);
        return BuildStatus();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ContinueReminder)
        {
            await OnContinueReminderAsync();
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
    private async Task RunLifecycleAsync()
    {
        var material = State.Material!;
        var now = time.GetUtcNow();
        var thresholds = lifecycle.Value.EffectiveThresholds;
        var plan = LifecyclePolicy.Plan(now, material.NotAfter, State.RenewalTime ?? material.NotAfter, State.NextRenewalAttempt, State.Pending is not null, thresholds, State.AlertsSent);

        if (plan.RenewNow && HasValidSpec(out var valid))
        {
            var before = State.Revision;
            await IssueAsync(valid!, IssuePurpose.Renew, "Renewed", "its renewal time came");
            if (State.Revision == before && State.Pending is null)
            {
                await RenewalFailedAsync();
            }

            now = time.GetUtcNow();
            material = State.Material!;
            plan = LifecyclePolicy.Plan(now, material.NotAfter, State.RenewalTime ?? material.NotAfter, State.NextRenewalAttempt, State.Pending is not null, thresholds, State.AlertsSent);
        }

        if (plan.Alert is { } threshold)
        {
            foreach (var passed in plan.AlertsPassed)
            {
                State.AddAlertSent(passed);
            }

            await SaveAsync();
            var message = $"Certificate expires at {material.NotAfter:O} (within {LifecyclePolicy.Describe(threshold)}) and has not been renewed{(State.RenewalFailures > 0 ? $": {State.RenewalFailures} renewal attempt(s) failed" : string.Empty)}.";
            await AlertAsync("ExpiringSoon", message);
        }

        if (now >= material.NotAfter && State.Conditions.Any(c => c.Type == Conditions.Ready && c.Status == Conditions.True))
        {
            await NotReadyAsync(new Problem(Reasons.Expired, $"The certificate expired at {material.NotAfter:O} and could not be renewed."));
        }

        await ScheduleLifecycleAsync(plan.NextWake);
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
            var plan = LifecyclePolicy.Plan(now, State.Material.NotAfter, State.RenewalTime ?? State.Material.NotAfter, State.NextRenewalAttempt, State.Pending is not null, lifecycle.Value.EffectiveThresholds, State.AlertsSent);
            // Something due already (a silo was down at the time, or the clock moved on): at once.
            nextWake = plan.RenewNow || plan.Alert is not null ? now : plan.NextWake;
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

    private bool HasValidSpec(out ValidCertificateSpec? valid)
    {
        valid = null;
        if (State.Spec is null || CheckIssuer(State.Spec) is not null)
        {
            return false;
        }

        var (checkedSpec, problem) = CertificatePolicy.Validate(State.Spec);
        valid = checkedSpec;
        return problem is null;
    }

    private async Task PublishAsync()
    {
        var status = BuildStatus();
        await _reporter.PublishAsync(_resource, status);
        metrics.CertificateObserved(_resource, State.Material?.NotAfter, State.RenewalTime, status.IsReady);
    }

    private Problem? CheckIssuer(CertificateSpec spec)
    {
        var issuer = issuers.Resolve(spec.Issuer);
        if (issuer is null)
        {
            return new Problem(Reasons.UnknownIssuer, $"spec.issuer \"{spec.Issuer}\" is not configured; configured issuers: {string.Join(", ", issuers.Names)}.");
        }

        if (!issuer.Supports(spec.Type))
        {
            return new Problem(Reasons.UnsupportedType, $"Issuer \"{issuer.Name}\" cannot issue {spec.Type} certificates; choose an issuer that can (ACM for Public certificates).");
        }

        return null;
    }

    /// <summary>
    /// A failed issuance. While the current certificate still matches the spec and is valid it
    /// stays Ready (services keep working); the failure shows as Issuing=False. Otherwise the
    /// certificate is not ready.
    /// </summary>
    private async Task<CertificateStatus> IssuanceFailedAsync(Problem problem)
    {
        if (!HasValidMaterial())
        {
            return await NotReadyAsync(problem);
        }

        var changed = ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.False, problem.Reason, problem.Message, time.GetUtcNow(), State.Origin?.Generation ?? 0);
        await SaveAsync();
        if (changed)
        {
            await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Warning, problem.Reason, problem.Message);
        }

        await PublishAsync();
        return BuildStatus();
    }

    private async Task<CertificateStatus> NotReadyAsync(Problem problem)
    {
        var changed = ConditionList.Set(State.Conditions, Conditions.Ready, Conditions.False, problem.Reason, problem.Message, time.GetUtcNow(), State.Origin?.Generation ?? 0);
        await SaveAsync();
        if (changed)
        {
            Log.NotReady(logger, nameof(ResourceKind.Certificate), _resource.ToString(), problem.Reason, problem.Message);
            await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Warning, problem.Reason, problem.Message);
        }

        await PublishAsync();
        return BuildStatus();
    }

    private void SetReady(string reason, string message) =>
        ConditionList.Set(State.Conditions, Conditions.Ready, Conditions.True, reason, message, time.GetUtcNow(), State.Origin?.Generation ?? 0);

    private Task SaveAsync() => Persistence.SaveAsync(state, DeactivateOnIdle);

    private async Task RegisterTagAsync(string fqdn)
    {
        if (State.RegisteredFqdn == fqdn)
        {
            return;
        }

        await GrainFactory.GetGrain<ICertificateTagGrain>(_resource.Name).RegisterAsync(new TagRegistration(_resource.Namespace, fqdn));
        State.RegisteredFqdn = fqdn;
    }

    private void NotifySubscribers(long revision)
    {
        var key = _resource.ToString();
        foreach (var subscriber in State.Subscribers)
        {
            // One-way calls: they return once sent, so this does not wait on any rebuild.
            _ = Subscribers.Get(GrainFactory, subscriber).OnCertificateChangedAsync(key, revision);
        }
    }

    private CertificateStatus BuildStatus() => new()
    {
        Arn = State.Material?.Arn,
        SerialNumber = State.Material?.SerialNumber,
        NotBefore = State.Material?.NotBefore,
        NotAfter = State.Material?.NotAfter,
        RenewalTime = State.RenewalTime,
        Revision = State.Revision,
        Tags = State.Spec is null ? new Dictionary<string, string>() : new Dictionary<string, string>
        {
            ["notary.dev/namespace"] = _resource.Namespace,
            ["notary.dev/name"] = _resource.Name,
            ["notary.dev/fqdn"] = State.Spec.Fqdn,
        },
        Conditions = [.. State.Conditions],
        ObservedGeneration = State.Origin?.Generation ?? 0,
        ValidationRecords = State.Pending?.ValidationRecords ?? [],
    };
}
