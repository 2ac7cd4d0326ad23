using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Notary.Grains.Protection;
using Notary.Grains.Retry;
using Notary.Pki;

namespace Notary.Grains;

/// <summary>
/// What Keystore and Truststore grains share: apply and delete, the metadata Secret, the
/// subscriptions, and the rule that a failed attempt never replaces the stored store (the
/// store is written only once a complete new one is built, and the status says why not).
/// </summary>
// This part: apply, rebuild and delete, the reconcile that builds and writes the store, and what
// the store reports. Retries (StoreGrain.Retry.cs) and subscriptions (StoreGrain.Subscriptions.cs)
// are parts of their own.
public abstract partial class StoreGrain<TSpec>(
    IPersistentState<StoreState<TSpec>> state,
    IServiceMetadataSource metadataSource,
    ISecretStore secretStore,
    IStatusWriter statusWriter,
    IEventRecorder events,
    INotaryMetrics metrics,
    IWorkloadRestarter restarter,
    StoreWriteGate gate,
    TimeProvider time,
    StateProtector protector,
    ILogger logger,
    ResourceKind kind) : Grain
    where TSpec : class
{
    private readonly Reporter _reporter = new(statusWriter, events, logger, kind);

    protected ResourceKey Resource { get; private set; }

    protected StoreState<TSpec> State => state.State;

    /// <summary>
    /// The salt that keys the metadata fingerprint (an HMAC over the store passwords among the
    /// rest), kept encrypted in the state so that Redis alone does not allow guessing passwords
    /// against the fingerprint. A plain salt of state saved before, or one under a rotated-out
    /// data key, is encrypted under the current key here (<paramref name="resealed"/>: the
    /// reconcile saves it even when it writes nothing else); an unreadable one is replaced,
    /// which costs one rebuild.
    /// </summary>
    private byte[] MetadataSalt(out bool resealed)
    {
        resealed = false;
        var context = StateProtector.Context(kind.ToString(), Resource.ToString(), "metadata-salt");
        byte[]? salt = null;
        if (State.SealedMetadataSalt is { } sealedSalt)
        {
            try
            {
                salt = protector.Unprotect(sealedSalt, context);
                if (protector.IsCurrent(sealedSalt))
                {
                    return salt;
                }
            }
            catch (Exception ex) when (ex is StateProtectionException or StateKeyUnknownException)
            {
                // Unlike a private key, a lost salt costs one rebuild of the store, nothing more.
                salt = null;
            }
        }

        salt ??= State.MetadataSalt.Length > 0 ? State.MetadataSalt : System.Security.Cryptography.RandomNumberGenerator.GetBytes(16);
        State.SealedMetadataSalt = protector.Protect(salt, context);
        State.MetadataSalt = [];
        resealed = true;
        return salt;
    }

    /// <summary>Persists the state; a failed write drops the activation (see <see cref="Persistence"/>).</summary>
    protected Task SaveAsync() => Persistence.SaveAsync(state, DeactivateOnIdle);

    protected SubscriberRef Self => new(kind, Resource.ToString());

    protected DateTimeOffset Now => time.GetUtcNow();

    protected abstract string? Format(TSpec spec);

    protected abstract string? MetadataSecretName(TSpec spec);

    protected abstract bool SameSpec(TSpec a, TSpec b);

    /// <summary>Resolves the certificates, keeps the subscriptions in step, and builds the store, or says why it cannot.</summary>
    protected abstract Task<(StoreBuild? Build, Problem? Problem)> BuildAsync(TSpec spec, StoreFormat format, ServiceMetadata metadata);

    /// <summary>
    /// The stored store holds <paramref name="rolling"/> (certificate key to revision): a
    /// truststore acknowledges that to certificates in a make-before-break roll.
    /// </summary>
    protected virtual Task OnHoldsAsync(IReadOnlyDictionary<string, long> rolling) => Task.CompletedTask;

    /// <summary>Drops every subscription specific to the kind (the tag watches of a truststore).</summary>
    protected virtual Task ReleaseAsync() => Task.CompletedTask;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Resource = ResourceKey.Parse(this.GetPrimaryKeyString());
        if (State.Spec is not null)
        {
            // This silo reports the store from now on (see OnDeactivateAsync).
            metrics.StoreObserved(kind, Resource, IsReady());
        }

        return Task.CompletedTask;
    }

    /// <summary>Another silo reports this store from its next activation on: this one drops its series.</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.StoreRemoved(kind, Resource);
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    public async Task<StoreStatus> ApplyAsync(TSpec spec, ResourceVersionInfo origin)
    {
        if (StaleGeneration.IsStale(State.Origin, origin))
        {
            Log.Stale(logger, kind.ToString(), Resource.ToString(), origin.Generation, State.Origin!.Generation);
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
            // Already holds it (a roll notifying again, or its keystore switch): say so again.
            await OnHoldsAsync(new Dictionary<string, long>(StringComparer.Ordinal) { [certificateKey] = revision });
            if (_dropsDeferred)
            {
                // A keystore switch ends a roll that held back dropping previous certificates.
                await RebuildCoalescedAsync();
            }

            return;
        }

        if (CoalescesNotifications)
        {
            await RebuildCoalescedAsync();
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

        _retry?.Cancel();
        if (State.RetryRegistered)
        {
            // Not a reminder-table read per delete. A reminder whose registration was not
            // recorded finds the state cleared at its next tick and unregisters itself then.
            await ForgetRetryAsync();
        }

        var uid = State.Origin?.Uid;
        using (var step = PortCall.Start(time))
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
    /// <param name="held">
    /// A coalesced rebuild after a notification (see <see cref="RebuildCoalescedAsync"/>): the
    /// write slot the caller holds (given back early like one taken here), and dropping previous certificates may wait (see <see cref="StoreBuild.DefersDrops"/>).
    /// </param>
    private async Task<StoreStatus> ReconcileAsync(bool force, bool throwOnFailure = false, StoreWriteGate.Slot? held = null)
    {
        _retrying = false;
        try
        {
            var status = await TryReconcileAsync(force, held);
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

    private async Task<StoreStatus> TryReconcileAsync(bool force, StoreWriteGate.Slot? held)
    {
        var coalesced = held is not null;
        _dropsDeferred = false;
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

        await protector.EnsureKnownAsync([State.SealedMetadataSalt]);
        var fingerprint = metadata!.Fingerprint(MetadataSalt(out var saltResealed));
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

        var built = build!;
        var unchanged = !force && built.Problem is null && StoredAndCurrentSoFar() && State.BuiltGeneration == State.Origin!.Generation && SameRevisions(State.BuiltFrom, built.BuiltFrom) && State.Excluded.SetEquals(built.Excluded) && State.BuiltKey == built.Key;
        if (unchanged && coalesced && !saltResealed && IsReady() && built.DefersDrops && State.AlsoTrusted is { } trusted && built.AlsoTrusted.IsProperSubsetOf(trusted))
        {
            // Only previous certificates would leave, while another certificate of this store still
            // rolls: its keystore switch drops its own previous one soon after, and one write then
            // drops both (make-before-break keeps them a little longer, never less).
            _dropsDeferred = true;
            await OnHoldsAsync(built.Rolling);
            return BuildStatus();
        }

        if (unchanged && SameAlsoTrusted(built))
        {
            await OnHoldsAsync(built.Rolling);
            if (!IsReady())
            {
                // Only a reconcile failed (a silo died under a grain call): the stored store is
                // still exactly this one, so it is Ready again without being written again.
                ConditionList.Set(State.Conditions, Conditions.Ready, Conditions.True, Reasons.Stored, $"Stored at {State.Stored!.Location}.", time.GetUtcNow(), State.Origin!.Generation);
                await SaveAsync();
                await PublishAsync();
            }
            else if (saltResealed)
            {
                // Nothing to write but the salt, now encrypted (state saved before, or a rotated data key).
                await SaveAsync();
            }

            return BuildStatus();
        }

        // From here on this store encodes and writes: one of a bounded number at a time in the
        // silo (see StoreWriteGate), so that hundreds notified at once complete in turn.
        // A coalesced rebuild already holds its slot (taken before the certificates were read).
        using var slot = held ?? await gate.EnterAsync();
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
            using var step = PortCall.Start(time);
            stored = await secretStore.PutAsync(write, step.Token);
            metrics.StoreWritten(kind, Resource);
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
        var contentsChanged = !first && (!SameRevisions(State.BuiltFrom, build.BuiltFrom) || !State.Excluded.SetEquals(build.Excluded) || State.BuiltKey != build.Key || !SameAlsoTrusted(build));
        var firstOrChanged = first || contentsChanged || State.BuiltGeneration != State.Origin!.Generation;
        State.Excluded = new HashSet<string>(build.Excluded, StringComparer.Ordinal);
        State.AlsoTrusted = build.AlsoTrusted.Count == 0 ? null : new HashSet<string>(build.AlsoTrusted, StringComparer.Ordinal);
        State.Stored = stored;
        State.MustWrite = false;
        State.BuiltFrom = new Dictionary<string, long>(build.BuiltFrom, StringComparer.Ordinal);
        State.Entries = [.. entries];
        State.BuiltGeneration = State.Origin!.Generation;
        State.MetadataFingerprint = fingerprint;
        State.BuiltKey = build.Key;
        build.OnStored?.Invoke();
        if (build.Problem is null)
        {
            ConditionList.Set(State.Conditions, Conditions.Ready, Conditions.True, Reasons.Stored, $"Stored at {stored.Location}.", time.GetUtcNow(), State.Origin.Generation);
        }

        await SaveAsync();
        var revisions = string.Join(", ", build.BuiltFrom.Select(r => $"{r.Key}@{r.Value}"));
        Log.Stored(logger, kind.ToString(), Resource.ToString(), stored.Location, revisions);
        if (firstOrChanged)
        {
            await _reporter.EventAsync(Resource, State.Origin?.Uid, EventSeverity.Normal, Reasons.Stored, $"Stored at {stored.Location}, built from {revisions}.");
        }

        if (build.Problem is not null)
        {
            // Written as far as it could be built; the store still has its problem.
            await NotReadyAsync(build.Problem);
        }
        else
        {
            await PublishAsync();
        }

        // The store is written and reported: its slot goes to the next store before the reload's
        // lookup of the namespace's workloads, which the restarter batches across the stores
        // waiting for it (a breach's 1,000 truststores: a handful of lists instead of one each).
        slot.Dispose();
        if (contentsChanged)
        {
            await ReloadOptedInAsync();
        }

        await OnHoldsAsync(build.Rolling);
        return BuildStatus();
    }

    /// <summary>A Warning Event on the store's resource.</summary>
    protected Task WarnAsync(string reason, string message) =>
        _reporter.EventAsync(Resource, State.Origin?.Uid, EventSeverity.Warning, reason, message);

    private async Task<StoreStatus> NotReadyAsync(Problem problem)
    {
        await _reporter.NotReadyAsync(Resource, State.Origin?.Uid, State.Conditions, problem, time.GetUtcNow(), State.Origin?.Generation ?? 0, SaveAsync);
        await PublishAsync();
        return BuildStatus();
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

    private bool SameAlsoTrusted(StoreBuild build) =>
        State.AlsoTrusted is null ? build.AlsoTrusted.Count == 0 : State.AlsoTrusted.SetEquals(build.AlsoTrusted);

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
        References = [.. State.Bindings],
        IssuerCas = State.IssuerCas is { } cas ? [.. cas] : [],
    };
}
