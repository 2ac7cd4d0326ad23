using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Notary.Watcher.Tests.Support;
using Xunit.Abstractions;

namespace Notary.Watcher.Tests;

/// <summary>
/// The one metadata-only source behind the Secret and ConfigMap informers (MetadataOnlySource),
/// against DevCluster: it keeps the identity its caller names and nothing else, and an informer
/// over it that finds its history compacted (410 Gone) lists again and reports every change it
/// missed, deletions included. In the fault collection: compacting history hits every watch on
/// the server.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Slow")]
public sealed class MetadataOnlySourceTests(WatcherCluster cluster, ITestOutputHelper output)
{
    private readonly CapturingLoggerProvider _logs = new(output);

    [Fact]
    public async Task A_list_keeps_the_identity_alone_and_a_Secret_its_labels()
    {
        var ns = await cluster.NamespaceAsync();
        var annotations = new Dictionary<string, string> { ["kubectl.kubernetes.io/last-applied-configuration"] = "{\"data\":{\"ca.crt\":\"c2VjcmV0\"}}" };
        var labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "notary" };
        await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "partner-ca", Labels = labels, Annotations = annotations }, Data = new Dictionary<string, string> { ["ca.crt"] = "pem" } }, ns);
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret { Metadata = new V1ObjectMeta { Name = "db-ca", Labels = labels, Annotations = annotations }, StringData = new Dictionary<string, string> { ["ca.crt"] = "pem" } }, ns);

        var configMaps = await MetadataOnly.ConfigMaps(cluster.Client, TimeSpan.FromMinutes(1)).ListAsync(CancellationToken.None);
        var secrets = await MetadataOnly.Secrets(cluster.Client, TimeSpan.FromMinutes(1)).ListAsync(CancellationToken.None);

        var configMap = Assert.Single(configMaps.Items, i => i.Key == $"{ns}/partner-ca").Object!;
        Assert.Null(configMap.Data);
        Assert.Null(configMap.Metadata.Labels);
        Assert.Null(configMap.Metadata.Annotations);
        Assert.False(string.IsNullOrEmpty(configMap.Metadata.Uid));
        var secret = Assert.Single(secrets.Items, i => i.Key == $"{ns}/db-ca").Object!;
        Assert.Null(secret.Data);
        Assert.Equal(labels, secret.Metadata.Labels);
        Assert.Null(secret.Metadata.Annotations);
        Assert.False(string.IsNullOrEmpty(configMaps.ResourceVersion));
    }

    [Fact]
    public async Task An_informer_over_it_relists_after_410_Gone_and_reports_what_it_missed_deletions_included()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("a", "one"), ns);
        await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("b", "one"), ns);

        await using var proxy = cluster.Proxy();
        using var client = cluster.ClientThrough(proxy);
        var handler = new Recorder(ns);
        var informer = new Informer<V1ConfigMap>(MetadataOnly.ConfigMaps(client, TimeSpan.FromMinutes(1)), WatcherCluster.FastOptions(), TimeProvider.System, _logs.CreateLogger("informer"));
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => informer.RunAsync(handler, stop.Token));
        try
        {
            await informer.Synced.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(["upsert a", "upsert b"], handler.Changes.Order(StringComparer.Ordinal));
            var firstA = handler.Versions[$"{ns}/a"];

            // Cut off: a changed, b deleted, c created; then the history is compacted, so the
            // watch cannot resume from the last resourceVersion it saw.
            proxy.Pause();
            await cluster.Client.CoreV1.ReplaceNamespacedConfigMapAsync(ConfigMap("a", "two"), "a", ns);
            await cluster.Client.CoreV1.DeleteNamespacedConfigMapAsync("b", ns);
            await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("c", "one"), ns);
            cluster.Server.Faults.CompactHistory();
            proxy.Resume();

            await Resources.EventuallyAsync(
                () => Task.FromResult(handler.Changes),
                c => c.Contains("delete b") && c.Contains("upsert c") && c.Count(x => x == "upsert a") == 2,
                "the relist to report a changed, b deleted and c created");
            Assert.NotEqual(firstA, handler.Versions[$"{ns}/a"]);
            Assert.Equal(2, handler.Listings);
            Assert.Contains(_logs.Lines, l => l.EventId.Id == 3004 && l.Message.Contains("configmaps", StringComparison.Ordinal));
            Assert.Equal(["delete b", "upsert a", "upsert a", "upsert b", "upsert c"], handler.Changes.Order(StringComparer.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private static V1ConfigMap ConfigMap(string name, string value) =>
        new() { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["ca.crt"] = value } };

    /// <summary>What the informer reports for one namespace's ConfigMaps.</summary>
    private sealed class Recorder(string ns) : IInformerHandler<V1ConfigMap>
    {
        private readonly ConcurrentQueue<string> _changes = new();
        private int _listings;

        public IReadOnlyList<string> Changes => [.. _changes];

        public ConcurrentDictionary<string, string?> Versions { get; } = new(StringComparer.Ordinal);

        public int Listings => Volatile.Read(ref _listings);

        public void OnUpsert(string key, V1ConfigMap current)
        {
            if (Mine(key))
            {
                Versions[key] = current.Metadata.ResourceVersion;
                Record($"upsert {key[(ns.Length + 1)..]}");
            }
        }

        public void OnDelete(string key, V1ConfigMap lastKnown)
        {
            if (Mine(key))
            {
                Record($"delete {key[(ns.Length + 1)..]}");
            }
        }

        public void OnListed()
        {
            Interlocked.Increment(ref _listings);
        }

        private bool Mine(string key) => key.StartsWith(ns + "/", StringComparison.Ordinal);

        private void Record(string change) => _changes.Enqueue(change);
    }
}
