using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;
using Notary.Adapters.Kubernetes;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Watcher.Tests.Support;
using Xunit.Abstractions;
using Abs = Notary.Grains.Abstractions;

namespace Notary.Watcher.Tests;

/// <summary>
/// The watcher and every Kubernetes adapter work with a ServiceAccount token under exactly the
/// permissions below, and nothing more: the RBAC the chart must grant.
/// </summary>
[Collection(WatcherCollection.Name)]
[Trait("Category", "Slow")]
public sealed class RbacTests(WatcherCluster cluster, ITestOutputHelper output)
{
    /// <summary>Cluster-wide: the resources of every namespace, their status and finalizers, Secrets, Events, workloads to restart.</summary>
    public static readonly V1PolicyRule[] ClusterRules =
    [
        new() { ApiGroups = [NotaryResources.Group], Resources = ["certificates", "keystores", "truststores"], Verbs = ["get", "list", "watch", "patch"] },
        new() { ApiGroups = [NotaryResources.Group], Resources = ["certificates/status", "keystores/status", "truststores/status"], Verbs = ["patch"] },
        new() { ApiGroups = [NotaryResources.Group], Resources = ["breaches"], Verbs = ["get", "list", "watch", "create", "delete", "patch"] },
        new() { ApiGroups = [NotaryResources.Group], Resources = ["breaches/status"], Verbs = ["patch"] },
        new() { ApiGroups = [NotaryResources.Group], Resources = ["certificatepolicies"], Verbs = ["list", "watch"] },
        new() { ApiGroups = [NotaryResources.Group], Resources = ["certificatepolicies/status"], Verbs = ["patch"] },
        new() { ApiGroups = [""], Resources = ["namespaces"], Verbs = ["get"] },
        new() { ApiGroups = [NotaryResources.Group], Resources = ["issuers", "clusterissuers"], Verbs = ["list", "watch"] },
        new() { ApiGroups = [NotaryResources.Group], Resources = ["issuers/status", "clusterissuers/status"], Verbs = ["patch"] },
        new() { ApiGroups = [""], Resources = ["secrets"], Verbs = ["get", "list", "watch", "create", "update", "delete"] },
        new() { ApiGroups = [""], Resources = ["configmaps"], Verbs = ["get", "list", "watch"] },
        new() { ApiGroups = [""], Resources = ["events"], Verbs = ["create", "patch"] },
        new() { ApiGroups = ["apps"], Resources = ["deployments", "statefulsets", "daemonsets"], Verbs = ["list", "patch"] },
    ];

    /// <summary>In Notary's own namespace: the Lease that elects the watcher.</summary>
    public static readonly V1PolicyRule[] NamespaceRules =
    [
        new() { ApiGroups = ["coordination.k8s.io"], Resources = ["leases"], Verbs = ["get", "create", "update"] },
    ];

    [Fact]
    public async Task Everything_works_under_the_least_privileges_Notary_needs()
    {
        var notaryNs = await cluster.NamespaceAsync();
        var ns = await cluster.NamespaceAsync();
        using var client = await ClientForServiceAccountAsync(notaryNs);
        var options = Options.Create(new NotaryKubernetesOptions { Namespace = notaryNs });
        var logs = new CapturingLoggerProvider(output);
        var sink = new RecordingSink();

        // The watcher: Lease, list/watch, finalizers, the CleanedUp Event.
        using var events = new KubernetesEventRecorder(client, options, TimeProvider.System, new LoggerAdapter<KubernetesEventRecorder>(logs.CreateLogger("events")));
        using var watcher = new LeaderElectedWatcher(
            client,
            sink,
            new ResourceFinalizers(client, options, new LoggerAdapter<ResourceFinalizers>(logs.CreateLogger("finalizers"))),
            events,
            Options.Create(WatcherCluster.FastOptions(o => o.LeaseName = "notary-watcher")),
            options,
            TimeProvider.System,
            logs);
        await watcher.StartAsync(CancellationToken.None);
        try
        {
            await cluster.Client.CreateAsync(Resources.Certificate(ns, "api"));
            await sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/api"), "the watcher to forward");
            await cluster.Client.DeleteAsync<Certificate>(ns, "api");
            await sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/api" && x.Action == Support.Action.Delete), "the delete");
            await Resources.EventuallyAsync(() => cluster.Client.GetAsync<Certificate>(ns, "api"), c => c is null, "the finalizer to come off");
            // CertificatePolicies (cluster-scoped) are listed and watched too.
            var policy = "rbac-" + Guid.NewGuid().ToString("N")[..8];
            await cluster.Client.CustomObjects.CreateClusterCustomObjectAsync(
                new CertificatePolicy { Metadata = new V1ObjectMeta { Name = policy }, Spec = new() { DnsNames = ["*.example.com"] } },
                NotaryResources.Group, NotaryResources.Version, CertificatePolicy.KubePluralName);
            await sink.WaitAsync(d => d.Any(x => x.Key == policy && x.Action == Support.Action.PolicyApply), "the policy to be forwarded");
            await new KubernetesCertificatePolicyStatusWriter(client, options).WriteAsync(
                policy, new StatusCondition(Conditions.Ready, Conditions.True, "Applied", "Applied.", DateTimeOffset.UtcNow, 1), 1, CancellationToken.None);
            var written = KubernetesJson.Deserialize<CertificatePolicy>(KubernetesJson.Serialize(
                await cluster.Client.CustomObjects.GetClusterCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, CertificatePolicy.KubePluralName, policy)));
            Assert.Equal("Applied", written.Status?.GetCondition("Ready")?.Reason);
            await cluster.Client.CustomObjects.DeleteClusterCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, CertificatePolicy.KubePluralName, policy);

            // Issuers and ClusterIssuers are listed and watched; their status written; a ca issuer's Secret read.
            await cluster.Client.CreateAsync(new Issuer { Metadata = new V1ObjectMeta { Name = "team-ca", NamespaceProperty = ns }, Spec = new() { Ca = new() { SecretName = "team-ca" } } });
            var clusterIssuer = "rbac-" + Guid.NewGuid().ToString("N")[..8];
            await cluster.Client.CustomObjects.CreateClusterCustomObjectAsync(
                new ClusterIssuer { Metadata = new V1ObjectMeta { Name = clusterIssuer }, Spec = new() { Builtin = new() } },
                NotaryResources.Group, NotaryResources.Version, ClusterIssuer.KubePluralName);
            await sink.WaitAsync(d => d.Any(x => x.Key == $"Issuer/{ns}/team-ca" && x.Action == Support.Action.IssuerApply), "the Issuer to be forwarded");
            await sink.WaitAsync(d => d.Any(x => x.Key == $"ClusterIssuer/{clusterIssuer}" && x.Action == Support.Action.IssuerApply), "the ClusterIssuer to be forwarded");
            var issuerStatus = new KubernetesIssuerStatusWriter(client, options);
            await issuerStatus.WriteIssuerStatusAsync(IssuerKeys.Namespaced(ns, "team-ca"), new IssuerStatus { Type = "ca" }, CancellationToken.None);
            await issuerStatus.WriteIssuerStatusAsync(IssuerKeys.Cluster(clusterIssuer), new IssuerStatus { Type = "builtin" }, CancellationToken.None);
            Assert.Equal(CaSecretOutcome.SecretMissing, (await new KubernetesCaSecretReader(client, options).ReadAsync(ns, "team-ca", CancellationToken.None)).Outcome);
            await cluster.Client.CustomObjects.DeleteClusterCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ClusterIssuer.KubePluralName, clusterIssuer);
        }
        finally
        {
            await watcher.StopAsync(CancellationToken.None);
        }

        // The adapters the grains use.
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "web"));
        var key = new ResourceKey(ns, "web");
        await new KubernetesStatusWriter(client, options, new LoggerAdapter<KubernetesStatusWriter>(logs.CreateLogger("status")))
            .WriteCertificateStatusAsync(key, new Abs.CertificateStatus { Revision = 1, ObservedGeneration = 1 }, CancellationToken.None);
        await events.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, "Issued", "Issued.", CancellationToken.None);
        await events.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, "Issued", "Issued.", CancellationToken.None);
        var store = new KubernetesSecretStore(client, options, new LoggerAdapter<KubernetesSecretStore>(logs.CreateLogger("store")));
        var write = new StoreWrite(key, ResourceKind.Keystore, "web.shop", "keystore.p12", new Dictionary<string, byte[]> { ["keystore.p12"] = [1, 2, 3] });
        await store.PutAsync(write, CancellationToken.None);
        await store.PutAsync(write, CancellationToken.None);
        Assert.True(await store.DeleteAsync(key, ResourceKind.Keystore, CancellationToken.None));
        Assert.False((await new KubernetesMetadataSource(client).ReadAsync(ns, "notary-metadata", CancellationToken.None)).SecretExists);
        using var ca = new KubernetesCertificateAuthoritySource(client, options, TimeProvider.System, new LoggerAdapter<KubernetesCertificateAuthoritySource>(logs.CreateLogger("ca")));
        await ca.GetAsync(CancellationToken.None);
        await cluster.Client.AppsV1.CreateNamespacedDeploymentAsync(Resources.Deployment(ns, "web", secretName: "web"), ns);
        var workloads = new KubernetesWorkloads(client, events, options, new LoggerAdapter<KubernetesWorkloads>(logs.CreateLogger("workloads")));
        var web = Assert.Single(await workloads.FindAsync(ns, ["web"], CancellationToken.None));
        Assert.NotNull(await workloads.ReadAsync(web.Workload, CancellationToken.None));
        Assert.True(await workloads.RestartAsync(web.Workload, DateTimeOffset.UtcNow, web.Secrets, ["breach"], CancellationToken.None));
        var labels = new KubernetesNamespaceLabels(client, TimeProvider.System);
        Assert.Equal(ns, (await labels.GetLabelsAsync(ns, CancellationToken.None))?["kubernetes.io/metadata.name"]);
        Assert.Null(await labels.GetLabelsAsync("no-such-" + Guid.NewGuid().ToString("N")[..8], CancellationToken.None));

        Assert.Equal(1L, (await cluster.Client.GetAsync<Certificate>(ns, "web"))!.Status!.Revision);
        Assert.Equal(2L, (await cluster.Client.AppsV1.ReadNamespacedDeploymentAsync("web", ns)).Metadata.Generation);
        Assert.DoesNotContain(logs.Lines, line => line.Message.Contains("Forbidden", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_the_permission_a_failure_names_what_is_missing_and_leaks_no_Secret_data()
    {
        var notaryNs = await cluster.NamespaceAsync();
        using var client = await ClientForServiceAccountAsync(notaryNs, withSecrets: false);
        var store = new KubernetesSecretStore(client, Options.Create(new NotaryKubernetesOptions()), new LoggerAdapter<KubernetesSecretStore>(new CapturingLoggerProvider(output).CreateLogger("store")));
        var write = new StoreWrite(new ResourceKey(notaryNs, "web"), ResourceKind.Keystore, "web.shop", "keystore.p12",
            new Dictionary<string, byte[]> { ["keystore.p12"] = Encoding.UTF8.GetBytes("PRIVATE-KEY-MATERIAL") });

        var error = await Assert.ThrowsAsync<KubernetesApiException>(() => store.PutAsync(write, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, error.StatusCode);
        Assert.Contains("secrets", error.Message, StringComparison.Ordinal);
        Assert.Null(error.InnerException);
        Assert.DoesNotContain("PRIVATE-KEY-MATERIAL", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes("PRIVATE-KEY-MATERIAL")), error.ToString(), StringComparison.Ordinal);
    }

    private async Task<IKubernetes> ClientForServiceAccountAsync(string notaryNs, bool withSecrets = true)
    {
        var name = "notary-" + Guid.NewGuid().ToString("N")[..8];
        var admin = cluster.Client;
        await admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "notary" } }, notaryNs);
        var subject = new Rbacv1Subject { Kind = "ServiceAccount", Name = "notary", NamespaceProperty = notaryNs };
        await admin.RbacAuthorizationV1.CreateClusterRoleAsync(new V1ClusterRole
        {
            Metadata = new V1ObjectMeta { Name = name },
            Rules = [.. ClusterRules.Where(rule => withSecrets || !rule.Resources.Contains("secrets"))],
        });
        await admin.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new V1ObjectMeta { Name = name },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = name },
            Subjects = [subject],
        });
        await admin.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role { Metadata = new V1ObjectMeta { Name = "notary" }, Rules = NamespaceRules }, notaryNs);
        await admin.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "notary" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "notary" },
            Subjects = [subject],
        }, notaryNs);
        var token = await admin.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { ExpirationSeconds = 3600 } }, "notary", notaryNs);

        var client = new k8s.Kubernetes(cluster.Server.ClientConfiguration(token.Status.Token));
        var denied = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ListNamespaceAsync());
        Assert.Equal(HttpStatusCode.Forbidden, denied.Response.StatusCode);
        return client;
    }
}
