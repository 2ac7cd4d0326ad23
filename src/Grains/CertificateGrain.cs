using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

/// <summary>Persisted state of a Certificate. The material is kept so stores can be rebuilt after a restart.</summary>
[GenerateSerializer, Alias("notary.CertificateState")]
public sealed class CertificateState
{
    [Id(0)] public CertificateSpec? Spec { get; set; }
    [Id(1)] public ResourceVersionInfo? Origin { get; set; }
    /// <summary>Saved as <see cref="IssuedMaterial"/> before, which loads as this (see <see cref="StoredMaterial"/>).</summary>
    [Id(2)] public StoredMaterial? Material { get; set; }
    /// <summary>The spec the current material was issued for.</summary>
    [Id(3)] public CertificateSpec? IssuedFor { get; set; }
    [Id(4)] public long Revision { get; set; }
    [Id(5)] public DateTimeOffset? RenewalTime { get; set; }
    [Id(6)] public List<StatusCondition> Conditions { get; set; } = [];
    // The two sets below are empty for most certificates: null until needed, so that a resident
    // activation does not hold two empty HashSets (128 B). Same [Id]s and types as when they were
    // public properties, so saved state loads unchanged.
    [Id(7)] private HashSet<SubscriberRef>? _subscribers;
    /// <summary>The fqdn registered in the tag index, null when not registered.</summary>
    [Id(8)] public string? RegisteredFqdn { get; set; }
    /// <summary>
    /// The origin whose apply reached a final outcome (issued, nothing to do, or a problem only a
    /// spec change can fix). A transient failure leaves it behind, so the next apply retries.
    /// </summary>
    [Id(9)] public ResourceVersionInfo? Reconciled { get; set; }
    /// <summary>An issuance the issuer has started but not finished (ACM: requested, not yet exported).</summary>
    [Id(10)] public PendingIssuance? Pending { get; set; }
    /// <summary>Alert thresholds already alerted for the current certificate (cleared by each issuance).</summary>
    [Id(11)] private HashSet<TimeSpan>? _alertsSent;
    /// <summary>Consecutive failed renewals, and when the next attempt is due.</summary>
    [Id(12)] public int RenewalFailures { get; set; }
    [Id(13)] public DateTimeOffset? NextRenewalAttempt { get; set; }
    /// <summary>Taken out of every truststore by a breach quarantine, until lifted.</summary>
    [Id(14)] public bool Quarantined { get; set; }
    /// <summary>
    /// When the lifecycle reminder last registered is due, saved only once the registration
    /// succeeded: a resync leaves a reminder that still wakes the grain in time alone instead of
    /// writing it again (one reminder-table write per certificate per restart saved).
    /// </summary>
    [Id(15)] public DateTimeOffset? ReminderDue { get; set; }
    /// <summary>The continuation reminder is registered (see <c>CertificateGrain.ContinueReminder</c>): only then is it unregistered.</summary>
    [Id(16)] public bool ContinueRegistered { get; set; }

    /// <summary>The keystores and truststores using this certificate.</summary>
    public IReadOnlyCollection<SubscriberRef> Subscribers => (IReadOnlyCollection<SubscriberRef>?)_subscribers ?? [];

    public bool AddSubscriber(SubscriberRef subscriber) => (_subscribers ??= []).Add(subscriber);

    public bool RemoveSubscriber(SubscriberRef subscriber)
    {
        var removed = _subscribers?.Remove(subscriber) ?? false;
        if (_subscribers is { Count: 0 })
        {
            _subscribers = null;
        }

        return removed;
    }

    public IReadOnlySet<TimeSpan> AlertsSent => (IReadOnlySet<TimeSpan>?)_alertsSent ?? FrozenSet<TimeSpan>.Empty;

    public void AddAlertSent(TimeSpan threshold) => (_alertsSent ??= []).Add(threshold);

    public void ClearAlertsSent() => _alertsSent = null;

    /// <summary>What a deleted certificate keeps: its subscribers and its revision.</summary>
    public CertificateState Deleted() => new() { _subscribers = _subscribers, Revision = Revision };

    /// <summary>
    /// Read from storage, every value is a copy of its own: the spec twice (the spec and the one
    /// issued for, equal once issued), the origin twice (applied and reconciled), and strings
    /// that every certificate repeats. Points equal values at one instance, so that a resident
    /// activation holds each once; nothing changes in what the state says.
    /// </summary>
    public void Compact()
    {
        if (Spec is not null)
        {
            Spec = SharedText.Of(Spec);
            if (IssuedFor is not null && SameValue(IssuedFor, Spec))
            {
                IssuedFor = Spec;
            }
        }

        if (Reconciled is not null && Reconciled == Origin)
        {
            Reconciled = Origin;
        }

        if (_subscribers is { Count: 0 })
        {
            _subscribers = null;
        }

        if (_alertsSent is { Count: 0 })
        {
            _alertsSent = null;
        }

        if (Material is { ChainPem.Count: > 0 } material)
        {
            // 1.3 KB per certificate for an ECDSA root, 2.5 KB for RSA 3072: the same text for
            // every certificate of one CA.
            material.ChainPem = SharedText.Of(material.ChainPem);
        }

        for (var i = 0; i < Conditions.Count; i++)
        {
            Conditions[i] = SharedText.Of(Conditions[i]);
        }
    }

    /// <summary>Equal in every field (record equality compares the alternative names by reference).</summary>
    public static bool SameValue(CertificateSpec a, CertificateSpec b) =>
        ReferenceEquals(a, b) || (a with { Alt = b.Alt } == b && a.Alt.SequenceEqual(b.Alt, StringComparer.Ordinal));
}

/// <summary>
/// An issuance in progress: the issuer's ticket, and what it was started for. Persisted before
/// the issuer is asked to continue, so a restarted or moved grain continues the same issuance.
/// </summary>
[GenerateSerializer, Alias("notary.PendingIssuance")]
public sealed record PendingIssuance
{
    [Id(0)] public required string Ticket { get; init; }
    [Id(1)] public required IssuePurpose Purpose { get; init; }
    /// <summary>The spec the issuance was started for; a changed spec abandons it.</summary>
    [Id(2)] public required CertificateSpec For { get; init; }
    [Id(3)] public required ResourceVersionInfo Origin { get; init; }
    [Id(4)] public string Reason { get; init; } = Reasons.Issuing;
    [Id(5)] public string Message { get; init; } = string.Empty;
    [Id(6)] public IReadOnlyList<ValidationRecord> ValidationRecords { get; init; } = [];
    [Id(7)] public string EventReason { get; init; } = "Issued";
    [Id(8)] public string Why { get; init; } = string.Empty;
    /// <summary>How many times the ticket has been continued (the issuer backs off by it).</summary>
    [Id(9)] public int Steps { get; init; }
}

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

    private CertificateState S => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = ResourceKey.Parse(this.GetPrimaryKeyString());
        // Many certificates share a namespace: one copy of its name for all their activations.
        _resource = key with { Namespace = SharedText.Of(key.Namespace)! };
        S.Compact();
        return Task.CompletedTask;
    }

    public async Task<CertificateStatus> ApplyAsync(CertificateSpec spec, ResourceVersionInfo origin)
    {
        if (S.Origin is { } current && current.Uid == origin.Uid && origin.Generation < current.Generation)
        {
            Log.Stale(logger, nameof(ResourceKind.Certificate), _resource.ToString(), origin.Generation, current.Generation);
            return BuildStatus();
        }

        var done = S.Reconciled == origin && S.Spec is not null && CertificatePolicy.SameSpec(S.Spec, spec);
        // A resync sends the same spec and origin again, as new objects: keep the ones held (the
        // spec issued for and the origin reconciled point at them too) and let these go.
        S.Spec = S.Spec is not null && CertificateState.SameValue(S.Spec, spec) ? S.Spec : SharedText.Of(spec);
        S.Origin = S.Reconciled == origin ? S.Reconciled : origin;
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
            S.Reconciled = origin;
            return await NotReadyAsync(problem);
        }

        if (S.Material is not null && S.IssuedFor is not null && !CertificatePolicy.AffectsCertificate(S.IssuedFor, spec))
        {
            // Nothing the certificate contains changed (e.g. only renewBefore): move the renewal time.
            S.RenewalTime = CertificatePolicy.RenewalTime(S.Material.NotBefore, S.Material.NotAfter, valid!.RenewBefore);
            SetReady(Reasons.Issued, $"Certificate is valid until {S.Material.NotAfter:O}.");
            ConditionList.Remove(S.Conditions, Conditions.Issuing);
            S.Reconciled = origin;
            await SaveAsync();
            await PublishAsync();
            await ScheduleLifecycleAsync();
            return BuildStatus();
        }

        return S.Material is null
            ? await IssueAsync(valid!, IssuePurpose.Issue, "Issued", "the certificate was created")
            : await IssueAsync(valid!, IssuePurpose.Issue, "Reissued", "the spec changed");
    }

    public async Task<CertificateStatus> ReissueAsync(string reason)
    {
        if (S.Spec is null)
        {
            throw new InvalidOperationException($"Certificate {_resource} does not exist.");
        }

        var (valid, problem) = CertificatePolicy.Validate(S.Spec);
        problem ??= CheckIssuer(S.Spec);
        if (problem is not null)
        {
            return await NotReadyAsync(problem);
        }

        return await IssueAsync(valid!, IssuePurpose.Rotate, "Reissued", reason);
    }

    public async Task DeleteAsync()
    {
        if (S.Spec is null && S.RegisteredFqdn is null)
        {
            return;
        }

        if (S.RegisteredFqdn is not null)
        {
            await GrainFactory.GetGrain<ICertificateTagGrain>(_resource.Name).UnregisterAsync(_resource.Namespace);
        }

        // Let go of what the issuer holds first: when that fails, the delete fails and is
        // retried (the finalizer keeps the resource), with the state still naming what to retire.
        await RetireAsync(S.Pending?.Ticket, RetireReason.Deleted, throwOnFailure: true);
        await RetireAsync(S.Material?.Arn, RetireReason.Deleted, throwOnFailure: true);
        CancelContinuation();
        await ForgetContinuationAsync();

        await UnregisterLifecycleAsync();
        metrics.CertificateRemoved(_resource);
        var uid = S.Origin?.Uid;
        // Subscribers stay: a Certificate created again under this name serves them again. The
        // revision stays too, so that a re-created certificate never repeats a revision a store
        // was built from.
        state.State = S.Deleted();
        await SaveAsync();
        _reporter.Reset();
        Log.Deleted(logger, nameof(ResourceKind.Certificate), _resource.ToString());
        NotifySubscribers(-1);
        await _reporter.EventAsync(_resource, uid, EventSeverity.Normal, Reasons.Deleted, "Certificate deleted; stores that use it keep their last contents.");
    }

    public Task<CertificateSnapshot> GetSnapshotAsync()
    {
        var spec = S.Spec;
        // Material issued for an older spec (a change whose re-issue has not succeeded) is not
        // this certificate any more: stores keep what they have rather than rebuild from it.
        var material = CurrentMaterial();
        var published = material is null ? null : new PublicMaterial(material.Arn, material.CertificatePem, material.ChainPem, material.SerialNumber, material.NotAfter);
        return Task.FromResult(new CertificateSnapshot(_resource, spec is not null, spec?.Fqdn, S.Revision, published, S.Quarantined));
    }

    public Task<IssuedMaterial?> GetIssuedMaterialAsync(long revision) =>
        Task.FromResult(revision == S.Revision ? CurrentMaterial()?.ToIssued() : null);

    private StoredMaterial? CurrentMaterial() =>
        S.Spec is not null && S.IssuedFor is not null && !CertificatePolicy.AffectsCertificate(S.IssuedFor, S.Spec) ? S.Material : null;

    public Task<CertificateStatus?> GetStatusAsync() => Task.FromResult(S.Spec is null ? null : BuildStatus());

    public async Task SubscribeAsync(SubscriberRef subscriber)
    {
        if (S.AddSubscriber(subscriber))
        {
            await SaveAsync();
        }
    }

    public async Task UnsubscribeAsync(SubscriberRef subscriber)
    {
        if (S.RemoveSubscriber(subscriber))
        {
            await SaveAsync();
        }
    }

    private async Task<CertificateStatus> IssueAsync(ValidCertificateSpec valid, IssuePurpose purpose, string eventReason, string why)
    {
        var spec = S.Spec!;
        var issuer = issuers.Resolve(spec.Issuer)!;
        if (S.Pending is { } abandoned && !(abandoned.Purpose == purpose && CertificatePolicy.SameSpec(abandoned.For, spec) && !CertificatePolicy.AffectsCertificate(abandoned.For, spec)))
        {
            // The spec changed (or a rotation overtook) while an issuance was in progress: start
            // over, and let the issuer drop what it had started.
            S.Pending = null;
            await RetireAsync(abandoned.Ticket, RetireReason.Replaced, throwOnFailure: false);
        }

        CancelContinuation();
        var started = time.GetUtcNow();
        while (true)
        {
            var request = new IssueRequest
            {
                Resource = _resource,
                Origin = S.Pending?.Origin ?? S.Origin!,
                Type = spec.Type,
                Fqdn = spec.Fqdn,
                Alt = spec.Alt,
                Lifetime = valid.Lifetime,
                Key = valid.Key,
                Revision = S.Revision,
                Purpose = purpose,
                CurrentArn = S.Material?.Arn,
                Ticket = S.Pending?.Ticket,
                Step = S.Pending?.Steps ?? 0,
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
                S.Reconciled = S.Origin;
                S.Pending = null;
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
        var previous = S.Material?.Arn;
        var rotated = purpose == IssuePurpose.Rotate;
        S.ClearAlertsSent();
        S.RenewalFailures = 0;
        S.NextRenewalAttempt = null;
        S.Material = StoredMaterial.From(material);
        S.IssuedFor = S.Spec;
        S.Reconciled = S.Origin;
        S.Pending = null;
        S.Revision++;
        S.RenewalTime = CertificatePolicy.RenewalTime(material.NotBefore, material.NotAfter, valid.RenewBefore);
        SetReady(Reasons.Issued, $"Certificate is valid until {material.NotAfter:O}.");
        ConditionList.Remove(S.Conditions, Conditions.Issuing);
        // The lifecycle reminder is registered before the state is saved, so that one write
        // persists both the certificate and when its reminder is due: an issuance costs one state
        // write (a Redis round trip in production), not two. A failed registration does not hold
        // the certificate back: it is saved without ReminderDue, and the next apply or resync
        // registers the reminder (renewal and alerts are days away, the resync minutes).
        await TryScheduleLifecycleAsync();
        // Persist before anyone hears of it: a crash after this point loses no certificate.
        await SaveAsync();
        Log.Issued(logger, _resource.ToString(), material.SerialNumber, S.Revision, material.NotAfter);
        // Status first: Ready=True is what kubectl wait, a GitOps sync and the subscribed stores
        // wait for, so the Event (an audit record nobody waits on) no longer delays it by a
        // round trip to the API server.
        await PublishAsync();
        NotifySubscribers(S.Revision);
        await _reporter.EventAsync(_resource, S.Origin?.Uid, EventSeverity.Normal, eventReason,
            $"Issued serial {material.SerialNumber} (revision {S.Revision}) by {issuer.Name} because {why}; valid until {material.NotAfter:O}.");
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
            For = S.Spec!,
            Origin = S.Pending?.Origin ?? S.Origin!,
            Reason = progress.Reason,
            Message = progress.Message,
            ValidationRecords = progress.ValidationRecords,
            EventReason = eventReason,
            Why = why,
        };
        var changed = S.Pending is null || S.Pending.Ticket != pending.Ticket || S.Pending.Reason != pending.Reason;
        pending = pending with { Steps = S.Pending?.Ticket == pending.Ticket ? S.Pending.Steps + 1 : 0 };
        S.Pending = pending;
        var now = time.GetUtcNow();
        var generation = S.Origin?.Generation ?? 0;
        ConditionList.Set(S.Conditions, Conditions.Issuing, Conditions.True, progress.Reason, progress.Message, now, generation);
        if (!HasValidMaterial())
        {
            ConditionList.Set(S.Conditions, Conditions.Ready, Conditions.False, progress.Reason, progress.Message, now, generation);
        }

        await SaveAsync();
        if (changed && progress.Reason == Reasons.PendingValidation)
        {
            await _reporter.EventAsync(_resource, S.Origin?.Uid, EventSeverity.Normal, Reasons.PendingValidation, progress.Message);
        }

        await PublishAsync();
    }

    /// <summary>Continues an issuance in progress, or retries a failed one (grain timer, or the continuation reminder).</summary>
    /// <param name="registered">Whether the continuation reminder is registered, when known better than the state (a tick proves it is).</param>
    private async Task ContinueAsync(bool? registered = null)
    {
        _continue = null;
        if (S.Spec is null)
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

        if (S.Pending is { } pending)
        {
            await IssueAsync(valid!, pending.Purpose, pending.EventReason, pending.Why);
        }
        else if (S.Reconciled != S.Origin)
        {
            // A transient failure left the apply unfinished: the same decision ApplyAsync makes.
            var first = S.Material is null;
            if (first || S.IssuedFor is null || CertificatePolicy.AffectsCertificate(S.IssuedFor, S.Spec))
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
        if (S.ContinueRegistered || !HasWorkToContinue())
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

        S.ContinueRegistered = true;
        await SaveAsync();
    }

    /// <summary>
    /// Something is left to continue: an issuance in progress, or an apply a transient failure left
    /// unfinished, for a spec that can be issued. An issuance in progress whose spec became invalid
    /// (or whose issuer went) waits for the apply that fixes it, which starts again.
    /// </summary>
    private bool HasWorkToContinue() => S.Spec is not null && (S.Pending is not null || S.Reconciled != S.Origin) && HasValidSpec(out _);

    /// <summary>Unregisters the continuation reminder; a failure leaves it to find nothing to do and try again.</summary>
    /// <param name="registered">Whether it is registered, when known better than the state (a tick proves it is).</param>
    private async Task ForgetContinuationAsync(bool? registered = null)
    {
        if (!(registered ?? S.ContinueRegistered))
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

        if (S.ContinueRegistered)
        {
            S.ContinueRegistered = false;
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

        var issuer = issuers.Resolve(S.Spec?.Issuer);
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
        S.Material is not null && S.IssuedFor is not null && S.Spec is not null
        && !CertificatePolicy.AffectsCertificate(S.IssuedFor, S.Spec) && S.Material.NotAfter > time.GetUtcNow();

    public Task<IReadOnlyList<SubscriberRef>> GetSubscribersAsync() =>
        Task.FromResult<IReadOnlyList<SubscriberRef>>([.. S.Subscribers.OrderBy(s => s.Kind).ThenBy(s => s.Key, StringComparer.Ordinal)]);

    public async Task<CertificateStatus> SetQuarantinedAsync(bool quarantined, string reason)
    {
        if (S.Spec is null)
        {
            throw new InvalidOperationException($"Certificate {_resource} does not exist.");
        }

        if (S.Quarantined == quarantined)
        {
            return BuildStatus();
        }

        S.Quarantined = quarantined;
        var now = time.GetUtcNow();
        var generation = S.Origin?.Generation ?? 0;
        if (quarantined)
        {
            ConditionList.Set(S.Conditions, Conditions.Compromised, Conditions.True, "Quarantined", $"Quarantined: {reason}. Truststores no longer trust it until the quarantine is lifted.", now, generation);
        }
        else
        {
            ConditionList.Set(S.Conditions, Conditions.Compromised, Conditions.False, "QuarantineLifted", $"The quarantine was lifted: {reason}.", now, generation);
        }

        await SaveAsync();
        await _reporter.EventAsync(_resource, S.Origin?.Uid, quarantined ? EventSeverity.Warning : EventSeverity.Normal,
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
        if (S.Spec is null || S.Material is null)
        {
            await UnregisterLifecycleAsync();
            return;
        }

        await RunLifecycleAsync();
    }

    /// <summary>Renews, alerts and reports expiry as <see cref="LifecyclePolicy"/> decides, then sets the next wake-up.</summary>
    private async Task RunLifecycleAsync()
    {
        var material = S.Material!;
        var now = time.GetUtcNow();
        var thresholds = lifecycle.Value.EffectiveThresholds;
        var plan = LifecyclePolicy.Plan(now, material.NotAfter, S.RenewalTime ?? material.NotAfter, S.NextRenewalAttempt, S.Pending is not null, thresholds, S.AlertsSent);

        if (plan.RenewNow && HasValidSpec(out var valid))
        {
            var before = S.Revision;
            await IssueAsync(valid!, IssuePurpose.Renew, "Renewed", "its renewal time came");
            if (S.Revision == before && S.Pending is null)
            {
                await RenewalFailedAsync();
            }

            now = time.GetUtcNow();
            material = S.Material!;
            plan = LifecyclePolicy.Plan(now, material.NotAfter, S.RenewalTime ?? material.NotAfter, S.NextRenewalAttempt, S.Pending is not null, thresholds, S.AlertsSent);
        }

        if (plan.Alert is { } threshold)
        {
            foreach (var passed in plan.AlertsPassed)
            {
                S.AddAlertSent(passed);
            }

            await SaveAsync();
            var message = $"Certificate expires at {material.NotAfter:O} (within {LifecyclePolicy.Describe(threshold)}) and has not been renewed{(S.RenewalFailures > 0 ? $": {S.RenewalFailures} renewal attempt(s) failed" : string.Empty)}.";
            await AlertAsync("ExpiringSoon", message);
        }

        if (now >= material.NotAfter && S.Conditions.Any(c => c.Type == Conditions.Ready && c.Status == Conditions.True))
        {
            await NotReadyAsync(new Problem(Reasons.Expired, $"The certificate expired at {material.NotAfter:O} and could not be renewed."));
        }

        await ScheduleLifecycleAsync(plan.NextWake);
    }

    private async Task RenewalFailedAsync()
    {
        S.RenewalFailures++;
        var delay = LifecyclePolicy.RenewalBackoff(S.RenewalFailures);
        S.NextRenewalAttempt = time.GetUtcNow() + delay;
        await SaveAsync();
        var cause = S.Conditions.FirstOrDefault(c => c.Type == Conditions.Issuing && c.Status == Conditions.False)?.Message
            ?? S.Conditions.FirstOrDefault(c => c.Type == Conditions.Ready && c.Status == Conditions.False)?.Message
            ?? "the issuer did not issue";
        await AlertAsync(Reasons.RenewalFailed, $"Renewal attempt {S.RenewalFailures} failed ({cause}); the current certificate stays in use until {S.Material!.NotAfter:O}; next attempt at {S.NextRenewalAttempt:O}.");
    }

    /// <summary>A Warning Event on the Certificate and, where configured, the alert sink (webhook).</summary>
    private async Task AlertAsync(string reason, string message)
    {
        Log.Alert(logger, _resource.ToString(), reason, message);
        await _reporter.EventAsync(_resource, S.Origin?.Uid, EventSeverity.Warning, reason, message);
        try
        {
            await alerts.SendAsync(new Alert { Reason = reason, Resource = _resource, Message = message, NotAfter = S.Material?.NotAfter, At = time.GetUtcNow(), Arn = S.Material?.Arn }, CancellationToken.None);
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
            S.ReminderDue = null;
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
        if (S.Spec is null || S.Material is null)
        {
            return;
        }

        var now = time.GetUtcNow();
        if (nextWake is null)
        {
            var plan = LifecyclePolicy.Plan(now, S.Material.NotAfter, S.RenewalTime ?? S.Material.NotAfter, S.NextRenewalAttempt, S.Pending is not null, lifecycle.Value.EffectiveThresholds, S.AlertsSent);
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
        if (keepInTime && S.ReminderDue is { } registered && registered > now && registered <= now + due)
        {
            return;
        }

        // The period only matters if a tick is missed; every tick re-registers from the plan.
        await this.RegisterOrUpdateReminder(LifecycleReminder, due, max);
        S.ReminderDue = now + due;
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

        if (S.ReminderDue is not null)
        {
            // Saved, or a later resync would take the reminder for registered.
            S.ReminderDue = null;
            if (save)
            {
                await SaveAsync();
            }
        }
    }

    private bool HasValidSpec(out ValidCertificateSpec? valid)
    {
        valid = null;
        if (S.Spec is null || CheckIssuer(S.Spec) is not null)
        {
            return false;
        }

        var (checkedSpec, problem) = CertificatePolicy.Validate(S.Spec);
        valid = checkedSpec;
        return problem is null;
    }

    private async Task PublishAsync()
    {
        var status = BuildStatus();
        await _reporter.PublishAsync(_resource, status);
        metrics.CertificateObserved(_resource, S.Material?.NotAfter, S.RenewalTime, status.IsReady);
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

        var changed = ConditionList.Set(S.Conditions, Conditions.Issuing, Conditions.False, problem.Reason, problem.Message, time.GetUtcNow(), S.Origin?.Generation ?? 0);
        await SaveAsync();
        if (changed)
        {
            await _reporter.EventAsync(_resource, S.Origin?.Uid, EventSeverity.Warning, problem.Reason, problem.Message);
        }

        await PublishAsync();
        return BuildStatus();
    }

    private async Task<CertificateStatus> NotReadyAsync(Problem problem)
    {
        var changed = ConditionList.Set(S.Conditions, Conditions.Ready, Conditions.False, problem.Reason, problem.Message, time.GetUtcNow(), S.Origin?.Generation ?? 0);
        await SaveAsync();
        if (changed)
        {
            Log.NotReady(logger, nameof(ResourceKind.Certificate), _resource.ToString(), problem.Reason, problem.Message);
            await _reporter.EventAsync(_resource, S.Origin?.Uid, EventSeverity.Warning, problem.Reason, problem.Message);
        }

        await PublishAsync();
        return BuildStatus();
    }

    private void SetReady(string reason, string message) =>
        ConditionList.Set(S.Conditions, Conditions.Ready, Conditions.True, reason, message, time.GetUtcNow(), S.Origin?.Generation ?? 0);

    private Task SaveAsync() => Persistence.SaveAsync(state, DeactivateOnIdle);

    private async Task RegisterTagAsync(string fqdn)
    {
        if (S.RegisteredFqdn == fqdn)
        {
            return;
        }

        await GrainFactory.GetGrain<ICertificateTagGrain>(_resource.Name).RegisterAsync(new TagRegistration(_resource.Namespace, fqdn));
        S.RegisteredFqdn = fqdn;
    }

    private void NotifySubscribers(long revision)
    {
        var key = _resource.ToString();
        foreach (var subscriber in S.Subscribers)
        {
            // One-way calls: they return once sent, so this does not wait on any rebuild.
            _ = Subscribers.Get(GrainFactory, subscriber).OnCertificateChangedAsync(key, revision);
        }
    }

    private CertificateStatus BuildStatus() => new()
    {
        Arn = S.Material?.Arn,
        SerialNumber = S.Material?.SerialNumber,
        NotBefore = S.Material?.NotBefore,
        NotAfter = S.Material?.NotAfter,
        RenewalTime = S.RenewalTime,
        Revision = S.Revision,
        Tags = S.Spec is null ? new Dictionary<string, string>() : new Dictionary<string, string>
        {
            ["notary.dev/namespace"] = _resource.Namespace,
            ["notary.dev/name"] = _resource.Name,
            ["notary.dev/fqdn"] = S.Spec.Fqdn,
        },
        Conditions = [.. S.Conditions],
        ObservedGeneration = S.Origin?.Generation ?? 0,
        ValidationRecords = S.Pending?.ValidationRecords ?? [],
    };
}
