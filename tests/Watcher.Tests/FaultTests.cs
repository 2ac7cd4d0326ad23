using k8s;
using Notary.CustomResources.Models;
using Notary.Watcher.Tests.Support;
using Xunit.Abstractions;
using Action = Notary.Watcher.Tests.Support.Action;

namespace Notary.Watcher.Tests;

/// <summary>A DevCluster of its own: its faults hit every watch on the server.</summary>
[CollectionDefinition(Name)]
public sealed class FaultCollection : ICollectionFixture<WatcherCluster>
{
    public const string Name = "Watcher under injected faults";
}

/// <summary>
/// Every change reaches the sink, none twice, deletions included, whatever happens to the
/// connection: watches dropped mid-stream, the watcher cut off while objects are created,
/// changed and deleted, history compacted (410 Gone, relist), the API server restarted.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Slow")]
public sealed class FaultTests(WatcherCluster cluster, ITestOutputHelper output)
{
    private const string Certificates = "certificates.notary.dev";

    private readonly CapturingLoggerProvider _logs = new(output);
    private readonly RecordingSink _sink = new();

    [Fact]
    public async Task Watches_dropped_mid_stream_resume_from_the_last_resourceVersion_without_loss_or_repeats()
    {
        var ns = await cluster.NamespaceAsync();
        await using var session = cluster.Start(_sink, _logs);
        await session.Session.Synced.WaitAsync(TimeSpan.FromSeconds(30));
        var expected = new Dictionary<string, long>();

        for (var i = 0; i < 12; i++)
        {
            await cluster.Client.CreateAsync(Resources.Certificate(ns, $"c{i}"));
            expected[$"{ns}/c{i}"] = 1;
            if (i % 3 == 0)
            {
                cluster.Server.Faults.DropWatches();
            }

            if (i % 4 == 1)
            {
                await cluster.Client.PatchAsync<Certificate>(ns, $"c{i - 1}", """{"spec":{"alt":["changed.example.com"]}}""");
                expected[$"{ns}/c{i - 1}"] = 2;
            }
        }

        await WaitForAsync(expected, deleted: []);
        await cluster.Client.DeleteAsync<Certificate>(ns, "c2");
        cluster.Server.Faults.DropWatches();
        await cluster.Client.DeleteAsync<Certificate>(ns, "c5");
        await WaitForAsync(expected, deleted: [$"{ns}/c2", $"{ns}/c5"]);

        AssertNothingTwice();
        Assert.Equal(1, Listed(Certificates));
        Assert.Equal(0, _logs.Count(3004));
    }

    [Fact]
    public async Task Changes_made_while_the_watcher_is_cut_off_arrive_when_it_reconnects()
    {
        var ns = await cluster.NamespaceAsync();
        await using var proxy = cluster.Proxy();
        using var client = cluster.ClientThrough(proxy);
        await using var session = cluster.Start(_sink, _logs, client);
        await CreateAndWaitAsync(ns, "a", "b", "x");

        proxy.Pause();
        await ChangeWhileCutOffAsync(ns);
        proxy.Resume();

        await WaitForAsync(new() { [$"{ns}/a"] = 2, [$"{ns}/d"] = 1 }, deleted: [$"{ns}/b", $"{ns}/x"]);
        await Resources.EventuallyAsync(() => cluster.Client.GetAsync<Certificate>(ns, "b"), c => c is null, "b to go once its finalizer is off");
        AssertNothingTwice();
        Assert.Equal(1, Listed(Certificates));
        Assert.Equal(0, _logs.Count(3004));
    }

    [Fact]
    public async Task History_compacted_while_the_watcher_is_cut_off_forces_a_relist_that_finds_every_change()
    {
        var ns = await cluster.NamespaceAsync();
        await using var proxy = cluster.Proxy();
        using var client = cluster.ClientThrough(proxy);
        await using var session = cluster.Start(_sink, _logs, client);
        await CreateAndWaitAsync(ns, "a", "b", "x");

        proxy.Pause();
        await ChangeWhileCutOffAsync(ns);
        cluster.Server.Faults.CompactHistory();
        proxy.Resume();

        await WaitForAsync(new() { [$"{ns}/a"] = 2, [$"{ns}/d"] = 1 }, deleted: [$"{ns}/b", $"{ns}/x"]);
        await Resources.EventuallyAsync(() => cluster.Client.GetAsync<Certificate>(ns, "b"), c => c is null, "b to go once its finalizer is off");
        AssertNothingTwice();
        Assert.True(_logs.Lines.Any(line => line.EventId.Id == 3004 && line.Message.Contains(Certificates, StringComparison.Ordinal)), "the watch should have answered 410 Gone");
        Assert.Equal(2, Listed(Certificates));
    }

    [Fact]
    public async Task A_restarted_API_server_loses_nothing()
    {
        var ns = await cluster.NamespaceAsync();
        await using var session = cluster.Start(_sink, _logs);
        await CreateAndWaitAsync(ns, "a", "b");

        await cluster.Server.Faults.RestartAsync();

        // The test's own client may still hold the HTTP/2 connection the restart closed (GOAWAY):
        // its first request after the restart can fail once, as any client's would; it reconnects.
        await Resources.EventuallyAsync(async () =>
        {
            try
            {
                await cluster.Client.CoreV1.ReadNamespaceAsync(ns);
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, ok => ok, "the test's client to reach the restarted API server");
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "c"));
        await cluster.Client.PatchAsync<Certificate>(ns, "a", """{"spec":{"alt":["changed.example.com"]}}""");
        await cluster.Client.DeleteAsync<Certificate>(ns, "b");

        await WaitForAsync(new() { [$"{ns}/a"] = 2, [$"{ns}/c"] = 1 }, deleted: [$"{ns}/b"]);
        AssertNothingTwice();
    }

    /// <summary>a: spec changed; b: deleted (the finalizer holds it); d: created; x: finalizer stripped by hand and deleted (gone for good); e: created and deleted (never seen).</summary>
    private async Task ChangeWhileCutOffAsync(string ns)
    {
        await cluster.Client.PatchAsync<Certificate>(ns, "a", """{"spec":{"alt":["changed.example.com"]}}""");
        await cluster.Client.DeleteAsync<Certificate>(ns, "b");
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "d"));
        await cluster.Client.PatchAsync<Certificate>(ns, "x", """{"metadata":{"finalizers":null}}""");
        await cluster.Client.DeleteAsync<Certificate>(ns, "x");
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "e"));
        await cluster.Client.DeleteAsync<Certificate>(ns, "e");
        Assert.Null(await cluster.Client.GetAsync<Certificate>(ns, "x"));
    }

    private async Task CreateAndWaitAsync(string ns, params string[] names)
    {
        foreach (var name in names)
        {
            await cluster.Client.CreateAsync(Resources.Certificate(ns, name));
        }

        await _sink.WaitAsync(d => names.All(n => d.Any(x => x.Key == $"{ns}/{n}")), "the first applies");
        foreach (var name in names)
        {
            await Resources.EventuallyAsync(() => cluster.Client.GetAsync<Certificate>(ns, name), c => ResourceFinalizers.Has(c!.Metadata), $"the finalizer on {name}");
        }
    }

    private Task<IReadOnlyList<Delivery>> WaitForAsync(Dictionary<string, long> applied, string[] deleted) =>
        _sink.WaitAsync(
            d => applied.All(e => d.Any(x => x.Action == Action.Apply && x.Key == e.Key && x.Generation == e.Value))
                && deleted.All(key => d.Any(x => x.Action == Action.Delete && x.Key == key)),
            $"applies {string.Join(", ", applied.Select(e => $"{e.Key}@{e.Value}"))} and deletes {string.Join(", ", deleted)}");

    private void AssertNothingTwice()
    {
        var twice = _sink.Deliveries
            // The set of existing CertificatePolicies is sent after every full list by design (a
            // relist is when a deletion nobody saw is found): it is not a repeated event. So are
            // the existing Issuers and ClusterIssuers.
            .Where(d => d.Action is not Action.SecretChanged and not Action.PoliciesListed and not Action.IssuersListed)
            .GroupBy(d => (d.Action, d.Uid, Generation: d.Action == Action.Apply ? d.Generation : 0))
            .Where(g => g.Count() > 1)
            .Select(g => g.First().ToString())
            .ToList();
        Assert.True(twice.Count == 0, $"delivered more than once: {string.Join("; ", twice)}");
    }

    private int Listed(string resource) =>
        _logs.Lines.Count(line => line.EventId.Id == 3001 && line.Message.StartsWith($"Listed {resource}:", StringComparison.Ordinal));
}
