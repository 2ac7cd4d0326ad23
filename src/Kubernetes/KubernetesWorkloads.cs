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
/// Adapter for <see cref="IWorkloadFinder"/> and <see cref="IWorkloadPatcher"/>: finds the
/// Deployments, StatefulSets and DaemonSets whose pod template uses a Secret, and rolls one as
/// <c>kubectl rollout restart</c> does, with Notary's own pod template annotation
/// <c>notary.dev/restartedAt</c> (a merge patch; the controller replaces the pods), recording a
/// Normal Event <c>Restarted</c> on it. Only reads and patches: how often a workload restarts,
/// coalescing and deferral are the workload's restart grain's. It needs <c>list</c> and
/// <c>patch</c> on the three kinds (no <c>get</c>: one workload is read by a list with a field
/// selector) and Events.
/// </summary>
public sealed class KubernetesWorkloads : IWorkloadFinder, IWorkloadPatcher
{
    /// <summary>The pod template annotation whose change rolls the workload; its value is the RFC 3339 time of the restart.</summary>
    public const string RestartedAtAnnotation = "notary.dev/restartedAt";

    /// <summary>Opts a workload into restarts on renewal, on its own metadata or its pod template's.</summary>
    public const string ReloadAnnotation = "notary.dev/reload";

    /// <summary>The reason of the Event recorded on a restarted workload.</summary>
    public const string RestartedReason = "Restarted";

    private const int PageSize = 500;

    private const string OnDeleteNote = " (its updateStrategy is OnDelete: pods are replaced only when deleted)";

    private readonly IKubernetes _client;
    private readonly KubernetesEventRecorder _events;
    private readonly NotaryKubernetesOptions _options;
    private readonly ILogger<KubernetesWorkloads> _logger;

    public KubernetesWorkloads(
        IKubernetes client,
        KubernetesEventRecorder events,
        IOptions<NotaryKubernetesOptions> options,
        ILogger<KubernetesWorkloads> logger)
    {
        _client = client;
        _events = events;
        _options = options.Value;
        _logger = logger;
    }

    public async Task<IReadOnlyList<WorkloadSnapshot>> FindAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken)
    {
        var wanted = secretNames.ToHashSet(StringComparer.Ordinal);
        var users = new List<WorkloadSnapshot>();
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
                    users.Add(Snapshot(workload, used));
                }
            }
        }

        return users;
    }

    public async Task<WorkloadSnapshot?> ReadAsync(WorkloadRef workload, CancellationToken cancellationToken)
    {
        if (!WorkloadKinds.All.Contains(workload.Kind, StringComparer.Ordinal))
        {
            return null;
        }

        var found = (await ListKindAsync(workload.Kind, workload.Namespace, $"metadata.name={workload.Name}", cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(w => w.Ref == workload);
        return found is null ? null : Snapshot(found, [.. SecretsUsedBy(found.Template.Spec).Order(StringComparer.Ordinal)]);
    }

    public async Task<bool> RestartAsync(WorkloadRef workload, DateTimeOffset at, IReadOnlyCollection<string> secrets, IReadOnlyCollection<string> reasons, CancellationToken cancellationToken)
    {
        var stamp = Stamp(at);
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
        var (ns, name) = (workload.Namespace, workload.Name);
        var component = _options.Component;
        V1ObjectMeta metadata;
        string note;
        try
        {
            switch (workload.Kind)
            {
                case WorkloadKinds.Deployment:
                    var deployment = await _client.AppsV1.PatchNamespacedDeploymentAsync(body, name, ns, fieldManager: component, cancellationToken: cancellationToken).ConfigureAwait(false);
                    (metadata, note) = (deployment.Metadata, Note(deployment));
                    break;
                case WorkloadKinds.StatefulSet:
                    var statefulSet = await _client.AppsV1.PatchNamespacedStatefulSetAsync(body, name, ns, fieldManager: component, cancellationToken: cancellationToken).ConfigureAwait(false);
                    (metadata, note) = (statefulSet.Metadata, Note(statefulSet));
                    break;
                case WorkloadKinds.DaemonSet:
                    var daemonSet = await _client.AppsV1.PatchNamespacedDaemonSetAsync(body, name, ns, fieldManager: component, cancellationToken: cancellationToken).ConfigureAwait(false);
                    (metadata, note) = (daemonSet.Metadata, Note(daemonSet));
                    break;
                default:
                    return false;
            }
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            return false;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Restarting {workload}");
        }

        var secretList = string.Join(", ", secrets);
        var reasonList = string.Join("; ", reasons);
        Log.WorkloadRestarted(_logger, workload, secretList, reasonList);
        var message = $"Rolling restart by Notary ({RestartedAtAnnotation}={stamp}) because Secret {secretList} changed: {reasonList}{note}";
        try
        {
            await _events.RecordAsync(
                new V1ObjectReference
                {
                    ApiVersion = "apps/v1",
                    Kind = workload.Kind,
                    Name = name,
                    NamespaceProperty = ns,
                    Uid = metadata.Uid,
                },
                EventSeverity.Normal,
                RestartedReason,
                message,
                cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            // The restart happened; a lost Event must not make the caller restart again.
            Log.RestartEventFailed(_logger, workload, KubernetesApiErrors.Describe(ex));
        }

        return true;
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
                            new WorkloadRef(@namespace, kind, d.Metadata.Name), d.Metadata, d.Spec.Template)));
                        next = deployments.Metadata?.ContinueProperty;
                        break;
                    case WorkloadKinds.StatefulSet:
                        var statefulSets = await _client.AppsV1.ListNamespacedStatefulSetAsync(@namespace, continueParameter: next, fieldSelector: fieldSelector, limit: PageSize, cancellationToken: cancellationToken).ConfigureAwait(false);
                        found.AddRange(statefulSets.Items.Select(s => new Workload(
                            new WorkloadRef(@namespace, kind, s.Metadata.Name), s.Metadata, s.Spec.Template)));
                        next = statefulSets.Metadata?.ContinueProperty;
                        break;
                    default:
                        var daemonSets = await _client.AppsV1.ListNamespacedDaemonSetAsync(@namespace, continueParameter: next, fieldSelector: fieldSelector, limit: PageSize, cancellationToken: cancellationToken).ConfigureAwait(false);
                        found.AddRange(daemonSets.Items.Select(d => new Workload(
                            new WorkloadRef(@namespace, kind, d.Metadata.Name), d.Metadata, d.Spec.Template)));
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

    private static bool IsTrue(IDictionary<string, string>? annotations) =>
        annotations is not null && annotations.TryGetValue(ReloadAnnotation, out var value) && string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    private static WorkloadSnapshot Snapshot(Workload workload, IReadOnlyList<string> secrets) =>
        new(workload.Ref, IsOptedIn(workload.Metadata, workload.Template.Metadata), LastRestartOf(workload.Template), secrets);

    /// <summary>The last restart Notary recorded on the pod template, if any and readable.</summary>
    private static DateTimeOffset? LastRestartOf(V1PodTemplateSpec template) =>
        template.Metadata?.Annotations is { } annotations
        && annotations.TryGetValue(RestartedAtAnnotation, out var value)
        && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : null;

    /// <summary>RFC 3339 in UTC, whole seconds, as <c>kubectl rollout restart</c> writes its own annotation.</summary>
    private static string Stamp(DateTimeOffset at) =>
        new DateTimeOffset(at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>What the Event adds when the controller will not replace the pods at once.</summary>
    private static string Note(V1Deployment deployment) =>
        deployment.Spec?.Paused == true ? " (the Deployment is paused: its pods are replaced when it is resumed)" : string.Empty;

    private static string Note(V1StatefulSet statefulSet) => statefulSet.Spec?.UpdateStrategy?.Type == "OnDelete" ? OnDeleteNote : string.Empty;

    private static string Note(V1DaemonSet daemonSet) => daemonSet.Spec?.UpdateStrategy?.Type == "OnDelete" ? OnDeleteNote : string.Empty;

    private sealed record Workload(WorkloadRef Ref, V1ObjectMeta Metadata, V1PodTemplateSpec Template);
}
