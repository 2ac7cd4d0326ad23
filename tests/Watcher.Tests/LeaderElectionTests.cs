using System.Diagnostics;
using k8s;
using Microsoft.Extensions.Options;
using Notary.Adapters.Kubernetes;
using Notary.CustomResources;
using Notary.Watcher.Tests.Support;
using Xunit.Abstractions;

namespace Notary.Watcher.Tests;

[CollectionDefinition(Name)]
public sealed class LeaderElectionCollection : ICollectionFixture<WatcherCluster>
{
    public const string Name = "Watcher leader election";
}

/// <summary>
/// Two watchers compete for one Lease (with short timings: 3 s lease, 2 s renew deadline): one
/// leads and forwards, the other stands by and takes over when the leader stops or is cut off.
/// </summary>
[Collection(LeaderElectionCollection.Name)]
[Trait("Category", "Slow")]
public sealed class LeaderElectionTests(WatcherCluster cluster, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _cleanup = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var item in Enumerable.Reverse(_cleanup))
        {
            await item.DisposeAsync();
        }
    }

    [Fact]
    public async Task One_watcher_leads_and_a_standby_takes_over_at_once_when_it_shuts_down()
    {
        var lease = "watcher-" + Guid.NewGuid().ToString("N")[..8];
        var a = Start(cluster.Client, lease, "a");
        var b = Start(cluster.Client, lease, "b");
        var (leader, standby) = await LeaderAsync(a, b);
        Assert.Equal(leader.Watcher.Identity, await HolderAsync(lease));

        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "first"));
        await leader.Sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/first"), "the leader to forward");
        Assert.Empty(standby.Sink.Deliveries);

        var stopped = Stopwatch.StartNew();
        await leader.StopAsync();
        await Resources.EventuallyAsync(() => Task.FromResult(standby.Watcher.IsLeading), leading => leading, "the standby to lead", TakeoverBound);
        output.WriteLine($"took over {stopped.Elapsed.TotalSeconds:0.0} s after the leader stopped");
        AssertNeverTwoLeaders(leader, standby);
        Assert.Equal(standby.Watcher.Identity, await HolderAsync(lease));
        Assert.Contains(leader.Logs.Lines, line => line.EventId.Id == 3034);

        // The new leader forwards what exists (once) and what comes next.
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "second"));
        await standby.Sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/first") && d.Any(x => x.Key == $"{ns}/second"), "the new leader to forward");
        Assert.DoesNotContain(leader.Sink.Deliveries, d => d.Key == $"{ns}/second");
    }

    [Fact]
    public async Task A_leader_cut_off_from_the_API_server_stops_watching_and_a_standby_takes_over_when_the_lease_expires()
    {
        var lease = "watcher-" + Guid.NewGuid().ToString("N")[..8];
        var proxyA = Track(cluster.Proxy());
        var proxyB = Track(cluster.Proxy());
        var a = Start(Track(cluster.ClientThrough(proxyA)), lease, "a");
        var b = Start(Track(cluster.ClientThrough(proxyB)), lease, "b");
        var (leader, standby) = await LeaderAsync(a, b);
        var leaderProxy = leader == a ? proxyA : proxyB;

        var cutOff = Stopwatch.StartNew();
        leaderProxy.Pause();
        await Resources.EventuallyAsync(() => Task.FromResult(standby.Watcher.IsLeading), leading => leading, "the standby to lead", TakeoverBound);
        output.WriteLine($"took over {cutOff.Elapsed.TotalSeconds:0.0} s after the leader was cut off (bound {TakeoverBound.TotalSeconds} s)");
        Assert.True(cutOff.Elapsed <= TakeoverBound, $"the standby took {cutOff.Elapsed.TotalSeconds:0.0} s to lead; the lease bounds it to {TakeoverBound.TotalSeconds} s");

        // The old leader gave up before the standby could take over: never two leaders at once.
        Assert.False(leader.Watcher.IsLeading);
        AssertNeverTwoLeaders(leader, standby);
        Assert.Contains(leader.Logs.Lines, line => line.EventId.Id == 3031);
        Assert.Equal(standby.Watcher.Identity, await HolderAsync(lease));

        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "api"));
        await standby.Sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/api"), "the new leader to forward");

        // Back on the network, the old leader sees the Lease taken and stands by.
        leaderProxy.Resume();
        await Resources.EventuallyAsync(
            () => Task.FromResult(leader.Logs.Lines.Any(line => line.EventId.Id == 3032 && line.Message.Contains($"held by {standby.Watcher.Identity}", StringComparison.Ordinal))),
            seen => seen,
            "the old leader to see the new one");
        Assert.False(leader.Watcher.IsLeading);
        Assert.DoesNotContain(leader.Sink.Deliveries, d => d.Key == $"{ns}/api");
        AssertNeverTwoLeaders(leader, standby);
    }

    /// <summary>
    /// How long a standby may take to lead once the leader is gone: the leader's lease runs out
    /// (at most a lease duration after its last renewal), the standby notices at its next retry,
    /// with room for a loaded machine: 3 lease durations and a renew deadline (11 s here).
    /// </summary>
    private static TimeSpan TakeoverBound
    {
        get
        {
            var options = WatcherCluster.FastOptions();
            return (3 * options.LeaseDuration) + options.RenewDeadline;
        }
    }

    /// <summary>
    /// Each contender's leading periods, from its "now leads" line (3030) to its "no longer leads"
    /// (3031) or "shutting down" (3035) line; one without such a line runs to now.
    /// </summary>
    private static List<(long Start, long End)> LeadingPeriods(Contender contender)
    {
        var periods = new List<(long Start, long End)>();
        long? start = null;
        foreach (var line in contender.Logs.Lines)
        {
            if (line.EventId.Id == 3030)
            {
                Assert.True(start is null, $"{contender.Watcher.Identity} started leading twice without stopping");
                start = line.Timestamp;
            }
            else if (line.EventId.Id is 3031 or 3035 && start is { } began)
            {
                periods.Add((began, line.Timestamp));
                start = null;
            }
        }

        if (start is { } open)
        {
            // No line says when it stopped: as far as anyone can tell, it leads until now.
            periods.Add((open, Stopwatch.GetTimestamp()));
        }

        return periods;
    }

    /// <summary>Never two leaders: no leading period of one contender overlaps one of the other.</summary>
    private static void AssertNeverTwoLeaders(Contender a, Contender b)
    {
        var periodsOfA = LeadingPeriods(a);
        var periodsOfB = LeadingPeriods(b);
        Assert.NotEmpty(periodsOfA.Concat(periodsOfB));
        foreach (var (startA, endA) in periodsOfA)
        {
            foreach (var (startB, endB) in periodsOfB)
            {
                Assert.True(
                    endA <= startB || endB <= startA,
                    $"{a.Watcher.Identity} led from {startA} to {endA} and {b.Watcher.Identity} from {startB} to {endB} (Stopwatch ticks): two leaders at once");
            }
        }
    }

    private Contender Start(IKubernetes client, string lease, string identity)
    {
        var logs = new CapturingLoggerProvider(new PrefixedOutput(output, identity));
        var sink = new RecordingSink();
        var kubernetes = Options.Create(new NotaryKubernetesOptions());
        var events = new KubernetesEventRecorder(client, kubernetes, TimeProvider.System, new LoggerAdapter<KubernetesEventRecorder>(logs.CreateLogger("events")));
        var watcher = new LeaderElectedWatcher(
            client,
            sink,
            new ResourceFinalizers(client, kubernetes, new LoggerAdapter<ResourceFinalizers>(logs.CreateLogger("finalizers"))),
            events,
            Options.Create(WatcherCluster.FastOptions(o => { o.LeaseName = lease; o.Identity = $"{identity}-{lease}"; })),
            kubernetes,
            TimeProvider.System,
            logs);
        var contender = new Contender(watcher, sink, logs, events);
        _cleanup.Add(contender);
        watcher.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return contender;
    }

    private static async Task<(Contender Leader, Contender Standby)> LeaderAsync(Contender a, Contender b)
    {
        var leader = await Resources.EventuallyAsync(
            () => Task.FromResult(a.Watcher.IsLeading ? a : b.Watcher.IsLeading ? b : null),
            leading => leading is not null,
            "a leader",
            TimeSpan.FromSeconds(30));
        var standby = leader == a ? b : a;
        Assert.False(standby.Watcher.IsLeading);
        return (leader!, standby);
    }

    private async Task<string?> HolderAsync(string lease) =>
        (await cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync(lease, "notary")).Spec.HolderIdentity;

    private T Track<T>(T item)
    {
        _cleanup.Add(item switch
        {
            IAsyncDisposable asyncDisposable => asyncDisposable,
            IDisposable disposable => new DisposeAdapter(disposable),
            _ => throw new ArgumentException("not disposable", nameof(item)),
        });
        return item;
    }

    private sealed class DisposeAdapter(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Contender(LeaderElectedWatcher watcher, RecordingSink sink, CapturingLoggerProvider logs, KubernetesEventRecorder events) : IAsyncDisposable
    {
        private bool _stopped;

        public LeaderElectedWatcher Watcher => watcher;

        public RecordingSink Sink => sink;

        public CapturingLoggerProvider Logs => logs;

        public async Task StopAsync()
        {
            if (!_stopped)
            {
                _stopped = true;
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await watcher.StopAsync(timeout.Token);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            watcher.Dispose();
            events.Dispose();
        }
    }

    private sealed class PrefixedOutput(ITestOutputHelper output, string prefix) : ITestOutputHelper
    {
        public void WriteLine(string message) => output.WriteLine($"[{prefix}] {message}");

        public void WriteLine(string format, params object[] args) => output.WriteLine($"[{prefix}] {string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args)}");
    }
}
