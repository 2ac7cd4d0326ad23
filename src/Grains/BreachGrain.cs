using System.Globalization;
using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains;

/// <summary>
/// One Breach object, keyed "namespace/name" (its uid tells a re-created one apart); the watcher
/// forwards it whoever created it. Rotate: re-key and re-issue the certificate (the old one
/// revoked where the issuer can), rebuild every keystore and truststore that has it, in parallel,
/// then restart the workloads that mount any changed Secret. Quarantine: hold the certificate out
/// of every truststore (the certificate counts the quarantines that hold it) and restart those
/// workloads; deleting the Breach lifts it. One failing dependent never stops the others: it
/// shows as Failed with its reason. Progress goes to the Breach's status (the record that
/// survives a loss of grain state: a finished rotate is adopted, never run again); the state is
/// cleared when the Breach is deleted.
/// </summary>
public sealed partial class BreachGrain(
    [PersistentState("breach", GrainStorage.Name)] IPersistentState<BreachState> state,
    IWorkloadRestarter restarter,
    IEventRecorder events,
    IEnumerable<IBreachStatusWriter> statusWriters,
    INotaryMetrics metrics,
    TimeProvider time,
    ILogger<BreachGrain> logger) : Grain, IBreachGrain
{
    private const string CertificateKind = "Certificate";

    /// <summary>Calls of one store's rebuild before a timeout counts as its failure (see <see cref="RebuildAsync"/>).</summary>
    private const int RebuildAttempts = 4;

    private const string HeldNotIssued = "held; the certificate is not issued yet";

    private readonly Reporter _reporter = new(new NoStatus(), events, logger, ResourceKind.Certificate);

    // The Breach's status port; none in silos without an API server (grain tests, benchmarks).
    private readonly IBreachStatusWriter? _statusWriter = statusWriters.FirstOrDefault();
    private BreachReport? _report;
    private IGrainTimer? _work;

    private string Key => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _report = state.State.Report;
        if (_report is not null)
        {
            // Reported again wherever it activates: a Failed breach stays visible (NotaryBreachFailed).
            metrics.BreachObserved(ResourceKey.Parse(Key), _report.Mode, _report.Items);
        }

        if (_report is { IsFinished: false })
        {
            // The silo that ran it went away mid-way: carry on (every step is idempotent).
            Schedule(lift: _report.Phase == BreachPhase.Lifted);
        }

        return Task.CompletedTask;
    }

    public async Task<BreachReport> StartAsync(BreachRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_report is not null && !request.DryRun)
        {
            if (_report.Uid == request.Uid)
            {
                if (request.Mode == BreachMode.Quarantine && _report.Phase != BreachPhase.Lifted)
                {
                    // Every forward holds again: the certificate grain may have lost its state
                    // while this one kept its own (idempotent; a failure fails the forward, retried).
                    await HoldAsync(request);
                    if (_report is { Phase: BreachPhase.Failed, Items: [{ Status: BreachItemStatus.Failed }, ..] })
                    {
                        // The hold failed before (transiently): it holds now, so the run goes on.
                        await SaveAsync(_report with
                        {
                            Phase = BreachPhase.InProgress, Finished = null, Message = null,
                            Items = [.. _report.Items.Select(i => i with { Status = BreachItemStatus.Pending, Reason = null })],
                        });
                        Schedule(lift: false);
                        return _report!;
                    }
                }

                if (_report.IsFinished && request.Recorded is not { IsFinished: true })
                {
                    // The last status write was lost: the API server's record must say it is finished.
                    await PublishAsync(_report);
                }

                return _report;
            }

            // A Breach of the same name created again: the old incarnation goes first.
            await DeleteAsync(_report.Uid ?? string.Empty);
        }

        if (request.DryRun && request.Recorded is { Phase: BreachPhase.DryRun } answered)
        {
            return answered;
        }

        if (!request.DryRun && request.Mode == BreachMode.Quarantine)
        {
            // A quarantine holds because its Breach exists, before anything else (adoption, the
            // certificate's existence): the watcher forwards Certificates and stores only after
            // every Breach, so no truststore is built with the certificate in the meantime.
            await HoldAsync(request);
        }

        var id = request.DryRun && request.Uid is null ? "dry-run" : BreachIds.For(ResourceKey.Parse(Key));
        if (!request.DryRun && request.Recorded is { } recorded && Adoptable(recorded, request))
        {
            return await AdoptAsync(request, recorded with { Id = id, Uid = request.Uid, Certificate = request.Certificate, Mode = request.Mode, Reason = request.Reason });
        }

        var certificate = GrainFactory.GetGrain<ICertificateGrain>(request.Certificate.ToString());
        var snapshot = await certificate.GetSnapshotAsync();
        if (!snapshot.Exists && !request.DryRun && request.Mode == BreachMode.Quarantine)
        {
            // Held (counted by the certificate grain without a spec): the certificate is quarantined from its first issue.
            var held = new BreachReport
            {
                Id = id, Uid = request.Uid, Certificate = request.Certificate, Mode = request.Mode, Reason = request.Reason, RequestedBy = request.RequestedBy,
                Phase = BreachPhase.Completed, Created = time.GetUtcNow(), Finished = time.GetUtcNow(),
                Items = [new BreachItem(CertificateKind, request.Certificate.Namespace, request.Certificate.Name, BreachItemStatus.Completed, HeldNotIssued)],
                Message = $"Certificate {request.Certificate} is {HeldNotIssued}: no truststore will trust it while this Breach exists.",
            };
            await SaveAsync(held);
            return held;
        }

        if (!snapshot.Exists)
        {
            var missing = new BreachReport
            {
                Id = id, Uid = request.Uid, Certificate = request.Certificate, Mode = request.Mode, Reason = request.Reason, RequestedBy = request.RequestedBy,
                Phase = BreachPhase.Failed, Created = time.GetUtcNow(), Finished = time.GetUtcNow(),
                Message = $"Certificate {request.Certificate} does not exist.",
            };
            if (!request.DryRun)
            {
                await SaveAsync(missing);
            }

            return missing;
        }

        var items = await ImpactAsync(request.Certificate, request.Mode, certificate);
        var report = new BreachReport
        {
            Id = id,
            Uid = request.Uid,
            Certificate = request.Certificate,
            Mode = request.Mode,
            Reason = request.Reason,
            RequestedBy = request.RequestedBy,
            Phase = request.DryRun ? BreachPhase.DryRun : BreachPhase.InProgress,
            Created = time.GetUtcNow(),
            Items = items,
            Message = request.DryRun ? "Dry run: nothing was changed." : null,
        };
        if (request.DryRun)
        {
            // A dry-run Breach (kubectl) shows its impact in its status; nothing is kept.
            await PublishAsync(report);
            return report;
        }

        await SaveAsync(report);
        Log.BreachStarted(logger, id, request.Certificate.ToString(), request.Mode.ToString(), items.Count);
        Schedule(lift: false);
        return report;
    }

    /// <summary>
    /// The grain lost its state (Redis lost, or a new silo cluster) but the API server recorded
    /// the breach: a finished one stays finished (a rotate is not run again; a quarantine holds
    /// the certificate out again, before the watcher forwards any Certificate or store), one in
    /// progress resumes from the recorded items (a re-issue recorded Completed is not repeated).
    /// </summary>
    private async Task<BreachReport> AdoptAsync(BreachRequest request, BreachReport recorded)
    {
        await SaveAsync(recorded, publish: false);
        if (recorded.IsFinished)
        {
            // A quarantine's hold was already asserted by StartAsync, whatever the record says.
            Log.BreachAdopted(logger, recorded.Id, recorded.Certificate.ToString(), recorded.Phase);
            return recorded;
        }

        Schedule(lift: false);
        return recorded;
    }

    public Task<BreachReport?> GetAsync() => Task.FromResult(_report);

    public async Task<BreachReport?> DeleteAsync(string uid, BreachRequest? spec = null)
    {
        var report = _report;
        if (report is null && spec is { Mode: BreachMode.Quarantine, DryRun: false })
        {
            // No state (lost) but the Breach's spec: the certificate grain may still count the hold;
            // released (idempotent). A failure fails the call: the finalizer stays, the watcher retries.
            await GrainFactory.GetGrain<ICertificateGrain>(spec.Certificate.ToString())
                .HoldQuarantineAsync(Key, false, $"breach {BreachIds.For(ResourceKey.Parse(Key))} was deleted");
            return null;
        }

        if (report is null || (report.Uid is not null && report.Uid != uid))
        {
            // Nothing held, or another incarnation (this one was never started here).
            return null;
        }

        if (report.Mode == BreachMode.Quarantine && !(report.Phase == BreachPhase.Lifted && report.IsFinished))
        {
            // Lift before the finalizer goes: the certificate returns unless another quarantine holds it.
            _work?.Dispose();
            var certificate = GrainFactory.GetGrain<ICertificateGrain>(report.Certificate.ToString());
            var items = await ImpactAsync(report.Certificate, BreachMode.Quarantine, certificate);
            await SaveAsync(report with { Phase = BreachPhase.Lifted, Items = items, Finished = null, Message = "Lifting the quarantine: its Breach is being deleted." });
            await RunAsync(lift: true);
            report = _report!;
            if (report.Items is [{ Status: BreachItemStatus.Failed } certificateItem, ..])
            {
                // Not lifted: the state stays (a lift not finished, resumed on activation) and the
                // call fails, so the finalizer stays and the watcher retries with backoff.
                await SaveAsync(report with { Finished = null });
                throw new InvalidOperationException($"The quarantine of {report.Certificate} could not be lifted ({certificateItem.Reason}); it is retried.");
            }
        }

        else if (report.Mode == BreachMode.Rotate && !report.IsFinished)
        {
            // A rotation is not undone by deleting its record: it finishes first.
            _work?.Dispose();
            await RunAsync(lift: false);
            report = _report!;
        }

        _work?.Dispose();
        _work = null;
        _report = null;
        await state.ClearStateAsync();
        metrics.BreachObserved(ResourceKey.Parse(Key), report.Mode, null);
        Log.BreachCleared(logger, report.Id, report.Certificate.ToString());
        return report;
    }

    /// <summary>What a breach touches: the certificate, its dependent stores, and the workloads using their Secrets.</summary>
    private async Task<List<BreachItem>> ImpactAsync(ResourceKey certificateKey, BreachMode mode, ICertificateGrain certificate)
    {
        var items = new List<BreachItem> { new(CertificateKind, certificateKey.Namespace, certificateKey.Name, BreachItemStatus.Pending) };
        var subscribers = await certificate.GetSubscribersAsync();
        var stores = subscribers
            .Where(s => mode == BreachMode.Rotate || s.Kind == ResourceKind.Truststore)
            .Select(s => (s.Kind, Key: ResourceKey.Parse(s.Key)))
            .ToList();
        items.AddRange(stores.Select(s => new BreachItem(s.Kind.ToString(), s.Key.Namespace, s.Key.Name, BreachItemStatus.Pending)));
        foreach (var group in stores.GroupBy(s => s.Key.Namespace, StringComparer.Ordinal))
        {
            // A store's Kubernetes Secret has the store's name (the Kubernetes Secret store writes it so).
            var workloads = await restarter.FindAsync(group.Key, [.. group.Select(s => s.Key.Name).Distinct(StringComparer.Ordinal)], CancellationToken.None);
            items.AddRange(workloads.Select(w => new BreachItem(w.Kind, w.Namespace, w.Name, BreachItemStatus.Pending)));
        }

        return items;
    }

    private void Schedule(bool lift)
    {
        _work?.Dispose();
        _work = this.RegisterGrainTimer(
            async _ => await RunAsync(lift),
            new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = Timeout.InfiniteTimeSpan, Interleave = false });
    }

    private async Task RunAsync(bool lift)
    {
        var report = _report!;
        var certificate = GrainFactory.GetGrain<ICertificateGrain>(report.Certificate.ToString());
        var items = report.Items.ToList();

        // The CA that signed the certificate before the breach: Issuers-mode truststores keep trusting it.
        var vouching = IssuerOf(await certificate.GetSnapshotAsync());

        // 1. The certificate itself.
        long revision;
        try
        {
            Update(items, 0, BreachItemStatus.InProgress);
            CertificateStatus status;
            if (lift || report.Mode == BreachMode.Quarantine)
            {
                // A certificate that does not exist (any more) still counts the quarantine.
                status = await certificate.HoldQuarantineAsync(Key, !lift, lift ? $"breach {report.Id} was deleted" : $"breach {report.Id}: {report.Reason}")
                    ?? new CertificateStatus();
            }
            else if (items[0].Status == BreachItemStatus.Completed)
            {
                status = (await certificate.GetStatusAsync())!;
            }
            else
            {
                var before = (await certificate.GetSnapshotAsync()).Revision;
                status = await certificate.ReissueAsync($"breach {report.Id} was reported: {report.Reason}");
                if (status.Revision == before)
                {
                    var problem = status.Condition(Conditions.Issuing)?.Message ?? status.Condition(Conditions.Ready)?.Message ?? "the issuer did not issue";
                    throw new BreachStepException($"Re-issuing failed: {problem}");
                }
            }

            revision = status.Revision;
            Update(items, 0, BreachItemStatus.Completed);
        }
        catch (Exception ex)
        {
            Update(items, 0, BreachItemStatus.Failed, Describe(ex));
            await FinishAsync(items, $"The certificate could not be {(report.Mode == BreachMode.Rotate ? "rotated" : "quarantined")}; nothing else was changed.");
            return;
        }

        await SaveAsync(_report! with { Items = items });

        // 2. Every dependent store, in parallel; each one's failure is its own.
        var stores = Enumerable.Range(0, items.Count).Where(i => items[i].Kind is nameof(ResourceKind.Keystore) or nameof(ResourceKind.Truststore)).ToList();
        foreach (var i in stores)
        {
            Update(items, i, BreachItemStatus.InProgress);
        }

        await Task.WhenAll(stores.Select(async i =>
        {
            var item = items[i];
            try
            {
                var key = $"{item.Namespace}/{item.Name}";
                ICertificateSubscriber store = item.Kind == nameof(ResourceKind.Keystore)
                    ? GrainFactory.GetGrain<IKeystoreGrain>(key)
                    : GrainFactory.GetGrain<ITruststoreGrain>(key);
                var status = await RebuildAsync(store);
                var ready = status.Condition(Conditions.Ready);
                if (ready?.Status != Conditions.True)
                {
                    Update(items, i, BreachItemStatus.Failed, $"{ready?.Reason}: {ready?.Message}");
                }
                else if (report.Mode == BreachMode.Rotate && status.CertificateRevisions.TryGetValue(report.Certificate.ToString(), out var built) && built < revision)
                {
                    Update(items, i, BreachItemStatus.Failed, $"still built from revision {built}, not {revision}");
                }
                else if (!lift && status.Condition(Conditions.TrustsIssuers)?.Status == Conditions.True)
                {
                    // Rebuilt, but in Issuers mode it trusts the CA, which still vouches for the old certificate.
                    Update(items, i, BreachItemStatus.Failed,
                        $"spec.trust is Issuers: the truststore trusts the CA \"{vouching}\", which still vouches for the old certificate of {report.Certificate}; set spec.trust to Pinned for the {(report.Mode == BreachMode.Rotate ? "rotation" : "quarantine")} to take effect");
                }
                else
                {
                    Update(items, i, BreachItemStatus.Completed);
                }
            }
            catch (Exception ex)
            {
                Update(items, i, BreachItemStatus.Failed, Describe(ex));
            }
        }));
        await SaveAsync(_report! with { Items = items });

        // 3. Workloads that mount a Secret that changed (always after a breach).
        var changed = stores.Where(i => items[i].Status == BreachItemStatus.Completed).Select(i => items[i]).ToList();
        foreach (var group in changed.GroupBy(s => s.Namespace, StringComparer.Ordinal))
        {
            var workloadIndexes = Enumerable.Range(0, items.Count)
                .Where(i => items[i].Namespace == group.Key && items[i].Kind is "Deployment" or "StatefulSet" or "DaemonSet")
                .ToList();
            try
            {
                var restarted = await restarter.RestartAsync(group.Key, [.. group.Select(s => s.Name).Distinct(StringComparer.Ordinal)], onlyOptedIn: false,
                    $"breach {report.Id} ({report.Mode.ToString().ToLowerInvariant()}{(lift ? ", lifted" : string.Empty)})", CancellationToken.None);
                foreach (var i in workloadIndexes)
                {
                    // A deferred restart is accepted: it happens at the end of the rate limit's interval
                    // (unless a restart after the change made it unnecessary), kept by the workload's
                    // restart grain with a reminder, so a silo's death does not lose it. Completed, saying when.
                    var hit = restarted.FirstOrDefault(w => w.Workload.Kind == items[i].Kind && w.Workload.Name == items[i].Name);
                    Update(items, i, hit is null ? BreachItemStatus.Failed : BreachItemStatus.Completed, hit switch
                    {
                        null => "not restarted: it no longer uses a changed Secret, or it is gone",
                        { DeferredUntil: { } until } => string.Create(CultureInfo.InvariantCulture,
                            $"restart scheduled at {until.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}: it was restarted less than the minimum interval between restarts ago"),
                        _ => null,
                    });
                }
            }
            catch (Exception ex)
            {
                foreach (var i in workloadIndexes)
                {
                    Update(items, i, BreachItemStatus.Failed, Describe(ex));
                }
            }
        }

        // Workloads of stores that failed to rebuild are not restarted: they would reload the old contents.
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Status == BreachItemStatus.Pending)
            {
                Update(items, i, BreachItemStatus.Failed, "not restarted: the store it uses was not rebuilt");
            }
        }

        await FinishAsync(items, null);
    }

    private async Task FinishAsync(List<BreachItem> items, string? message)
    {
        var report = _report!;
        var failed = items.Count(i => i.Status == BreachItemStatus.Failed);
        var lifted = report.Phase == BreachPhase.Lifted;
        var phase = lifted ? BreachPhase.Lifted : failed > 0 ? BreachPhase.Failed : BreachPhase.Completed;
        message ??= failed > 0 ? $"{failed} of {items.Count} items failed." : lifted ? "The quarantine was lifted." : "Every item completed.";
        await SaveAsync(report with { Items = items, Phase = phase, Finished = time.GetUtcNow(), Message = message });
        Log.BreachFinished(logger, report.Id, report.Certificate.ToString(), phase, failed, items.Count);
        await _reporter.EventAsync(report.Certificate, null, failed > 0 ? EventSeverity.Warning : EventSeverity.Normal,
            failed > 0 ? "BreachFailed" : lifted ? "QuarantineLifted" : "BreachCompleted",
            $"Breach {report.Id} ({report.Mode.ToString().ToLowerInvariant()}): {message}");
    }

    /// <summary>Items are replaced, never mutated: GetAsync may read the list while this runs.</summary>
    private void Update(List<BreachItem> items, int index, string status, string? reason = null)
    {
        lock (items)
        {
            items[index] = items[index] with { Status = status, Reason = reason };
            _report = _report! with { Items = [.. items] };
            metrics.BreachObserved(ResourceKey.Parse(Key), _report.Mode, _report.Items);
        }
    }

    private async Task SaveAsync(BreachReport report, bool publish = true)
    {
        // BreachReport is [Immutable], so Orleans serializes it without a copy, on another thread
        // (GetAsync's answer, the state write): it must not hold the list Update goes on changing
        // (a CI run failed with "Collection was modified" while a poll serialized the report).
        report = report with { Items = [.. report.Items] };
        Observe(_report, report);
        _report = report;
        state.State.Report = report;
        await Persistence.SaveAsync(state, DeactivateOnIdle);
        if (publish)
        {
            await PublishAsync(report);
        }
    }

    /// <summary>Writes the report to the Breach's status; a failure is logged (the next forward of the Breach writes it again).</summary>
    private async Task PublishAsync(BreachReport report)
    {
        if (_statusWriter is null || report.Uid is null)
        {
            return;
        }

        try
        {
            await _statusWriter.WriteBreachStatusAsync(ResourceKey.Parse(Key), report.Uid, report, CancellationToken.None);
        }
        catch (Exception ex)
        {
            Log.BreachStatusFailed(logger, report.Id, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>Messages for the report: a step's own words, otherwise the error's type only (details in the log).</summary>
    private string Describe(Exception ex)
    {
        Log.BreachStepFailed(logger, this.GetPrimaryKeyString(), ex.GetType().Name, ex.Message);
        return ex is BreachStepException or InvalidOperationException ? ex.Message : $"{ex.GetType().Name}; see Notary's log";
    }

    private sealed class BreachStepException(string message) : Exception(message);

    /// <summary>A breach has no status subresource of its own; only its Events are published.</summary>
    private sealed class NoStatus : IStatusWriter
    {
        public Task WriteCertificateStatusAsync(ResourceKey resource, CertificateStatus status, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task WriteStoreStatusAsync(ResourceKey resource, ResourceKind kind, StoreStatus status, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
