using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>
/// KubernetesBreaches against DevCluster: the HTTP API's Breach is created with
/// status.requestedBy; the grain's status writes keep it (merge patches of the grain's fields),
/// remove what the grain no longer reports, and never touch another incarnation of the name.
/// </summary>
[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BreachAdapterTests(ClusterFixture cluster)
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 18, 0, 0, TimeSpan.Zero);

    private KubernetesBreaches Adapter() => new(cluster.Client, ClusterFixture.Options(), ClusterFixture.Log<KubernetesBreaches>());

    [Fact]
    public async Task A_created_Breach_carries_requestedBy_and_the_grains_status_writes_keep_it()
    {
        var ns = await cluster.NamespaceAsync();
        var key = new ResourceKey(ns, "web-1a2b3c4d");
        var request = new BreachRequest(new ResourceKey(ns, "web"), BreachMode.Quarantine, "seen on a laptop", DryRun: false, "system:serviceaccount:shop:oncall");

        var created = await Adapter().CreateAsync(key, request, CancellationToken.None);

        Assert.Equal((BreachPhase.Pending, $"{ns}.web-1a2b3c4d", "system:serviceaccount:shop:oncall"), (created.Report.Phase, created.Report.Id, created.Report.RequestedBy));
        var report = created.Report with
        {
            RequestedBy = string.Empty,
            Phase = BreachPhase.InProgress,
            Created = T0,
            Items = [new BreachItem("Certificate", ns, "web", BreachItemStatus.InProgress)],
            Message = "working",
        };
        await Adapter().WriteBreachStatusAsync(key, created.Uid, report, CancellationToken.None);
        await Adapter().WriteBreachStatusAsync(key, created.Uid, report with { Phase = BreachPhase.Completed, Finished = T0.AddMinutes(1), Message = null,
            Items = [new BreachItem("Certificate", ns, "web", BreachItemStatus.Completed)] }, CancellationToken.None);

        var read = await cluster.Client.GetAsync<Breach>(ns, key.Name);
        Assert.Equal(("web", BreachModes.Quarantine, "seen on a laptop"), (read.Spec.Certificate, read.Spec.Mode, read.Spec.Reason));
        Assert.Equal(("system:serviceaccount:shop:oncall", BreachPhase.Completed, T0, T0.AddMinutes(1), (string?)null),
            (read.Status!.RequestedBy, read.Status.Phase, read.Status.Started, read.Status.Finished, read.Status.Message));
        Assert.Equal(BreachItemStatus.Completed, Assert.Single(read.Status.Items!).Status);
        var found = await Adapter().GetAsync(key, CancellationToken.None);
        Assert.Equal((BreachPhase.Completed, true), (found!.Report.Phase, found.Report.IsFinished));

        // Another incarnation's report is not written.
        await Adapter().WriteBreachStatusAsync(key, "another-uid", report with { Phase = BreachPhase.Failed }, CancellationToken.None);
        Assert.Equal(BreachPhase.Completed, (await cluster.Client.GetAsync<Breach>(ns, key.Name)).Status!.Phase);

        // The uid precondition: another incarnation's uid deletes nothing.
        Assert.False(await Adapter().DeleteAsync(key, "another-uid", CancellationToken.None));
        Assert.NotNull(await Adapter().GetAsync(key, CancellationToken.None));
        Assert.True(await Adapter().DeleteAsync(key, found.Uid, CancellationToken.None));
        Assert.Null(await Adapter().GetAsync(key, CancellationToken.None));
        Assert.False(await Adapter().DeleteAsync(key, null, CancellationToken.None));
    }
}
