using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Abstractions;

/// <summary>
/// Why a workload should restart: the Secrets of it that changed, the reason for its Event, and
/// whether only an opted-in workload should (a renewal; a breach restarts every workload).
/// <see cref="ObservedRestartedAt"/> is the workload's <c>notary.dev/restartedAt</c> as the finder
/// read it, so that a restart by another Notary instance counts toward the interval.
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.WorkloadRestartRequest")]
public sealed record WorkloadRestartRequest(
    [property: Id(0)] IReadOnlyList<string> Secrets,
    [property: Id(1)] string Reason,
    [property: Id(2)] bool OnlyOptedIn,
    [property: Id(3)] DateTimeOffset? ObservedRestartedAt);

/// <summary>
/// The restart policy of one Deployment, StatefulSet or DaemonSet, keyed "namespace/kind/name"
/// (<see cref="WorkloadRestartKeys"/>): at most one restart per minimum interval, requests inside
/// it coalesced into one restart at its end. The deferred restart is grain state with a reminder,
/// so it happens even when the silo that deferred it dies, and every silo coalesces into it.
/// </summary>
[Alias("notary.IWorkloadRestartGrain")]
public interface IWorkloadRestartGrain : IGrainWithStringKey
{
    /// <summary>
    /// Restarts the workload now, or defers the restart to the end of the interval; the answer
    /// says which (<see cref="WorkloadRestart.DeferredUntil"/>). Null when the workload is gone.
    /// A refused restart throws <see cref="WorkloadRestartException"/> and is not counted: a retry
    /// restarts at once.
    /// </summary>
    [Alias("RequestRestart")]
    Task<WorkloadRestart?> RequestRestartAsync(WorkloadRestartRequest request);
}

/// <summary>The key of a workload's restart grain: "namespace/kind/name" (none of them contains a slash).</summary>
public static class WorkloadRestartKeys
{
    public static string Of(WorkloadRef workload) => $"{workload.Namespace}/{workload.Kind}/{workload.Name}";

    public static WorkloadRef Parse(string key)
    {
        var parts = key.Split('/');
        return parts.Length == 3 && parts.All(p => p.Length > 0)
            ? new WorkloadRef(parts[0], parts[1], parts[2])
            : throw new FormatException($"A workload restart key is \"namespace/kind/name\", not \"{key}\".");
    }
}
