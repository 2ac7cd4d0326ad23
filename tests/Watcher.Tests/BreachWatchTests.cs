using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Watcher.Tests.Support;
using Xunit.Abstractions;
using Action = Notary.Watcher.Tests.Support.Action;

namespace Notary.Watcher.Tests;

/// <summary>
/// Breaches from the watcher's side: forwarded whoever created them, with the finalizer on first;
/// deletion forwarded before the finalizer comes off; and the first list of Breaches forwarded
/// before any Certificate, Keystore or Truststore, so that a silo cluster that lost its grain
/// state never rebuilds a truststore with a quarantined certificate back in.
/// </summary>
[Collection(WatcherCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BreachWatchTests(WatcherCluster cluster, ITestOutputHelper output)
{
    private readonly CapturingLoggerProvider _logs = new(output);
    private readonly RecordingSink _sink = new();

    [Fact]
    public async Task The_first_list_of_Breaches_is_forwarded_before_any_Certificate_and_a_deletion_before_the_finalizer_comes_off()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "orders"));
        var breach = await cluster.Client.CreateAsync(Resources.Breach(ns, "leak", "orders", BreachModes.Quarantine));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _sink.BreachGate = release.Task;

        await using var session = cluster.Start(_sink, _logs);

        // The Breach's forward is held (a slow grain): no Certificate may be forwarded meanwhile.
        await Resources.EventuallyAsync(() => cluster.Client.GetAsync<Breach>(ns, "leak"), b => b?.Metadata.Finalizers?.Contains(NotaryResources.CleanupFinalizer) == true, "the finalizer on the Breach");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.DoesNotContain(_sink.Deliveries, d => d.Kind == ResourceKind.Certificate);

        release.SetResult();
        var deliveries = await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/orders" && x.Action == Action.Apply), "the Certificate after the Breach");
        var first = deliveries.ToList().FindIndex(d => d.Key == $"{ns}/leak" && d.Action == Action.BreachApply);
        var certificate = deliveries.ToList().FindIndex(d => d.Key == $"{ns}/orders" && d.Action == Action.Apply);
        Assert.True(first >= 0 && first < certificate, string.Join("\n", deliveries));
        var request = Assert.IsType<BreachRequest>(deliveries[first].Spec);
        Assert.Equal((new ResourceKey(ns, "orders"), BreachMode.Quarantine, breach.Metadata.Uid), (request.Certificate, request.Mode, request.Uid));

        await cluster.Client.DeleteAsync<Breach>(ns, "leak");
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/leak" && x.Action == Action.BreachDelete && x.Uid == breach.Metadata.Uid), "the Breach's deletion");
        await Resources.EventuallyAsync(() => cluster.Client.GetAsync<Breach>(ns, "leak"), b => b is null, "the Breach to go once its finalizer is off");
        await cluster.Client.DeleteAsync<Certificate>(ns, "orders");
    }

    [Fact]
    public async Task A_lift_that_fails_keeps_the_finalizer_and_is_retried_with_the_spec()
    {
        var ns = await cluster.NamespaceAsync();
        var breach = await cluster.Client.CreateAsync(Resources.Breach(ns, "leak", "orders", BreachModes.Quarantine));
        await using var session = cluster.Start(_sink, _logs);
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/leak" && x.Action == Action.BreachApply), "the Breach forwarded");

        // The lift fails (the grain throws): the finalizer stays, the deletion is retried.
        _sink.FailNext($"{ns}/leak", int.MaxValue);
        var attempts = _sink.Attempts;
        await cluster.Client.DeleteAsync<Breach>(ns, "leak");
        await Resources.EventuallyAsync(() => Task.FromResult(_sink.Attempts), a => a >= attempts + 3, "three failed lifts");
        var kept = await cluster.Client.GetAsync<Breach>(ns, "leak");
        Assert.True(kept?.Metadata.Finalizers?.Contains(NotaryResources.CleanupFinalizer) == true, "the finalizer stays while the lift fails");

        _sink.FailNext($"{ns}/leak", 0);
        var deliveries = await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/leak" && x.Action == Action.BreachDelete), "the lift, retried");
        var spec = Assert.IsType<BreachRequest>(deliveries.Single(x => x.Key == $"{ns}/leak" && x.Action == Action.BreachDelete).Spec);
        Assert.Equal((new ResourceKey(ns, "orders"), BreachMode.Quarantine, breach.Metadata.Uid), (spec.Certificate, spec.Mode, spec.Uid));
        await Resources.EventuallyAsync(() => cluster.Client.GetAsync<Breach>(ns, "leak"), b => b is null, "the Breach to go once the lift succeeded");
    }
}
