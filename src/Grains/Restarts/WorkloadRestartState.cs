namespace Notary.Grains.Restarts;

/// <summary>What a workload's restart grain keeps: its last restart and the restart it deferred.</summary>
[GenerateSerializer, Alias("notary.WorkloadRestartState")]
public sealed class WorkloadRestartState
{
    /// <summary>When this grain last restarted the workload (full precision; the annotation has whole seconds).</summary>
    [Id(0)] public DateTimeOffset? LastRestart { get; set; }

    /// <summary>The restart waiting for the end of the interval; null when none is.</summary>
    [Id(1)] public DeferredRestart? Deferred { get; set; }
}

/// <summary>
/// A restart deferred to <paramref name="Due"/>, coalescing every request made before it
/// (<paramref name="Requests"/>, in order); <paramref name="FirstRequestedAt"/> tells whether a
/// restart seen later on the workload already covers them.
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.DeferredRestart")]
public sealed record DeferredRestart(
    [property: Id(0)] DateTimeOffset Due,
    [property: Id(1)] DateTimeOffset FirstRequestedAt,
    [property: Id(2)] IReadOnlyList<DeferredRestartRequest> Requests);

/// <summary>One request a deferred restart coalesces: the Secrets that changed, why, and whether only an opted-in workload restarts for it.</summary>
[GenerateSerializer, Immutable, Alias("notary.DeferredRestartRequest")]
public sealed record DeferredRestartRequest(
    [property: Id(0)] IReadOnlyList<string> Secrets,
    [property: Id(1)] string Reason,
    [property: Id(2)] bool OnlyOptedIn);
