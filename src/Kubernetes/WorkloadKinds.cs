namespace Notary.Adapters.Kubernetes;

/// <summary>The workload kinds Notary restarts, as the API spells them.</summary>
public static class WorkloadKinds
{
    public const string Deployment = "Deployment";
    public const string StatefulSet = "StatefulSet";
    public const string DaemonSet = "DaemonSet";

    public static IReadOnlyList<string> All { get; } = [Deployment, StatefulSet, DaemonSet];
}
