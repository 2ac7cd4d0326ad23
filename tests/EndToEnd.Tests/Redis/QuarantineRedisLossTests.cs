using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using k8s;
using Notary.EndToEnd.Tests.Aws;
using Notary.Pki.Tests.Support;
using static Notary.EndToEnd.Tests.Aws.Manifests;
using static Notary.EndToEnd.Tests.Redis.MultiSiloRedisTests;

namespace Notary.EndToEnd.Tests.Redis;

/// <summary>
/// A quarantine lives in the API server (a Breach), not in Redis: with two silos on a real
/// redis-server, a Breach quarantines orders; every silo stops, Redis is emptied, two silos start
/// again. orders is issued again (its state is gone), and web's truststore must refuse it, both
/// as rebuilt and in every version written meanwhile (the watcher forwards the Breaches before
/// any Certificate or Truststore), judged by <c>openssl verify -partial_chain</c> of orders'
/// served certificate against each version of web's stored ca.crt.
/// </summary>
[Collection(RedisSiloCollection.Name)]
[Trait("Category", "Slow")]
public sealed class QuarantineRedisLossTests
{
    [Fact]
    public async Task A_quarantine_survives_wiping_Redis_and_restarting_every_silo()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await StandaloneCluster.StartAsync();
        var ns = await NamespacesAsync(cluster, "qloss");
        await cluster.ApplyAsync(All(
            Certificate(ns, "orders", $"orders.{ns}.svc"), Keystore(ns, "orders-ks", $"orders.{ns}.svc", "orders"),
            Certificate(ns, "web", $"web.{ns}.svc"), Truststore(ns, "web-ts", $"web.{ns}.svc", "web", "orders", $"orders.{ns}.svc")));
        string[] resources = ["cert/orders", "ks/orders-ks", "cert/web", "ts/web-ts"];
        var silos = new Dictionary<string, SiloProcess>();
        using var client = new Kubernetes(cluster.Server.ClientConfiguration());
        using var stop = new CancellationTokenSource();
        var versions = new ConcurrentQueue<string>();
        Task? recording = null;
        try
        {
            await StartAsync(silos, redis, cluster);
            await ReadyAsync(cluster, silos, ns, resources);
            Assert.True(await TrustsAsync(cluster, ns, await ServedAsync(cluster, ns)), "web does not trust orders before any breach");

            await cluster.ApplyAsync($$"""
                apiVersion: notary.dev/v1alpha1
                kind: Breach
                metadata: {name: leak, namespace: {{ns}}}
                spec: {certificate: orders, mode: quarantine, reason: key seen on a laptop}
                """);
            await RealBreachFixture.UntilAsync(() => cluster.OkAsync("get", "br", "leak", "-n", ns, "-o", "jsonpath={.status.phase}"), p => p == "Completed", "the quarantine to complete", seconds: 90);
            var before = await ServedAsync(cluster, ns);
            Assert.False(await RealBreachFixture.UntilAsync(() => TrustsAsync(cluster, ns, before), ok => !ok, "web to refuse quarantined orders", seconds: 60));

            // Every silo gone, Redis emptied (a lost volume), every silo back.
            foreach (var silo in silos.Values)
            {
                await silo.DisposeAsync();
            }

            silos.Clear();
            await FlushAsync(redis);
            var (rv, _) = await VersionAsync(cluster, ns);
            recording = RecordAsync(client, ns, rv, versions, stop.Token);
            await StartAsync(silos, redis, cluster);

            var reissued = await RealBreachFixture.UntilAsync(
                () => ServedAsync(cluster, ns), served => served.Serial != before.Serial, "orders to be issued again after the loss of its state", seconds: 120);
            await ReadyAsync(cluster, silos, ns, resources);
            Assert.Equal("True", await cluster.OkAsync("get", "cert", "orders", "-n", ns, "-o", "jsonpath={.status.conditions[?(@.type==\"Compromised\")].status}"));
            Assert.Equal("Completed", await cluster.OkAsync("get", "br", "leak", "-n", ns, "-o", "jsonpath={.status.phase}"));
            Assert.False(await TrustsAsync(cluster, ns, reissued), "the rebuilt truststore trusts the quarantined certificate\n" + Outputs(silos));

            // And no version of web's truststore written since the restart ever did.
            await stop.CancelAsync();
            await recording;
            foreach (var caCrt in versions)
            {
                Assert.False(await VerifiesAsync(caCrt, reissued.Pem), $"a version of web-ts trusted the quarantined certificate:\n{caCrt}");
            }

            // Deleting the Breach (its finalizer) brings orders back.
            await cluster.OkAsync("delete", "br", "leak", "-n", ns, "--timeout=90s");
            Assert.True(await TrustsAsync(cluster, ns, reissued), "orders did not return once its only quarantine was deleted");
        }
        finally
        {
            await stop.CancelAsync();
            if (recording is not null)
            {
                await recording;
            }

            foreach (var silo in silos.Values)
            {
                await silo.DisposeAsync();
            }
        }
    }

    private static async Task StartAsync(Dictionary<string, SiloProcess> silos, RedisServer redis, StandaloneCluster cluster)
    {
        foreach (var identity in new[] { "silo-0", "silo-1" })
        {
            silos[identity] = SiloProcess.Start(cluster.Kubeconfig, Configuration(redis, identity), new Dictionary<string, string?>());
        }
    }

    private sealed record Served(string Serial, string Pem);

    /// <summary>The certificate orders serves: the first of its keystore Secret's tls.crt.</summary>
    private static async Task<Served> ServedAsync(StandaloneCluster cluster, string ns)
    {
        var pem = Encoding.ASCII.GetString((await DataAsync(cluster, ns, "orders-ks"))["tls.crt"]);
        using var leaf = X509Certificate2.CreateFromPem(pem);
        return new Served(leaf.SerialNumber, leaf.ExportCertificatePem());
    }

    private static async Task<bool> TrustsAsync(StandaloneCluster cluster, string ns, Served orders) =>
        await VerifiesAsync(Encoding.ASCII.GetString((await DataAsync(cluster, ns, "web-ts"))["ca.crt"]), orders.Pem);

    /// <summary>openssl verify -partial_chain: does a truststore's ca.crt accept the leaf?</summary>
    private static async Task<bool> VerifiesAsync(string caCrt, string leafPem)
    {
        var directory = Directory.CreateTempSubdirectory("notary-qloss-");
        try
        {
            var ca = Path.Combine(directory.FullName, "ca.crt");
            var leaf = Path.Combine(directory.FullName, "leaf.crt");
            await File.WriteAllTextAsync(ca, caCrt);
            await File.WriteAllTextAsync(leaf, leafPem);
            var result = await ToolRunner.RunAsync("openssl", ["verify", "-partial_chain", "-purpose", "sslclient", "-CAfile", ca, leaf]);
            return result.ExitCode == 0;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static async Task<Dictionary<string, byte[]>> DataAsync(StandaloneCluster cluster, string ns, string name)
    {
        using var json = JsonDocument.Parse(await cluster.OkAsync("get", "secret", name, "-n", ns, "-o", "json"));
        return json.RootElement.GetProperty("data").EnumerateObject().ToDictionary(p => p.Name, p => Convert.FromBase64String(p.Value.GetString()!), StringComparer.Ordinal);
    }

    private static async Task<(string ResourceVersion, string CaCrt)> VersionAsync(StandaloneCluster cluster, string ns)
    {
        using var json = JsonDocument.Parse(await cluster.OkAsync("get", "secrets", "-n", ns, "-o", "json"));
        return (json.RootElement.GetProperty("metadata").GetProperty("resourceVersion").GetString()!, string.Empty);
    }

    /// <summary>Every version of web-ts's ca.crt written after <paramref name="resourceVersion"/>, as a kubelet would see them.</summary>
    private static async Task RecordAsync(Kubernetes client, string ns, string resourceVersion, ConcurrentQueue<string> versions, CancellationToken cancellationToken)
    {
        var from = resourceVersion;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var (type, secret) in client.CoreV1.WatchListNamespacedSecretAsync(ns, resourceVersion: from, cancellationToken: cancellationToken))
                {
                    from = secret.Metadata.ResourceVersion;
                    if (type is WatchEventType.Added or WatchEventType.Modified && secret.Metadata.Name == "web-ts" && secret.Data?.TryGetValue("ca.crt", out var caCrt) == true)
                    {
                        versions.Enqueue(Encoding.ASCII.GetString(caCrt));
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private static async Task FlushAsync(RedisServer redis)
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        await connection.GetServers().Single().FlushAllDatabasesAsync();
        Assert.Equal(0, await connection.GetServers().Single().DatabaseSizeAsync());
    }
}
