using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Notary.DevCluster;
using Notary.Silo;
using static Notary.EndToEnd.Tests.RealBreachFixture;

namespace Notary.EndToEnd.Tests.Chart;

/// <summary>
/// Runs alone: Orleans' Kubernetes hosting takes the pod's name and namespace from the process
/// environment (POD_NAME, POD_NAMESPACE), which this test sets for its silo.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection
{
    public const string Name = "process environment";
}

/// <summary>
/// Orleans' Kubernetes hosting as Notary configures it (<see cref="NotaryClusterOptions.AddKubernetesHosting"/>),
/// in a silo whose pod exists on DevCluster, running as the chart's ServiceAccount under the
/// chart's rendered RBAC: every call it makes is allowed, and its calls are exactly the pods rule of
/// the chart's Role (get, list, watch: no patch, no delete). The dev-mode flow of ChartRbacTests
/// cannot show this: there Notary is no silo in a pod.
/// </summary>
[Collection(ProcessEnvironmentCollection.Name)]
[Trait("Category", "Slow")]
public sealed class KubernetesHostingRbacTests
{
    private const string Namespace = "notary";

    [Fact]
    public async Task The_hosting_makes_exactly_the_pod_calls_the_charts_Role_grants()
    {
        await using var cluster = await DevClusterServer.StartAsync(new DevClusterOptions());
        using var admin = new k8s.Kubernetes(cluster.ClientConfiguration());
        // DevCluster starts with Notary's namespace, the chart's release namespace here.

        // The chart's ServiceAccount and RBAC, as helm renders them.
        var rendered = await Helm.TemplateAsync("notary", Namespace, "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml");
        foreach (var document in rendered)
        {
            await CreateAsync(admin, document);
        }

        var account = ChartTests.Single(rendered, "ServiceAccount")["metadata"]!["name"]!.GetValue<string>();
        var token = await admin.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { ExpirationSeconds = 3600 } }, account, Namespace);
        var user = $"system:serviceaccount:{Namespace}:{account}";

        // This silo's pod and another silo's, labelled as the chart labels them.
        var labels = new Dictionary<string, string> { ["orleans/serviceId"] = "notary", ["orleans/clusterId"] = "notary" };
        foreach (var pod in new[] { "notary-0", "notary-1" })
        {
            await admin.CoreV1.CreateNamespacedPodAsync(new V1Pod
            {
                Metadata = new V1ObjectMeta { Name = pod, Labels = labels },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = "notary", Image = "ghcr.io/notary-dev/notary:0.1.0" }] },
            }, Namespace);
        }

        var before = (Environment.GetEnvironmentVariable("POD_NAME"), Environment.GetEnvironmentVariable("POD_NAMESPACE"));
        Environment.SetEnvironmentVariable("POD_NAME", "notary-0");
        Environment.SetEnvironmentVariable("POD_NAMESPACE", Namespace);
        try
        {
            using var host = new HostBuilder()
                .UseOrleans(silo =>
                {
                    silo.UseLocalhostClustering(FreePorts.Next(), FreePorts.Next(), serviceId: "notary", clusterId: "notary");
                    NotaryClusterOptions.AddKubernetesHosting(silo, cluster.ClientConfiguration(token.Status.Token));
                })
                .Build();
            await host.StartAsync();
            try
            {
                // The agent reads its pod and lists the cluster's pods on start, then (this silo is
                // one of the first two) watches them.
                await UntilAsync(() => Task.FromResult(Calls(cluster, user)), calls => calls.Contains(("pods", "watch")), "the hosting to watch the pods");
            }
            finally
            {
                await host.StopAsync();
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("POD_NAME", before.Item1);
            Environment.SetEnvironmentVariable("POD_NAMESPACE", before.Item2);
        }

        var audit = cluster.Audit.Where(r => r.User == user).ToList();
        Assert.Empty(audit.Where(r => !r.Allowed).Select(r => $"{r.Verb} {r.Resource} {r.Path}"));
        Assert.All(audit, r => Assert.Equal(Namespace, r.Namespace));
        var made = Calls(cluster, user);
        Assert.Equal([("pods", "get"), ("pods", "list"), ("pods", "watch")], made.Order());

        // Exactly the pods rule of the chart's Role.
        var granted = RbacTable.Rows(ChartTests.Single(rendered, "Role"), "namespace")
            .Where(r => r.Group == "" && r.Resource == "pods")
            .Select(r => (r.Resource, r.Verb))
            .ToHashSet();
        Assert.Equal(granted.Order(), made.Order());
        Assert.DoesNotContain(RbacTable.Rows(ChartTests.Single(rendered, "ClusterRole"), "cluster"), r => r.Resource == "pods");
    }

    private static HashSet<(string Resource, string Verb)> Calls(DevClusterServer cluster, string user) =>
        cluster.Audit.Where(r => r.User == user && r.IsResourceRequest).Select(r => (r.Resource, r.Verb)).ToHashSet();

    /// <summary>Creates one rendered RBAC object or ServiceAccount with the admin's client.</summary>
    private static async Task CreateAsync(k8s.Kubernetes admin, JsonObject document)
    {
        var json = document.ToJsonString();
        switch (ChartTests.Kind(document))
        {
            case "ServiceAccount":
                await admin.CoreV1.CreateNamespacedServiceAccountAsync(KubernetesJson.Deserialize<V1ServiceAccount>(json), Namespace);
                break;
            case "ClusterRole":
                await admin.RbacAuthorizationV1.CreateClusterRoleAsync(KubernetesJson.Deserialize<V1ClusterRole>(json));
                break;
            case "ClusterRoleBinding":
                await admin.RbacAuthorizationV1.CreateClusterRoleBindingAsync(KubernetesJson.Deserialize<V1ClusterRoleBinding>(json));
                break;
            case "Role":
                await admin.RbacAuthorizationV1.CreateNamespacedRoleAsync(KubernetesJson.Deserialize<V1Role>(json), Namespace);
                break;
            case "RoleBinding":
                await admin.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(KubernetesJson.Deserialize<V1RoleBinding>(json), Namespace);
                break;
            default:
                throw new InvalidOperationException("unexpected rendered kind " + ChartTests.Kind(document));
        }
    }
}
