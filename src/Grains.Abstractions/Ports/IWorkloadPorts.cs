namespace Notary.Grains.Abstractions.Ports;

/// <summary>
/// A workload as the API server has it now: whether it opted into restarts on renewal
/// (<c>notary.dev/reload: "true"</c> on its metadata or its pod template), when Notary last
/// restarted it (the pod template annotation <c>notary.dev/restartedAt</c>, whole seconds; null
/// when absent or unreadable), and the Secrets it uses (of those asked about, sorted).
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.WorkloadSnapshot")]
public sealed record WorkloadSnapshot(
    [property: Id(0)] WorkloadRef Workload,
    [property: Id(1)] bool OptedIn,
    [property: Id(2)] DateTimeOffset? RestartedAt,
    [property: Id(3)] IReadOnlyList<string> Secrets);

/// <summary>
/// Port: which workloads use a Secret. A workload uses a Secret when its pod template mounts it
/// as a volume or projected volume, or reads it through env (secretKeyRef) or envFrom (secretRef),
/// in a container or an init container.
/// </summary>
public interface IWorkloadFinder
{
    /// <summary>The Deployments, StatefulSets and DaemonSets in <paramref name="namespace"/> that use any of <paramref name="secretNames"/>.</summary>
    Task<IReadOnlyList<WorkloadSnapshot>> FindAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken);
}

/// <summary>
/// Port: rolling restarts of one workload, as <c>kubectl rollout restart</c> does them, with
/// Notary's own pod template annotation. The policy (how often, coalescing, deferral) is the
/// workload's restart grain's; this port only reads and patches.
/// </summary>
public interface IWorkloadPatcher
{
    /// <summary>The workload as it is now (<see cref="WorkloadSnapshot.Secrets"/>: every Secret it uses); null when it is gone.</summary>
    Task<WorkloadSnapshot?> ReadAsync(WorkloadRef workload, CancellationToken cancellationToken);

    /// <summary>
    /// Sets the pod template annotation <c>notary.dev/restartedAt</c> to <paramref name="at"/>
    /// (RFC 3339, whole seconds), which rolls the pods, and records a Normal Event <c>Restarted</c>
    /// on the workload naming <paramref name="secrets"/> and <paramref name="reasons"/>. False when
    /// the workload is gone. An API refusal is thrown described without the request.
    /// </summary>
    Task<bool> RestartAsync(WorkloadRef workload, DateTimeOffset at, IReadOnlyCollection<string> secrets, IReadOnlyCollection<string> reasons, CancellationToken cancellationToken);
}

/// <summary>
/// A restart that could not be done (the API server refused the patch, say); the message names
/// the workloads and says why, without the request. Several failures of one
/// <see cref="IWorkloadRestarter.RestartAsync"/> come as one exception with all their messages.
/// </summary>
[GenerateSerializer, Alias("notary.WorkloadRestartException")]
public sealed class WorkloadRestartException : Exception
{
    public WorkloadRestartException() { }

    public WorkloadRestartException(string message) : base(message) { }

    public WorkloadRestartException(string message, Exception inner) : base(message, inner) { }
}
