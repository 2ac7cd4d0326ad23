using k8s;
using k8s.Models;

namespace Notary.DevCluster.Tests;

/// <summary>The injected faults behave as a real API server's failures do, and a client can recover from each.</summary>
[Collection("faults")]
[Trait("Category", "Slow")]
public sealed class FaultTests(FaultsFixture fx)
{
    private static V1Secret Secret(string name) => new() { Metadata = new V1ObjectMeta { Name = name }, StringData = new Dictionary<string, string> { ["k"] = name } };

    /// <summary>Consumes a watch in the background, recording events and how it ended.</summary>
    private sealed class Recorder
    {
        public List<(WatchEventType Type, string Name, string Rv)> Events { get; } = [];

        public Exception? Error { get; private set; }

        public Task Completion { get; }

        public Recorder(IAsyncEnumerable<(WatchEventType, V1Secret)> watch) => Completion = Task.Run(async () =>
        {
            try
            {
                await foreach (var (type, secret) in watch)
                {
                    lock (Events)
                    {
                        Events.Add((type, secret.Metadata.Name, secret.Metadata.ResourceVersion));
                    }
                }
            }
            catch (Exception e)
            {
                Error = e;
            }
        });

        public int Count
        {
            get
            {
                lock (Events)
                {
                    return Events.Count;
                }
            }
        }
    }

    [Fact]
    public async Task Dropped_watches_end_abruptly_and_resume_without_losing_events()
    {
        var ns = await fx.NamespaceAsync();
        var list = await fx.Client.CoreV1.ListNamespacedSecretAsync(ns);
        var opened = fx.Server.Faults.OpenWatches;
        var recorder = new Recorder(fx.Client.CoreV1.WatchListNamespacedSecretAsync(ns, resourceVersion: list.Metadata.ResourceVersion));
        await DevClusterFixture.EventuallyAsync(() => Task.FromResult(fx.Server.Faults.OpenWatches > opened), "the watch to open");
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(Secret("before"), ns);
        await DevClusterFixture.EventuallyAsync(() => Task.FromResult(recorder.Count == 1), "the first event");

        fx.Server.Faults.DropWatches();
        await recorder.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(recorder.Error);

        // Changed while disconnected, then resumed from the last resourceVersion seen.
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(Secret("during"), ns);
        await fx.Client.CoreV1.DeleteNamespacedSecretAsync("before", ns);
        var resumed = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var (type, secret) in fx.Client.CoreV1.WatchListNamespacedSecretAsync(ns, resourceVersion: recorder.Events[^1].Rv, cancellationToken: cts.Token))
        {
            resumed.Add($"{type} {secret.Metadata.Name}");
            if (resumed.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(["Added during", "Deleted before"], resumed);
    }

    [Fact]
    public async Task Restart_ends_watches_keeps_storage_and_listens_on_the_same_port()
    {
        var ns = await fx.NamespaceAsync();
        var created = await fx.Client.CoreV1.CreateNamespacedSecretAsync(Secret("kept"), ns);
        var opened = fx.Server.Faults.OpenWatches;
        var recorder = new Recorder(fx.Client.CoreV1.WatchListNamespacedSecretAsync(ns, resourceVersion: created.Metadata.ResourceVersion));
        await DevClusterFixture.EventuallyAsync(() => Task.FromResult(fx.Server.Faults.OpenWatches > opened), "the watch to open");
        var url = fx.Server.Url;

        await fx.Server.Faults.RestartAsync();
        await recorder.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(url, fx.Server.Url);

        using var client = new Kubernetes(fx.Server.ClientConfiguration());
        var kept = await client.CoreV1.ReadNamespacedSecretAsync("kept", ns);
        Assert.Equal(created.Metadata.Uid, kept.Metadata.Uid);
        await client.CoreV1.CreateNamespacedSecretAsync(Secret("after"), ns);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var (type, secret) in client.CoreV1.WatchListNamespacedSecretAsync(ns, resourceVersion: created.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            Assert.Equal((WatchEventType.Added, "after"), (type, secret.Metadata.Name));
            break;
        }

        var kubectl = (await fx.KubectlAsync("get", "secret", "kept", "-n", ns, "-o", "jsonpath={.metadata.uid}")).Ok();
        Assert.Equal(created.Metadata.Uid, kubectl.Stdout);
    }

    [Fact]
    public async Task Watch_timeout_seconds_ends_the_stream_cleanly()
    {
        var ns = await fx.NamespaceAsync();
        var list = await fx.Client.CoreV1.ListNamespacedSecretAsync(ns);
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(Secret("one"), ns);
        var recorder = new Recorder(fx.Client.CoreV1.WatchListNamespacedSecretAsync(ns, resourceVersion: list.Metadata.ResourceVersion, timeoutSeconds: 1));
        await recorder.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(recorder.Error);
        Assert.Equal("one", Assert.Single(recorder.Events).Name);
    }

    [Fact]
    public async Task A_watcher_that_cannot_keep_up_is_closed_and_writers_never_block()
    {
        await using var server = await DevClusterServer.StartAsync(new DevClusterOptions { WatchBufferSize = 2 });
        using var client = new Kubernetes(server.ClientConfiguration());
        var list = await client.CoreV1.ListNamespacedSecretAsync("default");
        var gate = new SemaphoreSlim(0);
        var seen = 0;
        var consumer = Task.Run(async () =>
        {
            await foreach (var _ in client.CoreV1.WatchListNamespacedSecretAsync("default", resourceVersion: list.Metadata.ResourceVersion))
            {
                if (Interlocked.Increment(ref seen) == 1)
                {
                    await gate.WaitAsync();
                }
            }
        });
        await DevClusterFixture.EventuallyAsync(() => Task.FromResult(server.Faults.OpenWatches == 1), "the watch to open");
        await client.CoreV1.CreateNamespacedSecretAsync(Secret("s0"), "default");
        await DevClusterFixture.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref seen) == 1), "the first event");

        // The consumer is stuck; the server keeps accepting writes (a big payload fills the socket quickly).
        var big = new string('x', 256 * 1024);
        for (var i = 1; i <= 40; i++)
        {
            await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "s" + i }, StringData = new Dictionary<string, string> { ["k"] = big } }, "default");
        }

        gate.Release();
        await consumer.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(seen < 41, $"the watch should have been closed before delivering everything, saw {seen}");
    }
}
