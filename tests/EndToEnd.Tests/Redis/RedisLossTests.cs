using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Notary.EndToEnd.Tests.Aws;
using static Notary.EndToEnd.Tests.Aws.Manifests;
using static Notary.EndToEnd.Tests.Redis.MultiSiloRedisTests;

namespace Notary.EndToEnd.Tests.Redis;

/// <summary>
/// What README.md ("Backup and restore") says a loss of Redis does, shown with a real redis-server:
/// a silo restarted on the same Redis keeps its certificates (the grain state is there), a silo
/// restarted on an emptied Redis issues every certificate again (new serial, revision from the
/// start) and writes its keystore again, with the new certificate and key in it.
/// </summary>
[Collection(RedisSiloCollection.Name)]
[Trait("Category", "Slow")]
public sealed class RedisLossTests
{
    [Fact]
    public async Task An_emptied_Redis_makes_the_next_silo_issue_every_certificate_again_and_rewrite_its_stores()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await StandaloneCluster.StartAsync();
        var ns = await NamespacesAsync(cluster, "loss");
        await cluster.ApplyAsync(All(Certificate(ns, "pay", $"pay.{ns}.svc"), Keystore(ns, "pay-ks", $"pay.{ns}.svc", "pay")));

        var silos = new Dictionary<string, SiloProcess>();
        try
        {
            silos["silo-0"] = SiloProcess.Start(cluster.Kubeconfig, Configuration(redis, "silo-0"), new Dictionary<string, string?>());
            await ReadyAsync(cluster, silos, ns, ["cert/pay", "ks/pay-ks"]);
            var issued = (await CertificateStatusesAsync(cluster, ns, ["pay"]))["pay"];
            var stored = (await SecretVersionsAsync(cluster, ns))["pay-ks"];

            // Restarted on the same Redis (stopped as Kubernetes stops a pod, with SIGTERM, so it
            // leaves the Orleans cluster): the grain finds its state and issues nothing.
            await StopAsync(silos["silo-0"]);
            await silos["silo-0"].DisposeAsync();
            silos["silo-0"] = SiloProcess.Start(cluster.Kubeconfig, Configuration(redis, "silo-0"), new Dictionary<string, string?>());
            await RealBreachFixture.UntilAsync(
                () => ReadyGaugesAsync(silos["silo-0"]),
                ready => ready.GetValueOrDefault("pay") == 1,
                "the restarted silo to publish the certificate from its state",
                seconds: 90);
            Assert.Equal(0, (await IssuancesAsync(silos["silo-0"])).GetValueOrDefault("pay"));
            Assert.Equal(issued, (await CertificateStatusesAsync(cluster, ns, ["pay"]))["pay"]);
            Assert.Equal(stored, (await SecretVersionsAsync(cluster, ns))["pay-ks"]);

            // Redis emptied while no silo runs (a lost volume, a new instance): everything again.
            await silos["silo-0"].DisposeAsync();
            await FlushAsync(redis);
            silos["silo-0"] = SiloProcess.Start(cluster.Kubeconfig, Configuration(redis, "silo-0"), new Dictionary<string, string?>());
            var reissued = await RealBreachFixture.UntilAsync(
                async () => (await CertificateStatusesAsync(cluster, ns, ["pay"]))["pay"],
                status => status.Serial != issued.Serial,
                "the certificate to be issued again",
                seconds: 90);
            Assert.True(reissued.Revision <= issued.Revision, $"revision {reissued.Revision} after {issued.Revision}: the revision starts again from the empty state");
            Assert.Equal(1, (await IssuancesAsync(silos["silo-0"])).GetValueOrDefault("pay"));
            await RealBreachFixture.UntilAsync(
                async () => (await SecretVersionsAsync(cluster, ns))["pay-ks"],
                version => version != stored,
                "the keystore Secret to be written again",
                seconds: 90);
            await ReadyAsync(cluster, silos, ns, ["cert/pay", "ks/pay-ks"]);

            // Rewritten with the new certificate, not only touched: its PEM files and its store
            // file hold the serial in the status, with the key that matches it.
            var current = (await CertificateStatusesAsync(cluster, ns, ["pay"]))["pay"];
            Assert.Equal(reissued, current);
            var keystore = await SecretDataAsync(cluster, ns, "pay-ks");
            using (var leaf = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(keystore["tls.crt"]), Encoding.ASCII.GetString(keystore["tls.key"])))
            {
                Assert.Equal(current.Serial, leaf.SerialNumber.ToUpperInvariant());
                Assert.True(leaf.HasPrivateKey);
            }

            var file = X509CertificateLoader.LoadPkcs12Collection(keystore["keystore.p12"], KeystorePassword);
            var withKey = Assert.Single(file, c => c.HasPrivateKey);
            Assert.Equal(current.Serial, withKey.SerialNumber.ToUpperInvariant());
            Assert.DoesNotContain(file, c => c.SerialNumber.Equals(issued.Serial, StringComparison.OrdinalIgnoreCase));
        }
        finally
        {
            foreach (var silo in silos.Values)
            {
                await silo.DisposeAsync();
            }
        }
    }

    /// <summary>A Secret's data, decoded.</summary>
    private static async Task<Dictionary<string, byte[]>> SecretDataAsync(StandaloneCluster cluster, string ns, string name)
    {
        using var json = JsonDocument.Parse(await cluster.OkAsync("get", "secret", name, "-n", ns, "-o", "json"));
        return json.RootElement.GetProperty("data").EnumerateObject().ToDictionary(p => p.Name, p => Convert.FromBase64String(p.Value.GetString()!), StringComparer.Ordinal);
    }

    private static async Task StopAsync(SiloProcess silo)
    {
        using (var signal = System.Diagnostics.Process.Start("kill", ["-TERM", silo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync();
        }

        await RealBreachFixture.UntilAsync(() => Task.FromResult(silo.HasExited), exited => exited, "the silo to stop on SIGTERM", seconds: 60);
    }

    /// <summary>The silo's ready gauges, empty while its HTTP API is not up yet.</summary>
    private static async Task<Dictionary<string, double>> ReadyGaugesAsync(SiloProcess silo)
    {
        try
        {
            return await CounterAsync("notary_certificate_ready_status", [silo]);
        }
        catch (HttpRequestException)
        {
            Assert.False(silo.HasExited, silo.RecentOutput);
            return [];
        }
    }

    private static async Task FlushAsync(RedisServer redis)
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        await connection.GetServers().Single().FlushAllDatabasesAsync();
        Assert.Equal(0, await connection.GetServers().Single().DatabaseSizeAsync());
    }
}
