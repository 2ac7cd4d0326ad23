namespace Notary.Grains.Abstractions.Ports;

/// <summary>A Deployment, StatefulSet or DaemonSet.</summary>
[GenerateSerializer, Immutable, Alias("notary.WorkloadRef")]
public sealed record WorkloadRef(
    [property: Id(0)] string Namespace,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Name)
{
    public override string ToString() => $"{Kind} {Namespace}/{Name}";
}

/// <summary>
/// Rolling restarts of the workloads that use changed Secrets, for the grains that change them.
/// A workload uses a Secret when its pod template mounts it as a volume or projected volume, or
/// reads it through env (secretKeyRef) or envFrom (secretRef). Implemented in the grains over
/// <see cref="IWorkloadFinder"/> and one restart grain per workload, which keeps the rate limit.
/// </summary>
public interface IWorkloadRestarter
{
    /// <summary>The workloads in <paramref name="namespace"/> that use any of <paramref name="secretNames"/>.</summary>
    Task<IReadOnlyList<WorkloadRef>> FindAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken);

    /// <summary>
    /// Restarts those workloads by setting the pod template annotation <c>notary.dev/restartedAt</c>
    /// (rate-limited per workload); with <paramref name="onlyOptedIn"/>, only those annotated
    /// <c>notary.dev/reload: "true"</c>. Returns the workloads restarted, including those whose
    /// restart the rate limit deferred to the end of its interval (they restart then, and say when).
    /// </summary>
    Task<IReadOnlyList<WorkloadRestart>> RestartAsync(string @namespace, IReadOnlyCollection<string> secretNames, bool onlyOptedIn, string reason, CancellationToken cancellationToken);
}

/// <summary>
/// A workload a restart was accepted for: restarted now, or, when <paramref name="DeferredUntil"/>
/// is set, at that time (it was restarted less than the rate limit's interval ago; requests inside
/// the interval are coalesced into that one restart).
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.WorkloadRestart")]
public sealed record WorkloadRestart(
    [property: Id(0)] WorkloadRef Workload,
    [property: Id(1)] DateTimeOffset? DeferredUntil = null);

/// <summary>An alert about a certificate (expiring soon, renewal failed, ...), sent besides the Warning Event of the same reason.</summary>
[GenerateSerializer, Immutable, Alias("notary.Alert")]
public sealed record Alert
{
    /// <summary>ExpiringSoon, RenewalFailed, ...: the same word as the Warning Event's reason.</summary>
    [Id(0)] public required string Reason { get; init; }
    [Id(1)] public required ResourceKey Resource { get; init; }
    [Id(2)] public required string Message { get; init; }
    [Id(3)] public DateTimeOffset? NotAfter { get; init; }
    [Id(4)] public required DateTimeOffset At { get; init; }
    [Id(5)] public string? Arn { get; init; }
}

/// <summary>Port: where alerts go besides Events (a webhook). Must not block the caller on delivery.</summary>
public interface IAlertSink
{
    Task SendAsync(Alert alert, CancellationToken cancellationToken);
}

/// <summary>Port: the figures Prometheus scrapes about certificates and stores.</summary>
public interface INotaryMetrics
{
    /// <summary>The current state of a certificate; null times clear the series.</summary>
    void CertificateObserved(ResourceKey resource, DateTimeOffset? notAfter, DateTimeOffset? renewalTime, bool ready);

    void CertificateRemoved(ResourceKey resource);

    void StoreObserved(ResourceKind kind, ResourceKey resource, bool ready);

    void StoreRemoved(ResourceKind kind, ResourceKey resource);

    /// <summary>Counts an issuance ("issued"), a renewal ("renewed") or a failure ("failed").</summary>
    void Count(ResourceKey resource, string outcome);

    /// <summary>A Keystore or Truststore was written to its secret store (its first build or a rebuild).</summary>
    void StoreWritten(ResourceKind kind, ResourceKey resource)
    {
    }

    /// <summary>
    /// Where a breach stands while its grain is active: its items counted by status
    /// (<see cref="BreachItemStatus"/>); null removes its series (the Breach is gone, or its grain
    /// deactivated and another silo reports it from now on).
    /// </summary>
    void BreachObserved(ResourceKey breach, BreachMode mode, IReadOnlyList<BreachItem>? items)
    {
    }

    /// <summary>A breach finished: <paramref name="phase"/> is Completed, Failed or Lifted (<see cref="BreachPhase"/>).</summary>
    void BreachFinished(BreachMode mode, string phase)
    {
    }
}
