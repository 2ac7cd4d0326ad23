using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notary.EndToEnd.Tests.Aws;
using Orleans.Configuration;
using StackExchange.Redis;
using static Notary.EndToEnd.Tests.Aws.Manifests;
using static Notary.EndToEnd.Tests.Redis.MultiSiloRedisTests;

namespace Notary.EndToEnd.Tests.Redis;

/// <summary>
/// An outsider that knows everything but has no certificate: an Orleans silo with Notary's cluster
/// and service ids and the same Redis membership table, but without a silo certificate from
/// Notary's CA. It cannot join the cluster (its connections to the Notary silo are refused, so it
/// never passes Orleans' connectivity check), and the Notary silo carries on.
/// </summary>
[Collection(RedisSiloCollection.Name)]
[Trait("Category", "Slow")]
public sealed class OutsiderSiloTests
{
    [Fact]
    public async Task A_silo_without_a_certificate_from_Notarys_CA_cannot_join_the_cluster()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await StandaloneCluster.StartAsync();
        var ns = await NamespacesAsync(cluster, "outsider");
        var silos = new Dictionary<string, SiloProcess>();
        try
        {
            silos["silo-0"] = SiloProcess.Start(cluster.Kubeconfig, Configuration(redis, "silo-0"), new Dictionary<string, string?>());
            await cluster.ApplyAsync(Certificate(ns, "before", $"before.{ns}.svc"));
            await ReadyAsync(cluster, silos, ns, ["cert/before"]);

            var builder = Host.CreateApplicationBuilder();
            builder.UseOrleans(silo =>
            {
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = "notary";
                    o.ServiceId = "notary";
                });
                silo.Configure<EndpointOptions>(o =>
                {
                    o.AdvertisedIPAddress = IPAddress.Loopback;
                    o.SiloPort = FreePorts.Next();
                    o.GatewayPort = 0;
                });
                silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis.ConnectionString));
                // Give up joining sooner than Orleans' default five minutes.
                silo.Configure<ClusterMembershipOptions>(o => o.MaxJoinAttemptTime = TimeSpan.FromSeconds(20));
            });
            using var outsider = builder.Build();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var refused = await Record.ExceptionAsync(() => outsider.StartAsync(timeout.Token));
            Assert.True(refused is not null and not OperationCanceledException, $"The outsider silo started: it joined Notary's cluster. {refused}\n{silos["silo-0"].RecentOutput}");
            // Orleans' own verdict: the silo could not reach the cluster's silos it must see.
            Assert.True(refused!.ToString().Contains("join", StringComparison.OrdinalIgnoreCase) || refused.ToString().Contains("connect", StringComparison.OrdinalIgnoreCase), refused.ToString());

            // The Notary silo carries on.
            await cluster.ApplyAsync(Certificate(ns, "after", $"after.{ns}.svc"));
            await ReadyAsync(cluster, silos, ns, ["cert/after"]);
            Assert.False(silos["silo-0"].HasExited, silos["silo-0"].RecentOutput);
        }
        finally
        {
            foreach (var silo in silos.Values)
            {
                await silo.DisposeAsync();
            }
        }
    }
}
