using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Notary.Pki;

namespace Notary.Grains;

/// <summary>
/// What Keystore and Truststore grains share: apply and delete, the metadata Secret, the
/// subscriptions, and the rule that a failed attempt never replaces the stored store (the
/// store is written only once a complete new one is built, and the status says why not).
/// </summary>
public abstract class StoreGrain<TSpec>(
    IPersistentState<StoreState<TSpec>> state,
    IServiceMetadataSource metadataSource,
    ISecretStore secretStore,
    IStatusWriter statusWriter,
    IEventRecorder events,
    INotaryMetrics metrics,
    IWorkloadRestarter restarter,
    StoreWriteGate gate,
    TimeProvider time,
    ILogger logger,
    ResourceKind kind) : Grain, IRemindable
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

    private readonly Reporter _reporter = new(statusWriter, events, logger, kind);

    protected ResourceKey Resource { get; private set; }

    private IGrainTimer? _retry;
    private int _failures;

    // This reconcile ended in a transient failure and scheduled a retry.
    private bool _retrying;

    /// <summary>First retry delay after a transient failure; doubles per failure up to <see cref="MaxRetryDelay"/>.</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);

    protected StoreState<TSpec> State => state.State;

    /// <summary>Persists the state; a failed write drops the activation (see <see cref="Persistence"/>).</summary>
    protected Task SaveAsync() => Persistence.SaveAsync(state, DeactivateOnIdle);

    protected SubscriberRef Self => new(kind, Resource.ToString());

    protected abstract string? Format(TSpec spec);

    protected abstract string? MetadataSecretName(TSpec spec);

    protected abstract bool SameSpec(TSpec a, TSpec b);

    /// <summary>Resolves the certificates, keeps the subscriptions in step, and builds the store, or says why it cannot.</summary>
    protected abstract Task<(StoreBuild? Build, Problem? Problem)> BuildAsync(TSpec spec, StoreFormat format, ServiceMetadata metadata);

    /// <summary>Drops every subscription specific to the kind (the tag watches of a truststore).</summary>
    protected virtual Task ReleaseAsync() => Task.CompletedTask;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Resource = ResourceKey.Parse(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public async Task<StoreStatus> ApplyAsync(TSpec spec, ResourceVersionInfo origin)
    {
        if (State.Origin is { } current && current.Uid == origin.Uid && origin.Generation < current.Generation)
        {
            Log.Stale(logger, kind.ToString(), Resource.ToString(), origin.Generation, current.Generation);
            return BuildStatus();
        }

        // The same spec and generation (a resync) still reconciles, without forcing: it checks the
        // certificates' revisions and rebuilds only what a lost notification left behind.
        var sameGeneration = State.Origin == origin && State.Spec is not null && SameSpec(State.Spec, spec);
        State.Spec = spec;
        State.Origin = origin;
        return await ReconcileAsync(force: !sameGeneration, throwOnFailure: true);
    }

    public async Task OnCertificateChangedAsync(string certificateKey, long revision)
    {
        if (State.Spec is null)
        {
            return;
        }

        if (revision > 0 && State.BuiltFrom.TryGetValue(certificateKey, out var built) && built == revision && IsReady())
        {
            return;
        }

        await ReconcileAsync(force: false);
    }

    public async Task<StoreStatus> RebuildAsync() =>
        State.Spec is null ? BuildStatus() : await ReconcileAsync(force: false);

    public async Task OnMetadataChangedAsync()
    {
        if (State.Spec is not null)
        {
            // Rebuilds when the metadata the store was built with changed (see MetadataFingerprint).
            await ReconcileAsync(force: false);
        }
    }

    public async Task OnStoredSecretDeletedAsync()
    {
        // Only a store that exists and had been written; after our own delete the state is empty.
        if (State.Spec is not null && State.Stored is not null)
        {
            await ReconcileAsync(force: true);
        }
    }

    public async Task DeleteAsync()
    {
        if (State.Spec is null && State.Stored is null && State.Certificates.Count == 0)
        {
            return;
        }

        _retry?.Dispose();
        _retry = null;
        if (State.RetryRegistered)
        {
            // Not a reminder-table read per delete. A reminder whose registration was not
            // recorded finds the state cleared at its next tick and unregisters itself then.
            await ForgetRetryAsync();
        }

        var uid = State.Origin?.Uid;
        using (var step = Step())
        {
            await secretStore.DeleteAsync(Resource, kind, step.Token);
        }

        await SyncCertificatesAsync(new HashSet<string>());
        await ReleaseAsync();
        await SyncMetadataAsync(null);
        state.State = new StoreState<TSpec>();
        await state.ClearStateAsync();
        _reporter.Reset();
        metrics.StoreRemoved(kind, Resource);
        Log.Deleted(logger, kind.ToString(), Resource.ToString());
        await _reporter.EventAsync(Resource, uid, EventSeverity.Normal, Reasons.Deleted, $"Deleted the stored {kind.ToString().ToLowerInvariant()}.");
    }

    public Task<StoreStatus?> GetStatusAsync() => Task.FromResult(State.Spec is null ? null : BuildStatus());

    /// <param name="force">
    /// Rebuild even when the certificates are the revisions already stored: a new spec or new
    /// metadata. Without it, a change notification that changes nothing writes nothing.
    /// </param>
    /// <param name="throwOnFailure">
    /// After recording ReconcileFailed, throw the failure to the caller (the watcher's apply), so
    /// that it retries the call with its own backoff as well.
    /// </param>
    private async Task<StoreStatus> ReconcileAsync(bool force, bool throwOnFailure = false)
    {
        _retrying = false;
        try
        {
            var status = await TryReconcileAsync(force);
            if (!_retrying)
            {
                // Stored and current, or waiting for something that notifies this store (a
                // certificate, the metadata): a retry still pending from an earlier failure would
                // only do again what this reconcile just did, and ends the run of failures.
                await StopRetryingAsync();
            }

            return status;
        }
        catch (Exception ex)
        {
            // Something unexpected (a grain call refused or timed out, storage failed): report it
            // without its message, and retry with backoff; the stored store stays as it was.
            Log.ReconcileFailed(logger, kind.ToString(), Resource.ToString(), ex.GetType().Name, ex.Message);
            await ScheduleRetryAsync(ex, write: false);
            var status = await NotReadyAsync(new Problem(Reasons.ReconcileFailed, $"Rebuilding failed ({ex.GetType().Name}); Notary retries, and its log has the details."));
            if (throwOnFailure)
            {
                // The watcher takes a status as done: it would not forward this store again,
                // and the retry above is lost if this activation is (see RetryReminder).
                throw;
            }

            return status;
        }
    }

    /// <summary>
    /// Bounds one call to the secret store well inside Orleans' 30 s call timeout: a slow store
    /// (a cloud API retrying throttled calls) fails this turn and is retried later, instead of
    /// making every caller of the grain time out.
    /// </summary>
    private CancellationTokenSource Step() => new(TimeSpan.FromSeconds(20), time);

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
        _failures++;
        State.MustWrite |= write;
        var max = ClusterFailures.IsUnavailableSilo(cause) ? ClusterFailures.MaxUnavailableSiloRetryDelay : MaxRetryDelay;
        var delay = TimeSpan.FromTicks(Math.Min(max.Ticks, FirstRetryDelay.Ticks << Math.Min(_failures - 1, 20)));
        _retry?.Dispose();
        _retry = this.RegisterGrainTimer(
            async _ => await OnRetryAsync(),
            new GrainTimerCreationOptions { DueTime = delay, Period = Timeout.InfiniteTimeSpan, Interleave = false });
        if (State.RetryRegistered)
        {
            return;
        }

        try
        {
            // Once per run of failures, not per retry: one write to the reminder table.
            await this.RegisterOrUpdateReminder(RetryReminder, RetryReminderPeriod, RetryReminderPeriod);
            State.RetryRegistered = true;
        }
        catch (Exception ex)
        {
            // The reminder service may be what failed (its silo is down): the timer still
            // retries, and the next failure registers the reminder again.
            Log.RetryReminderFailed(logger, kind.ToString(), Resource.ToString(), ex.GetType().Name, ex.Message);
        }
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
        _failures = 0;
        _retry?.Dispose();
        _retry = null;
        if (State.RetryRegistered)
        {
            await ForgetRetryAsync();
            await SaveAsync();
        }
    }

    /// <summary>Unregisters the retry reminder; a failure leaves it to find nothing to retry and try again.</summary>
    private async Task ForgetRetryAsync()
    {
        try
        {
            if (await this.GetReminder(RetryReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            State.RetryRegistered = false;
        }
        catch (Exception ex)
        {
            Log.RetryReminderFailed(logger, kind.ToString(), Resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

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

        if (_retry is not null)
        {
            // This activation's own timer is pending and comes at the delay the backoff chose.
            return;
        }

        await ReconcileAsync(force: State.MustWrite);
    }

    private async Task<StoreStatus> TryReconcileAsync(bool force)
    {
        var spec = State.Spec!;
        var (format, formatProblem) = StoreBuilder.ParseFormat(Format(spec));
        if (formatProblem is not null)
        {
            return await NotReadyAsync(formatProblem);
        }

        var secretName = string.IsNullOrEmpty(MetadataSecretName(spec)) ? ServiceMetadata.DefaultSecretName : MetadataSecretName(spec)!;
        await SyncMetadataAsync(new ResourceKey(Resource.Namespace, secretName).ToString());
        ServiceMetadata? metadata;
        Problem? problem;
        try
        {
            var content = await metadataSource.ReadAsync(Resource.Namespace, secretName, CancellationToken.None);
            (metadata, problem) = ServiceMetadata.Parse(content, Resource.Namespace, secretName);
        }
        catch (Exception ex)
        {
            // The API server failed to answer: nothing would notify this store when it answers
            // again (the Secret did not change), so retry.
            await ScheduleRetryAsync(ex, write: false);
            (metadata, problem) = (null, new Problem(Reasons.MetadataUnavailable, $"Reading Secret {Resource.Namespace}/{secretName} failed: {ex.Message}"));
        }

        if (problem is not null)
        {
            return await NotReadyAsync(problem);
        }

        if (State.MetadataSalt.Length == 0)
        {
            State.MetadataSalt = System.Security.Cryptography.RandomNumberGenerator.GetBytes(16);
        }

        var fingerprint = metadata!.Fingerprint(State.MetadataSalt);
        force |= fingerprint != State.MetadataFingerprint;

        StoreBuild? build;
        try
        {
            (build, problem) = await BuildAsync(spec, format, metadata!);
        }
        catch (PkiException ex)
        {
            return await NotReadyAsync(new Problem(Reasons.BuildFailed, ex.Message));
        }

        if (problem is not null)
        {
            return await NotReadyAsync(problem);
        }

        if (!force && StoredAndCurrentSoFar() && State.BuiltGeneration == State.Origin!.Generation && SameRevisions(State.BuiltFrom, build!.BuiltFrom) && State.Excluded.SetEquals(build.Excluded))
        {
            if (!IsReady())
            {
                // Only a reconcile failed (a silo died under a grain call): the stored store is
                // still exactly this one, so it is Ready again without being written again.
                ConditionList.Set(State.Conditions, Conditions.Ready, Conditions.True, Reasons.Stored, $"Stored at {State.Stored!.Location}.", time.GetUtcNow(), State.Origin.Generation);
                await SaveAsync();
                await PublishAsync();
            }

            return BuildStatus();
        }

        // From here on this store encodes and writes: one of a bounded number at a time in the
        // silo (see StoreWriteGate), so that hundreds notified at once complete in turn.
        using var slot = await gate.EnterAsync();
        StoreWrite write;
        IReadOnlyList<string> entries;
        try
        {
            (write, entries) = build!.Encode();
        }
        catch (PkiException ex)
        {
            return await NotReadyAsync(new Problem(Reasons.BuildFailed, ex.Message));
        }

        StoredLocation stored;
        try
        {
            using var step = Step();
            stored = await secretStore.PutAsync(write, step.Token);
        }
        catch (SecretStoreRejectedException ex)
        {
            return await NotReadyAsync(new Problem(Reasons.StoreFailed, ex.Message));
        }
        catch (SecretStoreFailedException ex)
        {
            Log.StoreFailed(logger, kind.ToString(), Resource.ToString(), nameof(SecretStoreFailedException), ex.Message);
            await ScheduleRetryAsync(ex, write: true);
            return await NotReadyAsync(new Problem(Reasons.StoreFailed, $"Writing the store failed: {ex.Message} Notary retries."));
        }
        catch (Exception ex)
        {
            Log.StoreFailed(logger, kind.ToString(), Resource.ToString(), ex.GetType().Name, ex.Message);
            await ScheduleRetryAsync(ex, write: true);
            return await NotReadyAsync(new Problem(Reasons.StoreFailed, $"Writing the store failed ({ex.GetType().Name}); Notary retries, and its log has the details."));
        }

        var first = State.Stored is null;
        var contentsChanged = !first && (!SameRevisions(State.BuiltFrom, build.BuiltFrom) || !State.Excluded.SetEquals(build.Excluded));
        var firstOrChanged = first || contentsChanged || State.BuiltGeneration != State.Origin!.Generation;
        State.Excluded = new HashSet<string>(build.Excluded, StringComparer.Ordinal);
        State.Stored = stored;
        State.MustWrite = false;
        State.BuiltFrom = new Dictionary<string, long>(build.BuiltFrom, StringComparer.Ordinal);
        State.Entries = [.. entries];
        State.BuiltGeneration = State.Origin!.Generation;
        State.MetadataFingerprint = fingerprint;
        ConditionList.Set(State.Conditions, Conditions.Ready, Conditions.True, Reasons.Stored, $"Stored at {stored.Location}.", time.GetUtcNow(), State.Origin.Generation);
        await SaveAsync();
        var revisions = string.Join(", ", build.BuiltFrom.Select(r => $"{r.Key}@{r.Value}"));
        Log.Stored(logger, kind.ToString(), Resource.ToString(), stored.Location, revisions);
        if (firstOrChanged)
        {
            await _reporter.EventAsync(Resource, State.Origin?.Uid, EventSeverity.Normal, Reasons.Stored, $"Stored at {stored.Location}, built from {revisions}.");
        }

        await PublishAsync();
        if (contentsChanged)
        {
            await ReloadOptedInAsync();
        }

        return BuildStatus();
    }

    /// <summary>
    /// New certificates in the store (a renewal, a re-issue): workloads that use its Secret and
    /// opted in with <c>notary.dev/reload: "true"</c> get a rolling restart. A breach restarts
    /// every workload itself; the restarter coalesces the two.
    /// </summary>
    private async Task ReloadOptedInAsync()
    {
        try
        {
            using var step = Step();
            await restarter.RestartAsync(Resource.Namespace, [Resource.Name], onlyOptedIn: true, $"{kind} {Resource} was rebuilt with new certificates", step.Token);
        }
        catch (Exception ex)
        {
            // The store is written; a failed reload is reported in the log and not retried (the
            // next rebuild reloads again).
            Log.ReloadFailed(logger, kind.ToString(), Resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    private async Task<StoreStatus> NotReadyAsync(Problem problem)
    {
        var changed = ConditionList.Set(State.Conditions, Conditions.Ready, Conditions.False, problem.Reason, problem.Message, time.GetUtcNow(), State.Origin?.Generation ?? 0);
        await SaveAsync();
        if (changed)
        {
            Log.NotReady(logger, kind.ToString(), Resource.ToString(), problem.Reason, problem.Message);
            await _reporter.EventAsync(Resource, State.Origin?.Uid, EventSeverity.Warning, problem.Reason, problem.Message);
        }

        await PublishAsync();
        return BuildStatus();
    }

    /// <summary>Subscribes to the desired certificates and unsubscribes from the others, in parallel.</summary>
    protected async Task SyncCertificatesAsync(IReadOnlySet<string> desired)
    {
        var added = desired.Where(k => !State.Certificates.Contains(k)).ToList();
        var removed = State.Certificates.Where(k => !desired.Contains(k)).ToList();
        if (added.Count == 0 && removed.Count == 0)
        {
            return;
        }

        await Task.WhenAll(
            added.Select(k => GrainFactory.GetGrain<ICertificateGrain>(k).SubscribeAsync(Self))
                .Concat(removed.Select(k => GrainFactory.GetGrain<ICertificateGrain>(k).UnsubscribeAsync(Self))));
        State.Certificates = new HashSet<string>(desired, StringComparer.Ordinal);
        await SaveAsync();
    }

    private async Task SyncMetadataAsync(string? desired)
    {
        if (State.MetadataSecret == desired)
        {
            return;
        }

        if (State.MetadataSecret is not null)
        {
            await GrainFactory.GetGrain<IMetadataSecretGrain>(State.MetadataSecret).UnsubscribeAsync(Self);
        }

        if (desired is not null)
        {
            await GrainFactory.GetGrain<IMetadataSecretGrain>(desired).SubscribeAsync(Self);
        }

        State.MetadataSecret = desired;
        await SaveAsync();
    }

    protected async Task<IReadOnlyDictionary<ResourceKey, CertificateSnapshot>> SnapshotsAsync(IEnumerable<ResourceKey> certificates)
    {
        var snapshots = await Task.WhenAll(certificates.Distinct().Select(k => GrainFactory.GetGrain<ICertificateGrain>(k.ToString()).GetSnapshotAsync()));
        return snapshots.ToDictionary(s => s.Resource);
    }

    private async Task PublishAsync()
    {
        var status = BuildStatus();
        await _reporter.PublishAsync(Resource, status);
        metrics.StoreObserved(kind, Resource, status.IsReady);
    }

    private bool IsReady() => State.Conditions.Any(c => c.Type == Conditions.Ready && c.Status == Conditions.True);

    /// <summary>
    /// Stored, and either Ready or not Ready only because a reconcile failed before writing
    /// (ReconcileFailed, or MetadataUnavailable: reading the metadata Secret failed): the stored
    /// store is the last one built, unlike after a failed write. Metadata that really changed
    /// meanwhile still forces a rebuild, through its fingerprint.
    /// </summary>
    private bool StoredAndCurrentSoFar() =>
        !State.MustWrite && State.Stored is not null
        && (IsReady() || State.Conditions.Any(c => c.Type == Conditions.Ready && c.Reason is Reasons.ReconcileFailed or Reasons.MetadataUnavailable));

    private static bool SameRevisions(Dictionary<string, long> a, IReadOnlyDictionary<string, long> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private StoreStatus BuildStatus() => new()
    {
        Arn = State.Stored?.Arn,
        Location = State.Stored?.Location,
        CertificateRevisions = new Dictionary<string, long>(State.BuiltFrom, StringComparer.Ordinal),
        Entries = [.. State.Entries],
        Conditions = [.. State.Conditions],
        ObservedGeneration = State.Origin?.Generation ?? 0,
    };
}
