using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Notary.Grains.Protection;

namespace Notary.Grains;

/// <summary>
/// One Certificate: validates its spec, issues through the issuer port when the certificate must
/// change, keeps serial, validity, renewal time and revision, and tells its subscribers (the
/// keystores and truststores using it) whenever the certificate changes or goes away.
/// </summary>
// This part: apply, re-issue and delete, the issue decision, and what the certificate reports
// (status, snapshot, not-ready). The other concerns are parts of their own: Issuance,
// Continuation, Lifecycle, Subscribers (CertificateGrain.*.cs).
public sealed partial class CertificateGrain(
    [PersistentState("certificate", GrainStorage.Name)] IPersistentState<CertificateState> state,
    IIssuerResolver issuers,
    IStatusWriter statusWriter,
    IEventRecorder events,
    IAlertSink alerts,
    INotaryMetrics metrics,
    IOptions<LifecycleOptions> lifecycle,
    IOptions<RotationOptions> rotation,
    TimeProvider time,
    StateProtector protector,
    ILogger<CertificateGrain> logger) : Grain, ICertificateGrain, IRemindable
{
    private readonly Reporter _reporter = new(statusWriter, events, logger, ResourceKind.Certificate);

    private ResourceKey _resource;

    private CertificateState State => state.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = ResourceKey.Parse(this.GetPrimaryKeyString());
        // Many certificates share a namespace: one copy of its name for all their activations.
        _resource = key with { Namespace = SharedText.Of(key.Namespace)! };
        State.Compact();
        // A key id this silo does not know yet (added and made current elsewhere) is read from
        // the key Secret first; still unknown, StateKeyUnknownException fails the activation and
        // the state stays as it is: only tampering (a known key that does not authenticate) drops it.
        await protector.EnsureKnownAsync([State.Material?.SealedKey, State.Serving?.SealedKey], cancellationToken);
        // State saved before keys were encrypted, or under a data key rotated out since: encrypted
        // under the current key and written back at once, so Redis stops holding the old form.
        try
        {
            State.Material?.CheckReadable(protector, _resource.ToString());
            State.Serving?.CheckReadable(protector, _resource.ToString());
            if (State.Material?.NeedsSealing(protector) == true || State.Serving?.NeedsSealing(protector) == true)
            {
                State.Material = State.Material?.Sealed(protector, _resource.ToString());
                State.Serving = State.Serving?.Sealed(protector, _resource.ToString());
                await Persistence.SaveAsync(state, DeactivateOnIdle);
                Log.KeysSealed(logger, _resource.ToString(), protector.CurrentKeyId);
            }
        }
        catch (StateKeyUnknownException ex)
        {
            Log.KeysUnderUnknownKey(logger, _resource.ToString(), ex.Message);
            throw;
        }
        catch (StateProtectionException ex)
        {
            // A known data key that does not open the private key: the state was changed
            // (tampered with) or copied from another certificate. Dropped, as if lost with Redis:
            // the next apply issues the certificate again, with a new key pair.
            Log.KeysUnreadable(logger, _resource.ToString(), ex.Message);
            await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Warning, "StateTampered",
                "The private key in Notary's grain state does not authenticate under its data key (changed or copied from another certificate): it is dropped and the certificate issued again with a new key pair.");
            State.Material = null;
            State.Serving = null;
            State.ServingRevision = 0;
            State.Roll = null;
            State.IssuedFor = null;
            State.Reconciled = null;
            await Persistence.SaveAsync(state, DeactivateOnIdle);
        }

        // This silo reports the certificate from now on (its previous activation elsewhere
        // dropped its series when it deactivated).
        if (State.Spec is not null)
        {
            metrics.CertificateObserved(_resource, LifecycleNotAfter(time.GetUtcNow()), State.RenewalTime, BuildStatus().IsReady);
        }
    }

    /// <summary>
    /// Another silo reports this certificate from its next activation on: this one drops its
    /// series, or it would go on serving the last figures (a stale ready=1) after the grain moved.
    /// </summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.CertificateRemoved(_resource);
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    public async Task<CertificateStatus> ApplyAsync(CertificateSpec spec, ResourceVersionInfo origin)
    {
        if (StaleGeneration.IsStale(State.Origin, origin))
        {
            Log.Stale(logger, nameof(ResourceKind.Certificate), _resource.ToString(), origin.Generation, State.Origin!.Generation);
            return BuildStatus();
        }

        var done = State.Reconciled == origin && State.Spec is not null && CertificatePolicy.SameSpec(State.Spec, spec);
        var before = State.Spec;
        // A resync sends the same spec and origin again, as new objects: keep the ones held (the
        // spec issued for and the origin reconciled point at them too) and let these go.
        State.Spec = State.Spec is not null && CertificateState.SameValue(State.Spec, spec) ? State.Spec : SharedText.Of(spec);
        State.Origin = State.Reconciled == origin ? State.Reconciled : origin;
        if (State.IsQuarantined && State.Conditions.All(c => c.Type != Conditions.Compromised || c.Status != Conditions.True))
        {
            // Quarantined before the certificate was (re)applied: after a loss of grain state the
            // Breaches are forwarded first, so the condition is set here.
            ConditionList.Set(State.Conditions, Conditions.Compromised, Conditions.True, "Quarantined",
                "Quarantined: a quarantine Breach holds it. Truststores no longer trust it until every quarantine Breach of it is deleted.", time.GetUtcNow(), origin.Generation);
        }

        if (!done)
        {
            await UnwatchIssuerAsync(before, spec);
            await EvaluatePolicyAsync();
        }

        var decision = Decide(IssueTrigger.Apply, alreadyApplied: done);
        if (decision is IssueOutcome.AlreadyApplied)
        {
            // A resync of what was already applied: publish again in case the last write failed,
            // and make sure the lifecycle reminder exists (a failed registration is repaired here).
            await PublishAsync();
            await ScheduleLifecycleAsync(keepInTime: true);
            // A resync also moves a roll on (and repairs its reminder): see AdvanceRollIfAnyAsync.
            await AdvanceRollIfAnyAsync();
            await AdoptByBuiltinRootAsync();
            return BuildStatus();
        }

        await RegisterTagAsync(spec.Fqdn);
        switch (decision)
        {
            case IssueOutcome.NotReady notReady:
                State.Reconciled = origin;
                return await NotReadyAsync(notReady.Problem);
            case IssueOutcome.MoveRenewalTime move:
                State.RenewalTime = CertificatePolicy.RenewalTime(State.Material!.NotBefore, State.Material.NotAfter, move.Valid.RenewBefore);
                if (HasValidMaterial())
                {
                    // An expired certificate stays Ready=False/Expired: a new renewBefore does not
                    // make it valid again (and its failed renewal stays in Issuing).
                    SetReady(Reasons.Issued, $"Certificate is valid until {State.Material.NotAfter:O}.");
                    ConditionList.Remove(State.Conditions, Conditions.Issuing);
                }

                State.Reconciled = origin;
                await SaveAsync();
                await PublishAsync();
                await ScheduleLifecycleAsync();
                return BuildStatus();
            case IssueOutcome.Issue issue:
                return await IssueAsync(issue.Valid, issue.Purpose, issue.EventReason, issue.Why);
            default:
                return BuildStatus();
        }
    }

    /// <summary>The issue decision (<see cref="IssueDecision"/>) over the state; the spec must be set.</summary>
    private IssueOutcome Decide(IssueTrigger trigger, bool alreadyApplied = false) => IssueDecision.Decide(new IssueSnapshot(
        trigger,
        State.Spec!,
        HasMaterial: State.Material is not null,
        State.IssuedFor,
        State.Pending,
        Unreconciled: State.Reconciled != State.Origin,
        AlreadyApplied: alreadyApplied,
        IssuerProblem: alreadyApplied ? null : CheckIssuer(State.Spec!) ?? PolicyProblem(State.Pending?.Purpose)));

    public async Task<CertificateStatus> ReissueAsync(string reason)
    {
        if (State.Spec is null)
        {
            throw new InvalidOperationException($"Certificate {_resource} does not exist.");
        }

        // A rotate of exactly the names already issued is not a new name: the policy is not asked
        // (a policy tightened since must not keep a compromised key in use, README "Name policy").
        if (!RotatesIssuedNames(IssuePurpose.Rotate))
        {
            await EvaluatePolicyAsync();
        }

        if (SpecProblem(State.Spec, out var valid, IssuePurpose.Rotate) is { } problem)
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
        await RetireAsync(State.Pending?.Ticket, RetireReason.Deleted, throwOnFailure: true, State.Pending is { } pending ? IssuerId(pending.For) : null);
        foreach (var arn in new[] { State.Material?.Arn, State.Serving?.Arn }.Concat(State.Previous?.Select(p => p.Arn) ?? []).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            await RetireAsync(arn, RetireReason.Deleted, throwOnFailure: true);
        }

        CancelContinuation();
        await ForgetContinuationAsync();
        await UnwatchIssuerAsync(State.Spec, null);

        await UnregisterLifecycleAsync();
        State.Serving = null;
        State.Roll = null;
        State.Previous = null;
        State.KeystoresWritten = null;
        await ScheduleRollAsync();
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
        // During a roll keystores build from the served revision, truststores trust both (and the
        // previous certificates until their overlap ends): see CertificateGrain.Roll.cs.
        return Task.FromResult(new CertificateSnapshot(_resource, spec is not null, spec?.Fqdn, State.Revision, published, State.IsQuarantined,
            material is null ? null : AlsoTrusted(), State.Serving is null ? null : State.ServingRevision, State.IssuerCas,
            spec is null ? null : IssuerId(spec), State.KeystoresWritten is not null));
    }

    public Task<IssuedMaterial?> GetIssuedMaterialAsync(long revision) =>
        Task.FromResult(State.Serving is { } serving && revision == State.ServingRevision ? serving.ToIssued(protector, _resource.ToString())
            : revision == State.Revision ? CurrentMaterial()?.ToIssued(protector, _resource.ToString()) : null);

    private StoredMaterial? CurrentMaterial() =>
        State.Spec is not null && State.IssuedFor is not null && !CertificatePolicy.AffectsCertificate(State.IssuedFor, State.Spec) ? State.Material : null;

    public Task<CertificateStatus?> GetStatusAsync() => Task.FromResult(State.Spec is null ? null : BuildStatus());

    private bool HasValidSpec(out ValidCertificateSpec? valid)
    {
        valid = null;
        return State.Spec is not null && SpecProblem(State.Spec, out valid) is null;
    }

    /// <summary>What keeps <paramref name="spec"/> from being issued (its validation first, then its issuer, then the name policy), as <see cref="IssueDecision"/> orders them; null when nothing does.</summary>
    // purpose: the issuance asked about; null: the one in progress, if any.
    private Problem? SpecProblem(CertificateSpec spec, out ValidCertificateSpec? valid, IssuePurpose? purpose = null)
    {
        (valid, var problem) = CertificatePolicy.Validate(spec);
        return problem ?? CheckIssuer(spec) ?? PolicyProblem(purpose ?? State.Pending?.Purpose);
    }

    private async Task PublishAsync()
    {
        var status = BuildStatus();
        await _reporter.PublishAsync(_resource, status);
        metrics.CertificateObserved(_resource, LifecycleNotAfter(time.GetUtcNow()), State.RenewalTime, status.IsReady);
    }

    private Problem? CheckIssuer(CertificateSpec spec)
    {
        if (spec.IssuerRef is { } issuerRef)
        {
            return CheckIssuerRef(issuerRef, spec.Type);
        }

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

    private async Task<CertificateStatus> NotReadyAsync(Problem problem)
    {
        await _reporter.NotReadyAsync(_resource, State.Origin?.Uid, State.Conditions, problem, time.GetUtcNow(), State.Origin?.Generation ?? 0, SaveAsync);
        await PublishAsync();
        return BuildStatus();
    }

    private void SetReady(string reason, string message) =>
        ConditionList.Set(State.Conditions, Conditions.Ready, Conditions.True, reason, message, time.GetUtcNow(), State.Origin?.Generation ?? 0);

    private Task SaveAsync() => Persistence.SaveAsync(state, DeactivateOnIdle);

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
        PreviousSerialNumber = State.Serving?.SerialNumber ?? State.Previous?.LastOrDefault()?.SerialNumber,
        LastManualRenewal = State.LastManualRenewal,
    };
}
