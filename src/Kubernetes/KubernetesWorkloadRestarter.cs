using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="IWorkloadRestarter"/>: finds the Deployments, StatefulSets and
/// DaemonSets whose pod template uses a Secret, and rolls them as <c>kubectl rollout restart</c>
/// does, with Notary's own pod template annotation <c>notary.dev/restartedAt</c> (a merge patch;
/// the controller replaces the pods). One workload is restarted at most once per
/// <see cref="NotaryRestartOptions.MinRestartInterval"/>; requests inside the interval are
/// coalesced into one restart at its end. The last restart is read from the annotation itself, so
/// the limit holds across Notary instances and restarts. Each restart is recorded as a Normal
/// Event <c>Restarted</c> on the workload.
/// </summary>
public sealed class KubernetesWorkloadRestarter : IWorkloadRestarter, IDisposable
{
    /// <summary>The pod template annotation whose change rolls the workload; its value is the RFC 3339 time of the restart.</summary>
    public const string RestartedAtAnnotation = "notary.dev/restartedAt";

    /// <summary>Opts a workload into restarts on renewal, on its own metadata or its pod template's.</summary>
    public const string ReloadAnnotation = "notary.dev/reload";

    /// <summary>The reason of the Event recorded on a restarted workload.</summary>
    public const string RestartedReason = "Restarted";

    private const int PageSize = 500;

    private readonly IKubernetes _client;
    private readonly KubernetesEventRecorder _events;
    private readonly NotaryRestartOptions _restarts;
    private readonly NotaryKubernetesOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<KubernetesWorkloadRestarter> _logger;
    private readonly CancellationTokenSource _stopping = new();

    // Per workload: when this instance last restarted it, and the restart waiting for the end of the interval.
    private readonly Lock _gate = new();
    private readonly Dictionary<WorkloadRef, Slot> _slots = [];

    public KubernetesWorkloadRestarter(
        IKubernetes client,
        KubernetesEventRecorder events,
        IOptions<NotaryRestartOptions> restarts,
        IOptions<NotaryKubernetesOptions> options,
        TimeProvider time,
        ILogger<KubernetesWorkloadRestarter> logger)
    {
        _client = client;
        _events = events;
        _restarts = restarts.Value;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public async Task<IReadOnlyList<WorkloadRef>> FindAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken) =>
        [.. (await FindUsersAsync(@namespace, secretNames, cancellationToken).ConfigureAwait(false)).Select(user => user.Workload.Ref)];

    /// <summary>
    /// Restarts the workloads that use any of <paramref name="secretNames"/> (with
    /// <paramref name="onlyOptedIn"/>, only those annotated <c>notary.dev/reload: "true"</c>).
    /// Returns those restarted now and those whose restart is deferred to the end of their
    /// <see cref="NotaryRestartOptions.MinRestartInterval"/>: both will run pods that see the
    /// change. A workload the API refuses to patch does not stop the others; the failures are
    /// thrown together at the end, described without the request.
    /// </summary>
    public async Task<IReadOnlyList<WorkloadRestart>> RestartAsync(string @namespace, IReadOnlyCollection<string> secretNames, bool onlyOptedIn, string reason, CancellationToken cancellationToken)
    {
        var users = await FindUsersAsync(@namespace, secretNames, cancellationToken).ConfigureAwait(false);
        var accepted = new List<WorkloadRestart>();
        var failures = new List<KubernetesApiException>();
        foreach (var (workload, used) in users)
        {
            if (onlyOptedIn && !IsOptedIn(workload.Metadata, workload.Template.Metadata))
            {
                Log.RestartNotOptedIn(_logger, workload.Ref, ReloadAnnotation);
                continue;
            }

            var request = new Request(used, reason, onlyOptedIn);
            var now = _time.GetUtcNow();
            var decision = Decide(workload, request, now);
            if (decision.DeferredUntil is { } until)
            {
                Log.RestartDeferred(_logger, workload.Ref, until, _restarts.MinRestartInterval);
                accepted.Add(new WorkloadRestart(workload.Ref, until));
                continue;
            }

            try
            {
                if (await RestartNowAsync(workload, [request], now, cancellationToken).ConfigureAwait(false))
                {
                    accepted.Add(new WorkloadRestart(workload.Ref));
                }
            }
            catch (HttpOperationException ex)
            {
                Release(workload.Ref, decision.Previous, now);
                var error = KubernetesApiErrors.Sanitize(ex, $"Restarting {workload.Ref}");
                Log.RestartFailed(_logger, workload.Ref, error.Message);
                failures.Add(error);
            }
            catch
            {
                Release(workload.Ref, decision.Previous, now);
                throw;
            }
        }

        if (failures.Count > 0)
        {
            throw failures.Count == 1 ? failures[0] : new KubernetesApiException(failures[0].StatusCode, string.Join(" ", failures.Select(failure => failure.Message)));
        }

        return accepted;
    }

    /// <summary>The names of the Secrets the pod spec uses: volumes, projected volumes, env secretKeyRef and envFrom secretRef of its containers and init containers.</summary>
    public static IReadOnlySet<string> SecretsUsedBy(V1PodSpec? spec)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (spec is null)
        {
            return names;
        }

        foreach (var volume in spec.Volumes ?? [])
        {
            Add(volume.Secret?.SecretName);
            foreach (var source in volume.Projected?.Sources ?? [])
            {
                Add(source.Secret?.Name);
            }
        }

        foreach (var container in (spec.Containers ?? []).Concat(spec.InitContainers ?? []))
        {
            foreach (var variable in container.Env ?? [])
            {
                Add(variable.ValueFrom?.SecretKeyRef?.Name);
            }

            foreach (var source in container.EnvFrom ?? [])
            {
                Add(source.SecretRef?.Name);
            }
        }

        return names;

        void Add(string? name)
        {
            if (!string.IsNullOrEmpty(name))
            {
                names.Add(name);
            }
        }
    }

    /// <summary>
    /// Whether the workload opted into restarts on renewal: <c>notary.dev/reload: "true"</c> on the
    /// workload's own metadata (as kubectl annotate puts it) or on its pod template's (what charts
    /// expose as podAnnotations). Either suffices.
    /// </summary>
    public static bool IsOptedIn(V1ObjectMeta? workload, V1ObjectMeta? template) =>
        IsTrue(workload?.Annotations) || IsTrue(template?.Annotations);

    public void Dispose()
    {
        // The container disposes it twice: registered as itself and as IWorkloadRestarter.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        lock (_gate)
        {
            foreach (var (workload, slot) in _slots)
            {
                if (slot.Pending is { } pending)
                {
                    pending.Timer.Dispose();
                    Log.DeferredRestartDropped(_logger, workload);
                }
            }

            _slots.Clear();
        }

        _stopping.Cancel();
        _stopping.Dispose();
    }

    private int _disposed;

    private static bool IsTrue(IDictionary<string, string>? annotations) =>
        annotations is not null && annotations.TryGetValue(ReloadAnnotation, out var value) && string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Restart now, or defer to the end of the interval. Restarting now reserves the slot (the
    /// last restart becomes now) so that a concurrent request for the same workload is deferred.
    /// </summary>
    private Decision Decide(Workload workload, Request request, DateTimeOffset now)
    {
        var interval = _restarts.MinRestartInterval;
        lock (_gate)
        {
            Prune(now);
            if (!_slots.TryGetValue(workload.Ref, out var slot))
            {
                slot = new Slot();
                _slots[workload.Ref] = slot;
            }

            if (slot.Pending is { } pending)
            {
                pending.Requests.Add(request);
                return new Decision(pending.Due, slot.LastRestart);
            }

            // A time in the future (another instance's clock, a hand edit) counts as now: it delays at most one interval.
            var last = Max(slot.LastRestart, LastRestartOf(workload) is { } annotated ? Min(annotated, now) : null);
            if (last is { } l && interval > TimeSpan.Zero && now - l < interval)
            {
                var due = l + interval;
                var timer = _time.CreateTimer(OnDue, workload.Ref, due - now, Timeout.InfiniteTimeSpan);
                slot.Pending = new Pending(timer, now, due, [request]);
                return new Decision(due, slot.LastRestart);
            }

            var previous = slot.LastRestart;
            slot.LastRestart = now;
            return new Decision(null, previous);
        }
    }

    /// <summary>Gives the slot back after a failed patch, unless another restart took it since.</summary>
    private void Release(WorkloadRef workload, DateTimeOffset? previous, DateTimeOffset reserved)
    {
        lock (_gate)
        {
            if (_slots.TryGetValue(workload, out var slot) && slot.LastRestart == reserved)
            {
                slot.LastRestart = previous;
            }
        }
    }

    /// <summary>Forgets workloads restarted longer than an interval ago with nothing pending.</summary>
    private void Prune(DateTimeOffset now)
    {
        List<WorkloadRef>? stale = null;
        foreach (var (workload, slot) in _slots)
        {
            if (slot.Pending is null && (slot.LastRestart is not { } last || now - last >= _restarts.MinRestartInterval))
            {
                (stale ??= []).Add(workload);
            }
        }

        foreach (var workload in stale ?? [])
        {
            _slots.Remove(workload);
        }
    }

    private void OnDue(object? state)
    {
        var workload = (WorkloadRef)state!;
        _ = RunDeferredAsync(workload);
    }

    private async Task RunDeferredAsync(WorkloadRef key)
    {
        // Taking the pending restart reserves the slot, so that a request arriving meanwhile is
        // deferred instead of restarting the workload a second time in the same instant.
        Pending? pending;
        DateTimeOffset? previous;
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (!_slots.TryGetValue(key, out var slot) || slot.Pending is null)
            {
                return;
            }

            pending = slot.Pending;
            slot.Pending = null;
            pending.Timer.Dispose();
            previous = slot.LastRestart;
            slot.LastRestart = now;
        }

        var restarted = false;

        CancellationToken cancellationToken;
        try
        {
            cancellationToken = _stopping.Token;
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        try
        {
            var workload = (await ListKindAsync(key.Kind, key.Namespace, $"metadata.name={key.Name}", cancellationToken).ConfigureAwait(false))
                .FirstOrDefault(found => found.Ref == key);
            if (workload is null)
            {
                Log.DeferredRestartGone(_logger, key);
                return;
            }

            // Restarted since the first request (by another Notary instance, say): its pods already see the change.
            // The annotation has whole seconds, so a restart within the same second as the request does not count.
            if (LastRestartOf(workload) is { } last && last > TruncateToSeconds(pending.FirstRequestedAt))
            {
                Log.DeferredRestartUnneeded(_logger, key, last);
                return;
            }

            var requests = pending.Requests.Where(request => !request.OnlyOptedIn || IsOptedIn(workload.Metadata, workload.Template.Metadata)).ToList();
            if (requests.Count == 0)
            {
                Log.RestartNotOptedIn(_logger, key, ReloadAnnotation);
                return;
            }

            restarted = await RestartNowAsync(workload, requests, now, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.DeferredRestartDropped(_logger, key);
        }
        catch (HttpOperationException ex)
        {
            Log.RestartFailed(_logger, key, KubernetesApiErrors.Sanitize(ex, $"Restarting {key}").Message);
        }
        catch (Exception ex)
        {
            Log.DeferredRestartError(_logger, key, ex);
        }
        finally
        {
            if (!restarted)
            {
                Release(key, previous, now);
            }
        }
    }

    /// <summary>Patches the pod template annotation and records the Event; false when the workload is gone.</summary>
    private async Task<bool> RestartNowAsync(Workload workload, IReadOnlyList<Request> requests, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var stamp = TruncateToSeconds(now).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var patch = new JsonObject
        {
            ["spec"] = new JsonObject
            {
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["annotations"] = new JsonObject { [RestartedAtAnnotation] = stamp },
                    },
                },
            },
        };
        var body = new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch);
        var (ns, name) = (workload.Ref.Namespace, workload.Ref.Name);
        var component = _options.Component;
        try
        {
            switch (workload.Ref.Kind)
            {
                case WorkloadKinds.Deployment:
                    await _client.AppsV1.PatchNamespacedDeploymentAsync(body, name, ns, fieldManager: component, cancellationToken: cancellationToken).ConfigureAwait(false);
                    break;
                case WorkloadKinds.StatefulSet:
                    await _client.AppsV1.PatchNamespacedStatefulSetAsync(body, name, ns, fieldManager: component, cancellationToken: cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    await _client.AppsV1.PatchNamespacedDaemonSetAsync(body, name, ns, fieldManager: component, cancellationToken: cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            Log.DeferredRestartGone(_logger, workload.Ref);
            return false;
        }

        var secrets = string.Join(", ", requests.SelectMany(request => request.Secrets).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        var reasons = string.Join("; ", requests.Select(request => request.Reason).Distinct(StringComparer.Ordinal));
        Log.WorkloadRestarted(_logger, workload.Ref, secrets, reasons);
        var message = $"Rolling restart by Notary ({RestartedAtAnnotation}={stamp}) because Secret {secrets} changed: {reasons}{workload.Note}";
        try
        {
            await _events.RecordAsync(
                new V1ObjectReference
                {
                    ApiVersion = "apps/v1",
                    Kind = workload.Ref.Kind,
                    Name = name,
                    NamespaceProperty = ns,
                    Uid = workload.Metadata.Uid,
                },
                EventSeverity.Normal,
                RestartedReason,
                message,
                cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            // The restart happened; a lost Event must not make the caller restart again.
            Log.RestartEventFailed(_logger, workload.Ref, KubernetesApiErrors.Describe(ex));
        }

        return true;
    }

    private async Task<List<(Workload Workload, IReadOnlyList<string> Used)>> FindUsersAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken)
    {
        var wanted = secretNames.ToHashSet(StringComparer.Ordinal);
        var users = new List<(Workload, IReadOnlyList<string>)>();
        if (wanted.Count == 0)
        {
            return users;
        }

        foreach (var kind in WorkloadKinds.All)
        {
            foreach (var workload in await ListKindAsync(kind, @namespace, fieldSelector: null, cancellationToken).ConfigureAwait(false))
            {
                var used = SecretsUsedBy(workload.Template.Spec).Where(wanted.Contains).Order(StringComparer.Ordinal).ToList();
                if (used.Count > 0)
                {
                    users.Add((workload, used));
                }
            }
        }

        return users;
    }

    /// <summary>Every workload of one kind in the namespace, page by page.</summary>
    private async Task<List<Workload>> ListKindAsync(string kind, string @namespace, string? fieldSelector, CancellationToken cancellationToken)
    {
        var found = new List<Workload>();
        string? next = null;
        try
        {
            do
            {
                switch (kind)
                {
                    case WorkloadKinds.Deployment:
                        var deployments = await _client.AppsV1.ListNamespacedDeploymentAsync(@namespace, continueParameter: next, fieldSelector: fieldSelector, limit: PageSize, cancellationToken: cancellationToken).ConfigureAwait(false);
                        found.AddRange(deployments.Items.Select(d => new Workload(
                            new WorkloadRef(@namespace, kind, d.Metadata.Name), d.Metadata, d.Spec.Template,
                            d.Spec.Paused == true ? " (the Deployment is paused: its pods are replaced when it is resumed)" : string.Empty)));
                        next = deployments.Metadata?.ContinueProperty;
                        break;
                    case WorkloadKinds.StatefulSet:
                        var statefulSets = await _client.AppsV1.ListNamespacedStatefulSetAsync(@namespace, continueParameter: next, fieldSelector: fieldSelector, limit: PageSize, cancellationToken: cancellationToken).ConfigureAwait(false);
                        found.AddRange(statefulSets.Items.Select(s => new Workload(
                            new WorkloadRef(@namespace, kind, s.Metadata.Name), s.Metadata, s.Spec.Template,
                            s.Spec.UpdateStrategy?.Type == "OnDelete" ? OnDeleteNote : string.Empty)));
                        next = statefulSets.Metadata?.ContinueProperty;
                        break;
                    default:
                        var daemonSets = await _client.AppsV1.ListNamespacedDaemonSetAsync(@namespace, continueParameter: next, fieldSelector: fieldSelector, limit: PageSize, cancellationToken: cancellationToken).ConfigureAwait(false);
                        found.AddRange(daemonSets.Items.Select(d => new Workload(
                            new WorkloadRef(@namespace, kind, d.Metadata.Name), d.Metadata, d.Spec.Template,
                            d.Spec.UpdateStrategy?.Type == "OnDelete" ? OnDeleteNote : string.Empty)));
                        next = daemonSets.Metadata?.ContinueProperty;
                        break;
                }
            }
            while (!string.IsNullOrEmpty(next));
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Listing {kind}s in namespace {@namespace}");
        }

        return found;
    }

    private const string OnDeleteNote = " (its updateStrategy is OnDelete: pods are replaced only when deleted)";

    /// <summary>The last restart Notary recorded on the pod template, if any and readable.</summary>
    private static DateTimeOffset? LastRestartOf(Workload workload) =>
        workload.Template.Metadata?.Annotations is { } annotations
        && annotations.TryGetValue(RestartedAtAnnotation, out var value)
        && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : null;

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private sealed record Workload(WorkloadRef Ref, V1ObjectMeta Metadata, V1PodTemplateSpec Template, string Note);

    private sealed record Request(IReadOnlyList<string> Secrets, string Reason, bool OnlyOptedIn);

    private sealed record Decision(DateTimeOffset? DeferredUntil, DateTimeOffset? Previous);

    private sealed class Slot
    {
        public DateTimeOffset? LastRestart { get; set; }

        public Pending? Pending { get; set; }
    }

    private sealed record Pending(ITimer Timer, DateTimeOffset FirstRequestedAt, DateTimeOffset Due, List<Request> Requests);
}

/// <summary>The workload kinds Notary restarts, as the API spells them.</summary>
public static class WorkloadKinds
{
    public const string Deployment = "Deployment";
    public const string StatefulSet = "StatefulSet";
    public const string DaemonSet = "DaemonSet";

    public static IReadOnlyList<string> All { get; } = [Deployment, StatefulSet, DaemonSet];
}
