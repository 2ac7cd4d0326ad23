using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Watcher.Tests.Support;
using Action = Notary.Watcher.Tests.Support.Action;

namespace Notary.Watcher.Tests;

/// <summary>
/// The prune after a full list (ListPrune), shared by the CertificatePolicy and issuer
/// reconcilers: it hands over the objects that exist, and no forward runs while it does, so an
/// object created meanwhile is never registered between the snapshot and the grains' answer
/// (and then pruned).
/// </summary>
public sealed class ListPruneTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task The_prune_gets_what_exists_and_a_forward_waits_until_it_is_done()
    {
        var prune = new ListPrune();
        prune.Observe("a", "uid-a");
        prune.Observe("b", "uid-b");
        prune.Observe("b", null);
        prune.Observe("c", "uid-c1");
        prune.Observe("c", "uid-c2");

        var release = new TaskCompletionSource();
        var order = new List<string>();
        IReadOnlyDictionary<string, string>? handed = null;
        var pruning = prune.PruneAsync(
            async (existing, token) =>
            {
                handed = existing;
                await release.Task.WaitAsync(token);
                lock (order)
                {
                    order.Add("pruned");
                }
            },
            CancellationToken.None);
        var forwarding = prune.ForwardAsync(
            () =>
            {
                lock (order)
                {
                    order.Add("forwarded");
                }

                return Task.CompletedTask;
            },
            CancellationToken.None);

        await Task.Delay(100);
        Assert.False(forwarding.IsCompleted, "a forward ran while the prune was in progress");
        release.SetResult();

        Assert.Equal(2, await pruning.WaitAsync(Timeout));
        await forwarding.WaitAsync(Timeout);
        Assert.Equal(["pruned", "forwarded"], order);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "uid-a", ["c"] = "uid-c2" }, handed);
    }

    [Fact]
    public async Task An_issuer_created_while_its_kind_is_pruned_is_applied_after_the_prune_not_before()
    {
        var sink = new RecordingSink();
        var reconciler = new IssuerReconciler<Issuer>(
            sink, new CaSecretIndex(), IssuerKinds.Issuer, key => IssuerKeys.Namespaced(ResourceKey.Parse(key).Namespace, ResourceKey.Parse(key).Name), null, NullLogger.Instance);
        reconciler.Observe("shop/kept", Issuer("kept"));
        var release = new TaskCompletionSource();
        sink.IssuersListedGate = release.Task;

        var listed = reconciler.ListedAsync(CancellationToken.None);
        var late = Issuer("late");
        reconciler.Observe("shop/late", late);
        var applying = reconciler.ReconcileAsync("shop/late", late, null, resync: false, CancellationToken.None);

        await Task.Delay(100);
        Assert.False(applying.IsCompleted, "the new issuer was applied while the prune was in progress");
        release.SetResult();
        await listed.WaitAsync(Timeout);
        await applying.WaitAsync(Timeout);

        Assert.Equal([Action.IssuersListed, Action.IssuerApply], sink.Deliveries.Select(d => d.Action));
        Assert.Equal([IssuerKeys.Namespaced("shop", "kept")], Assert.IsType<List<string>>(sink.Deliveries[0].Spec));
        Assert.Equal(IssuerKeys.Namespaced("shop", "late"), sink.Deliveries[1].Key);
    }

    private static Issuer Issuer(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", Uid = "uid-" + name, Generation = 1 },
        Spec = new IssuerResourceSpec { Builtin = new BuiltinIssuer() },
    };
}
