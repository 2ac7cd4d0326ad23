using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Orleans.Concurrency;
using Orleans.Serialization.Invocation;

namespace Notary.Grains;

/// <summary>
/// The CA rotation of one issuer (keyed like it, <see cref="IssuerKeys"/>): TrustingNewCa (every
/// certificate's stores trust the old and the new CA, then the propagation delay), Reissuing (at
/// most Rotation:MaxConcurrentReissues make-before-break re-issues at once), RetiringOldCa (the
/// CAs leave the certificates once no old-CA certificate is served or trusted), then done.
/// Decisions in <see cref="CaRotationPolicy"/>; this grain observes and acts.
/// </summary>
/// <remarks>
/// "Written" is read from the stores' own status (<see cref="StoreStatus.IssuerCas"/>: what the
/// stored Secret holds, set only once it was written), not from the roll acknowledgements:
/// those exist for a new revision in truststores, while a rotation changes no revision and must
/// also wait for keystores (their <c>ca.crt</c>). A store never written (no location) has
/// nothing a pod reads and is not waited for; one that cannot be written holds the rotation
/// until Rotation:MaxWait, then a Warning log names it.
/// The issuer calls <see cref="MaySignWithNewCaAsync"/> from inside an issuance the rotation may
/// have asked for, and <see cref="OnIssuedAsync"/> after it: both interleave (as does
/// <see cref="GetStatusAsync"/>), and re-issues are one-way, so no call chain waits on itself.
/// </remarks>
[MayInterleave(nameof(Interleaves))]
public sealed class CaRotationGrain(
    [PersistentState("carotation", GrainStorage.Name)] IPersistentState<CaRotationState> state,
    IOptions<RotationOptions> rotation,
    IEventRecorder events,
    TimeProvider time,
    ILogger<CaRotationGrain> logger) : Grain, ICaRotationGrain, IRemindable
{
    public const string Reminder = "ca-rotation";
    private static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan TimerPeriod = TimeSpan.FromSeconds(10);
    private bool _unsaved; // OnCertificateLeftAsync changed the state; the next save clears it

    /// <summary>How often it looks while nothing is in flight (only old leaves' overlap ending, or paused).</summary>
    private static readonly TimeSpan IdlePeriod = TimeSpan.FromMinutes(1);

    // Certificates the issuer reported (interleaved calls): joined at the next step.
    private readonly HashSet<string> _joined = new(StringComparer.Ordinal);
    private IGrainTimer? _timer;
    private TimeSpan _period = TimerPeriod;

    private CaRotationState S => state.State;

    public static bool Interleaves(IInvokable request) =>
        request.GetMethodName() is nameof(MaySignWithNewCaAsync) or nameof(GetStatusAsync) or nameof(OnIssuedAsync);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Active)
        {
            StartTimer();
        }

        return Task.CompletedTask;
    }

    public async Task BeginAsync(CaRotationStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        var newFp = CaFingerprints.Of(start.NewCaPem) ?? throw new ArgumentException("The new CA PEM holds no certificate.", nameof(start));
        var certificates = start.Certificates.Select(c => c.ToString());
        if (S.Active && CaFingerprints.Of(S.NewCaPem) == newFp)
        {
            // The same rotation again (the issuer restarted, re-read its Secret, or came back after
            // a deletion): it continues, with every certificate the issuer lists.
            var before = S.Certificates.Count;
            S.Certificates.UnionWith(certificates);
            if (S.Certificates.Count != before || S.Paused || S.Cancelled)
            {
                S.Paused = false;
                S.Cancelled = false;
                await SaveAsync();
                Kick();
            }

            return;
        }

        if (CaFingerprints.Of(start.OldCaPem) is not { } oldFp || oldFp == newFp)
        {
            return;
        }

        var now = time.GetUtcNow();
        var olds = new List<string> { start.OldCaPem };
        var all = new HashSet<string>(certificates, StringComparer.Ordinal);
        if (S.Active)
        {
            // A third CA while a rotation runs: certificates may hold either CA now, so both are
            // retired by this rotation, which starts over at TrustingNewCa (nothing is signed by
            // the newest CA before every store trusts it).
            RotationLog.Replaced(logger, IssuerKey(start.IssuerKey), newFp, CaFingerprints.Of(S.NewCaPem)!);
            olds.AddRange(S.OldCaPems);
            olds.Add(S.NewCaPem!);
            all.UnionWith(S.Certificates);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal) { newFp };
        state.State = new CaRotationState
        {
            IssuerKey = start.IssuerKey,
            OldCaPems = [.. olds.Where(p => CaFingerprints.Of(p) is { } f && seen.Add(f))],
            NewCaPem = start.NewCaPem,
            Phase = CaRotationPhase.TrustingNewCa,
            Certificates = all,
            Started = now,
            PhaseStarted = now,
            Remaining = all.Count,
        };
        RotationLog.Started(logger, start.IssuerKey, oldFp, newFp, all.Count);
        await SaveAsync();
        await ScheduleAsync();
        // Only persisted here: the timer takes the steps, in a turn of their own, so the issuer
        // (which awaits this call) is free before any certificate is called (M3: no call cycle).
        Kick();
    }

    public Task OnIssuedAsync(ResourceKey certificate, string caFingerprint)
    {
        if (S.Active && !S.Certificates.Contains(certificate.ToString()))
        {
            _joined.Add(certificate.ToString());
        }

        return Task.CompletedTask;
    }

    public Task<bool> MaySignWithNewCaAsync() => Task.FromResult(!S.Active || S.Phase != CaRotationPhase.TrustingNewCa);

    public Task<IssuerRotationStatus?> GetStatusAsync() => Task.FromResult(S.Active
        ? new IssuerRotationStatus
        {
            Phase = S.Phase.ToString(),
            FromFingerprint = CaFingerprints.Of(S.OldCaPems.FirstOrDefault()) ?? string.Empty,
            ToFingerprint = CaFingerprints.Of(S.NewCaPem)!,
            Total = S.Certificates.Count + _joined.Count,
            Remaining = S.Remaining,
            Started = S.Started,
            LeftBehind = [.. S.LeftBehind],
            LeftBehindCount = S.LeftBehindCount,
        }
        : null);

    public async Task CancelAsync()
    {
        if (!S.Active || S.Cancelled)
        {
            return;
        }

        RotationLog.Cancelled(logger, IssuerKey(S.IssuerKey));
        S.Cancelled = true;
        await SaveAsync();
        Kick();
    }

    public async Task PauseAsync()
    {
        if (!S.Active || S.Paused)
        {
            return;
        }

        RotationLog.Paused(logger, IssuerKey(S.IssuerKey));
        S.Paused = true;
        await SaveAsync();
        Kick();
    }

    public async Task OnCertificateLeftAsync(ResourceKey certificate)
    {
        var key = certificate.ToString();
        var listed = _joined.Remove(key) | S.Certificates.Contains(key);
        if (!S.Active || !listed)
        {
            return;
        }

        await LeaveAsync(key, CaFingerprints.Of(S.NewCaPem)!);
        // Saved by the next step, not once per certificate of a deleted namespace (a lost one is observed again).
        _unsaved = true;
    }

    /// <summary>
    /// <paramref name="key"/> left the issuer (or was deleted): the rotation is done with it and
    /// takes its CAs out of it, unless another rotation's CAs replaced them since. Not saved here.
    /// </summary>
    private async Task LeaveAsync(string key, string newFp)
    {
        S.Certificates.Remove(key);
        S.Requested.Remove(key);
        if (S.CasSet.Remove(key))
        {
            var certificate = Certificate(key);
            var snapshot = await certificate.GetSnapshotAsync();
            if (snapshot.Exists && CaFingerprints.Distinct(snapshot.IssuerCas).Contains(newFp))
            {
                await certificate.SetIssuerCasAsync([]);
            }
        }

        RotationLog.CertificateLeft(logger, IssuerKey(S.IssuerKey), key);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => reminderName == Reminder ? OnReminderAsync() : Task.CompletedTask;

    private async Task OnReminderAsync()
    {
        if (!S.Active)
        {
            // Nothing to do: the reminder lets go of itself rather than firing for ever.
            if (await this.GetReminder(Reminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            return;
        }

        await StepAsync();
    }

    /// <summary>Takes the rotation as far as it goes now. A failure is logged and retried at the next timer or reminder.</summary>
    private async Task StepAsync()
    {
        if (!S.Active)
        {
            return;
        }

        try
        {
            await StepCoreAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            RotationLog.StepFailed(logger, IssuerKey(S.IssuerKey), ex.GetType().Name, ex.Message);
        }
    }

    private async Task StepCoreAsync()
    {
        var newFp = CaFingerprints.Of(S.NewCaPem)!;
        if (S.Cancelled)
        {
            await Task.WhenAll(S.Certificates.Select(c => Certificate(c).SetIssuerCasAsync([])));
            await FinishAsync();
            return;
        }

        var dirty = _unsaved;
        if (_joined.Count > 0)
        {
            S.Certificates.UnionWith(_joined);
            _joined.Clear();
            dirty = true;
        }

        if (S.Phase != CaRotationPhase.RetiringOldCa)
        {
            // Trust first: every certificate (a joining one too) has its stores trust old and new.
            IReadOnlyList<string> cas = [.. S.OldCaPems, S.NewCaPem!];
            var untold = S.Certificates.Where(c => !S.CasSet.Contains(c)).ToList();
            await Task.WhenAll(untold.Select(c => Certificate(c).SetIssuerCasAsync(cas)));
            S.CasSet.UnionWith(untold);
            dirty |= untold.Count > 0;
        }

        var oldFps = S.OldCaPems.Select(CaFingerprints.Of).OfType<string>().ToList();
        var observed = await Task.WhenAll(S.Certificates.Order(StringComparer.Ordinal).Select(c => ObserveAsync(c, newFp, oldFps, S.Phase == CaRotationPhase.TrustingNewCa)));
        foreach (var gone in observed.Where(o => o.Left || !o.View.Exists))
        {
            // Deleted, or it names another issuer now (its notice may have been lost): done with it.
            await LeaveAsync(gone.View.Key, newFp);
            dirty = true;
        }

        if (S.Paused && S.Certificates.Count == 0)
        {
            // The issuer is deleted and no certificate names it any more: nothing needs its CAs.
            RotationLog.Finished(logger, IssuerKey(S.IssuerKey), newFp);
            await FinishAsync();
            return;
        }

        var views = observed.Where(o => !o.Left && o.View.Exists).Select(o => o.View).ToList();
        var now = time.GetUtcNow();
        var options = rotation.Value;
        var decision = CaRotationPolicy.Decide(new CaRotationSnapshot(
            S.Phase, now, S.PhaseStarted, S.AllTrustedAt, options.PropagationDelay, options.MaxWait, options.MaxConcurrentReissues, views, S.Requested));
        if (S.Paused)
        {
            // The issuer is deleted: nothing is re-issued (there is no issuer to sign), the CAs stay.
            decision = decision with { Reissue = [] };
        }
        var leftBehind = decision.LeftBehind.Count > 0 && S.AllTrustedAt is null;
        if (leftBehind)
        {
            RotationLog.StoresLeftBehind(logger, IssuerKey(S.IssuerKey), newFp, string.Join(", ", decision.LeftBehind));
            await RecordLeftBehindAsync(decision.LeftBehind, newFp);
            S.LeftBehind = [.. decision.LeftBehind.Order(StringComparer.Ordinal).Take(IssuerRotationStatus.LeftBehindShown)];
            S.LeftBehindCount = decision.LeftBehind.Count;
        }

        var moved = leftBehind || S.Remaining != decision.Remaining || S.Phase != decision.Phase;
        dirty |= moved || S.AllTrustedAt != decision.AllTrustedAt;
        S.AllTrustedAt = decision.AllTrustedAt;
        S.Remaining = decision.Remaining;
        if (S.Phase != decision.Phase)
        {
            S.Phase = decision.Phase;
            S.PhaseStarted = now;
            RotationLog.Phase(logger, IssuerKey(S.IssuerKey), newFp, S.Phase.ToString(), S.Remaining, S.Certificates.Count);
        }

        if (decision.Reissue.Count > 0)
        {
            S.Requested.UnionWith(decision.Reissue);
            dirty = true;
        }

        // M5: every 10 s while something is in flight (stores coming to trust the new CA, re-issues
        // rolling), every minute while it only waits for old leaves' overlap to end or is paused.
        var busy = decision.Reissue.Count > 0 || views.Any(v => v.IssuedFromNewCa && !v.ServesNewCa)
            || (S.Phase == CaRotationPhase.TrustingNewCa && (decision.AllTrustedAt is null || decision.WaitUntil is not null));
        Pace(busy && !S.Paused ? TimerPeriod : IdlePeriod);

        if (dirty)
        {
            await SaveAsync();
        }

        if (moved && S.Phase != CaRotationPhase.RetiringOldCa)
        {
            await TellIssuerAsync();
        }

        if (decision.Reissue.Count > 0)
        {
            RotationLog.Reissuing(logger, IssuerKey(S.IssuerKey), newFp, string.Join(", ", decision.Reissue));
            foreach (var key in decision.Reissue)
            {
                // One-way: the issuance asks the issuer, which asks this grain (interleaved).
                await Certificate(key).ReissueFromCaAsync(newFp, S.IssuerKey);
            }
        }

        if (S.Phase == CaRotationPhase.RetiringOldCa)
        {
            // No old-CA certificate is served or trusted: the CAs leave every certificate, whose
            // own chain (the new CA's, leaves carry the full chain) keeps the new CA trusted.
            await Task.WhenAll(S.Certificates.Select(c => Certificate(c).SetIssuerCasAsync([])));
            RotationLog.Finished(logger, IssuerKey(S.IssuerKey), newFp);
            await FinishAsync();
            await TellIssuerAsync();
        }
    }

    /// <summary>
    /// What the rotation needs to know of one certificate (Left: its spec.issuerRef names another
    /// issuer now); its stores are asked while they must come to trust the new CA, and whether
    /// its keystores wrote its new-CA certificate once the roll switched (M6: a pod reads what
    /// the Secret holds, not what the roll decided).
    /// </summary>
    private async Task<(RotatedCertificate View, bool Left)> ObserveAsync(string key, string newFp, IReadOnlyList<string> oldFps, bool checkStores)
    {
        var certificate = Certificate(key);
        var snapshot = await certificate.GetSnapshotAsync();
        var left = snapshot.Exists && snapshot.IssuerKey is { } issuerKey && S.IssuerKey is not null && issuerKey != S.IssuerKey;
        var issued = snapshot.Material is not null;
        var fromNew = issued && CaFingerprints.ChainHasAny(snapshot.Material!.ChainPem, [newFp]);
        var oldTrusted = (snapshot.AlsoTrusted ?? []).Any(m => CaFingerprints.ChainHasAny(m.ChainPem, oldFps));
        var switched = fromNew && snapshot.KeystoreRevision is null;
        var storesTrust = true;
        var served = switched;
        if (snapshot.Exists && !left && (checkStores || switched))
        {
            storesTrust = !checkStores || CaFingerprints.Distinct(snapshot.IssuerCas).Contains(newFp);
            if (storesTrust || switched)
            {
                var subscribers = await certificate.GetSubscribersAsync();
                var statuses = await Task.WhenAll(subscribers.Where(s => checkStores || s.Kind == ResourceKind.Keystore).Select(async s => (s.Kind, Status: s.Kind == ResourceKind.Keystore
                    ? await GrainFactory.GetGrain<IKeystoreGrain>(s.Key).GetStatusAsync()
                    : await GrainFactory.GetGrain<ITruststoreGrain>(s.Key).GetStatusAsync())));
                storesTrust = storesTrust && (!checkStores || statuses.All(s => !MustHoldNewCa(s.Kind, s.Status) || s.Status!.IssuerCas.Contains(newFp, StringComparer.Ordinal)));
                served = switched && statuses.All(s => s.Kind != ResourceKind.Keystore || s.Status is not { Location: not null } written
                    || (written.CertificateRevisions.TryGetValue(key, out var revision) && revision >= snapshot.ServedRevision));
            }
        }

        return (new RotatedCertificate(key, snapshot.Exists, issued, fromNew, served, oldTrusted, storesTrust), left);
    }

    /// <summary>Keystores (ca.crt) and Issuers-mode truststores must hold the new CA; Pinned ones pin leaves, and a store never written has nothing a pod reads.</summary>
    private static bool MustHoldNewCa(ResourceKind kind, StoreStatus? status) =>
        status is { Location: not null } && (kind == ResourceKind.Keystore || status.Condition(Conditions.TrustsIssuers)?.Status == Conditions.True);

    /// <summary>Warning Event reason: Rotation:MaxWait ended the wait for stores that do not trust the new CA yet.</summary>
    public const string StoresLeftBehindReason = "CaRotationStoresLeftBehind";

    /// <summary>
    /// The wait for stores that could not be written ended (Rotation:MaxWait): a Warning Event on
    /// each certificate left behind and on the issuer's object (the built-in root has none), so
    /// the operator sees it without the log. A failure to record is logged, never thrown.
    /// </summary>
    private async Task RecordLeftBehindAsync(IReadOnlyList<string> certificates, string newFp)
    {
        var short16 = newFp[..Math.Min(16, newFp.Length)];
        var targets = certificates.Select(c => (Key: ResourceKey.Parse(c), Kind: ResourceKind.Certificate,
            Message: $"The CA rotation of {IssuerDisplay(S.IssuerKey)} waited Rotation:MaxWait for this certificate's keystores (ca.crt) and Issuers truststores to trust the new CA {short16} and goes on without them: a peer that trusts this service only through such a store refuses its re-issued certificate until the store is written. Check the stores' Ready condition.")).ToList();
        if (S.IssuerKey is { } issuerKey && issuerKey != IssuerKeys.BuiltinRoot)
        {
            var (kind, ns, name) = IssuerKeys.Parse(issuerKey);
            targets.Add((new ResourceKey(ns ?? string.Empty, name), kind == IssuerKinds.Issuer ? ResourceKind.Issuer : ResourceKind.ClusterIssuer,
                $"The CA rotation to {short16} waited Rotation:MaxWait for the stores of {certificates.Count} certificates to trust the new CA and goes on without them: {string.Join(", ", certificates.Take(20))}{(certificates.Count > 20 ? ", ..." : string.Empty)}."));
        }

        foreach (var (key, kind, message) in targets)
        {
            try
            {
                await events.RecordAsync(key, kind, null, EventSeverity.Warning, StoresLeftBehindReason, message, CancellationToken.None);
            }
            catch (Exception ex)
            {
                RotationLog.StepFailed(logger, IssuerKey(S.IssuerKey), ex.GetType().Name, ex.Message);
            }
        }
    }

    private static string IssuerDisplay(string? key) => key == IssuerKeys.BuiltinRoot ? "Notary's built-in root CA" : IssuerKey(key);

    private ICertificateGrain Certificate(string key) => GrainFactory.GetGrain<ICertificateGrain>(key);

    /// <summary>One-way: the issuer (same key) writes its status with this rotation's progress, or without it once it is over.</summary>
    private Task TellIssuerAsync() => GrainFactory.GetGrain<IIssuerGrain>(this.GetPrimaryKeyString()).OnRotationChangedAsync();

    private async Task FinishAsync()
    {
        _timer?.Dispose();
        _timer = null;
        var registered = S.ReminderRegistered;
        state.State = new CaRotationState();
        await SaveAsync();
        if (registered && await this.GetReminder(Reminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private async Task ScheduleAsync()
    {
        await this.RegisterOrUpdateReminder(Reminder, ReminderPeriod, ReminderPeriod);
        if (!S.ReminderRegistered)
        {
            S.ReminderRegistered = true;
            await SaveAsync();
        }
    }

    private void StartTimer() =>
        _timer ??= this.RegisterGrainTimer(StepAsync, new GrainTimerCreationOptions(TimerPeriod, TimerPeriod) { KeepAlive = true });

    /// <summary>A step as soon as the current turn is over (the caller does not wait for it).</summary>
    private void Kick()
    {
        StartTimer();
        _period = TimerPeriod;
        _timer!.Change(TimeSpan.Zero, TimerPeriod);
    }

    private void Pace(TimeSpan period)
    {
        if (_timer is not null && period != _period)
        {
            _period = period;
            _timer.Change(period, period);
        }
    }

    private async Task SaveAsync()
    {
        await Persistence.SaveAsync(state, DeactivateOnIdle);
        _unsaved = false;
    }

    private static string IssuerKey(string? key) => key ?? "(unknown issuer)";
}
