using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains;

/// <summary>
/// One reported breach, keyed by <see cref="BreachIds.For"/>, so that the
/// same report twice finds the first and never rotates twice. Rotate: re-key and re-issue the
/// certificate (the old one revoked where the issuer can), rebuild every keystore and truststore
/// that has it, in parallel, then restart the workloads that mount any changed Secret.
/// Quarantine: take the certificate out of every truststore and restart those workloads; lifting
/// puts it back. One failing dependent never stops the others: it shows as Failed with its reason.
/// </summary>
public sealed class BreachGrain(
    [PersistentState("breach", GrainStorage.Name)] IPersistentState<BreachState> state,
    IWorkloadRestarter restarter,
    IEventRecorder events,
    TimeProvider time,
    ILogger<BreachGrain> logger) : Grain, IBreachGrain
{
    private const string CertificateKind = "Certificate";

    /// <summary>Calls of one store's rebuild before a timeout counts as its failure (see <see cref="RebuildAsync"/>).</summary>
    private const int RebuildAttempts = 4;

    private readonly Reporter _reporter = new(new NoStatus(), events, logger, ResourceKind.Certificate);
    private BreachReport? _report;
    private IGrainTimer? _work;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _report = state.State.Report;
        if (_report is { IsFinished: false })
        {
            // The silo that ran it went away mid-way: carry on (every step is idempotent).
            Schedule(lift: _report.Phase == BreachPhase.Lifted);
        }

        return Task.CompletedTask;
    }

    public async Task<BreachReport> StartAsync(BreachRequest request)
    {
        if (_report is not null)
        {
            return _report;
        }

        var certificate = GrainFactory.GetGrain<ICertificateGrain>(request.Certificate.ToString());
        var snapshot = await certificate.GetSnapshotAsync();
        var id = this.GetPrimaryKeyString();
        if (!snapshot.Exists)
        {
            return new BreachReport
            {
                Id = id, Certificate = request.Certificate, Mode = request.Mode, Reason = request.Reason, RequestedBy = request.RequestedBy,
                Phase = BreachPhase.Failed, Created = time.GetUtcNow(), Finished = time.GetUtcNow(),
                Message = $"Certificate {request.Certificate} does not exist.",
            };
        }

        var items = await ImpactAsync(request.Certificate, request.Mode, certificate);
        var report = new BreachReport
        {
            Id = id,
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
            return report;
        }

        await SaveAsync(report);
        Log.BreachStarted(logger, id, request.Certificate.ToString(), request.Mode.ToString(), items.Count);
        Schedule(lift: false);
        return report;
    }

    public Task<BreachReport?> GetAsync() => Task.FromResult(_report);

    public async Task<BreachReport?> LiftAsync(string requestedBy)
    {
        if (_report is null)
        {
            return null;
        }

        if (_report.Mode != BreachMode.Quarantine)
        {
            throw new InvalidOperationException($"Breach {_report.Id} is a {_report.Mode.ToString().ToLowerInvariant()}, not a quarantine: there is nothing to lift.");
        }

        if (_report.Phase == BreachPhase.Lifted)
        {
            return _report;
        }

        var certificate = GrainFactory.GetGrain<ICertificateGrain>(_report.Certificate.ToString());
        var items = await ImpactAsync(_report.Certificate, BreachMode.Quarantine, certificate);
        await SaveAsync(_report with { Phase = BreachPhase.Lifted, Items = items, Finished = null, Message = $"Lifting the quarantine (requested by {requestedBy})." });
        Schedule(lift: true);
        return _report;
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
            if (lift)
            {
                status = await certificate.SetQuarantinedAsync(false, $"breach {report.Id} lifted");
            }
            else if (report.Mode == BreachMode.Quarantine)
            {
                status = await certificate.SetQuarantinedAsync(true, report.Reason);
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

    /// <summary>The issuer's subject of the certificate's current leaf, or a description when none is issued.</summary>
    private static string IssuerOf(CertificateSnapshot snapshot)
    {
        if (snapshot.Material is null)
        {
            return "unknown (no certificate is issued)";
        }

        using var leaf = X509Certificate2.CreateFromPem(snapshot.Material.CertificatePem);
        return leaf.Issuer;
    }

    /// <summary>
    /// Asks one store to rebuild. In a large fan-out every dependent store is busy at once (the
    /// certificate's change notification starts the same rebuilds), so a store can be too busy
    /// to answer within Orleans' response timeout while its rebuild is on its way: with 1,000
    /// truststores on a loaded 2-core machine, 971 of them were reported Failed that way although
    /// every one was rebuilt. Rebuilding is idempotent (a store already built from the current
    /// revisions writes nothing), so a timed-out call is asked again, a few times.
    /// </summary>
    private static async Task<StoreStatus> RebuildAsync(ICertificateSubscriber store)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await store.RebuildAsync();
            }
            catch (TimeoutException) when (attempt < RebuildAttempts)
            {
            }
        }
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
        }
    }

    private async Task SaveAsync(BreachReport report)
    {
        // BreachReport is [Immutable], so Orleans serializes it without a copy, on another thread
        // (GetAsync's answer, the state write): it must not hold the list Update goes on changing
        // (a CI run failed with "Collection was modified" while a poll serialized the report).
        report = report with { Items = [.. report.Items] };
        _report = report;
        state.State.Report = report;
        await Persistence.SaveAsync(state, DeactivateOnIdle);
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
