using System.Globalization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Notary.CustomResources;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>
/// The Kubernetes side of workload restarts: which workloads use a Secret, and the patch that
/// rolls one (with its Event). The rate limit, coalescing and deferral are the restart grain's:
/// tests/Grains.Tests/WorkloadRestartTests.cs.
/// </summary>
[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class WorkloadRestarterTests(ClusterFixture cluster)
{
    private const string Secret = "api-tls";
    private static readonly DateTimeOffset Start = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private KubernetesWorkloads Workloads(TimeProvider? time = null, IKubernetes? client = null) => new(
        client ?? cluster.Client,
        new KubernetesEventRecorder(client ?? cluster.Client, ClusterFixture.Options(), time ?? TimeProvider.System, ClusterFixture.Log<KubernetesEventRecorder>()),
        ClusterFixture.Options(),
        ClusterFixture.Log<KubernetesWorkloads>());

    /// <summary>Every way a pod template can use a Secret, and ways that only look alike.</summary>
    public static TheoryData<string, Action<V1PodSpec>, bool> Uses => new()
    {
        { "volume", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }], true },
        { "projected", s => s.Volumes = [new() { Name = "tls", Projected = new() { Sources = [new() { ConfigMap = new() { Name = "other" } }, new() { Secret = new() { Name = Secret } }] } }], true },
        { "env", s => s.Containers[0].Env = [new() { Name = "PASSWORD", ValueFrom = new() { SecretKeyRef = new() { Name = Secret, Key = "password" } } }], true },
        { "init-env", s => s.InitContainers = [Container("init", env: [new() { Name = "PASSWORD", ValueFrom = new() { SecretKeyRef = new() { Name = Secret, Key = "password" } } }])], true },
        { "envfrom", s => s.Containers[0].EnvFrom = [new() { SecretRef = new() { Name = Secret } }], true },
        { "init-envfrom", s => s.InitContainers = [Container("init", envFrom: [new() { SecretRef = new() { Name = Secret } }])], true },
        { "other-secret", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = "api-tls-old" } }], false },
        { "configmap-volume", s => s.Volumes = [new() { Name = "tls", ConfigMap = new() { Name = Secret } }], false },
        { "configmap-projected", s => s.Volumes = [new() { Name = "tls", Projected = new() { Sources = [new() { ConfigMap = new() { Name = Secret } }] } }], false },
        { "configmap-env", s => s.Containers[0].Env = [new() { Name = "X", ValueFrom = new() { ConfigMapKeyRef = new() { Name = Secret, Key = "x" } } }], false },
        { "configmap-envfrom", s => s.Containers[0].EnvFrom = [new() { ConfigMapRef = new() { Name = Secret } }], false },
        { "nothing", _ => { }, false },
    };

    [Fact]
    public async Task Every_way_of_using_the_Secret_is_found_and_nothing_else()
    {
        var ns = await cluster.NamespaceAsync();
        var expected = new List<WorkloadRef>();
        foreach (var row in Uses)
        {
            var (name, use, uses) = ((string)row[0], (Action<V1PodSpec>)row[1], (bool)row[2]);
            await CreateAsync(ns, WorkloadKinds.Deployment, name, use);
            if (uses)
            {
                expected.Add(new WorkloadRef(ns, WorkloadKinds.Deployment, name));
            }
        }

        await CreateAsync(ns, WorkloadKinds.StatefulSet, "db", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }, new() { Name = "other", Secret = new() { SecretName = "db-password" } }]);
        await CreateAsync(ns, WorkloadKinds.DaemonSet, "agent", s => s.Containers[0].EnvFrom = [new() { SecretRef = new() { Name = Secret } }]);
        await CreateAsync(ns, WorkloadKinds.DaemonSet, "agent-cm", s => s.Containers[0].EnvFrom = [new() { ConfigMapRef = new() { Name = Secret } }]);
        expected.Add(new WorkloadRef(ns, WorkloadKinds.StatefulSet, "db"));
        expected.Add(new WorkloadRef(ns, WorkloadKinds.DaemonSet, "agent"));

        // The same Secret name in another namespace is another Secret.
        var elsewhere = await cluster.NamespaceAsync();
        await CreateAsync(elsewhere, WorkloadKinds.Deployment, "volume", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);

        var workloads = Workloads();
        var found = await workloads.FindAsync(ns, [Secret, "not-used-by-anyone"], CancellationToken.None);

        Assert.Equal(expected.OrderBy(w => w.ToString(), StringComparer.Ordinal), found.Select(w => w.Workload).OrderBy(w => w.ToString(), StringComparer.Ordinal));
        Assert.All(found, w => Assert.Equal([Secret], w.Secrets));
        Assert.All(found, w => Assert.Null(w.RestartedAt));
        Assert.Empty(await workloads.FindAsync(ns, ["not-used-by-anyone"], CancellationToken.None));
        Assert.Empty(await workloads.FindAsync(ns, [], CancellationToken.None));

        // Read one by one: every Secret it uses.
        var db = await workloads.ReadAsync(new WorkloadRef(ns, WorkloadKinds.StatefulSet, "db"), CancellationToken.None);
        Assert.Equal(["api-tls", "db-password"], db!.Secrets);
    }

    [Theory]
    [MemberData(nameof(Uses))]
    public void Secrets_used_by_a_pod_spec(string way, Action<V1PodSpec> use, bool uses)
    {
        var spec = new V1PodSpec { Containers = [Container("app")] };
        use(spec);

        Assert.True(uses == KubernetesWorkloads.SecretsUsedBy(spec).Contains(Secret), way);
    }

    [Theory]
    [InlineData(WorkloadKinds.Deployment)]
    [InlineData(WorkloadKinds.StatefulSet)]
    [InlineData(WorkloadKinds.DaemonSet)]
    public async Task A_restart_annotates_the_pod_template_bumps_the_generation_and_records_an_Event(string kind)
    {
        var ns = await cluster.NamespaceAsync();
        await CreateAsync(ns, kind, "api", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }], templateAnnotations: new() { ["prometheus.io/scrape"] = "true" });
        await CreateAsync(ns, kind, "bystander", _ => { });
        var workloads = Workloads(new FakeTimeProvider(Start));

        // The time is cut to whole seconds, as kubectl rollout restart writes its own annotation.
        var restarted = await workloads.RestartAsync(new WorkloadRef(ns, kind, "api"), Start.AddMilliseconds(750), [Secret], ["Keystore shop/api was rebuilt (renewal)"], CancellationToken.None);

        Assert.True(restarted);
        var (metadata, template) = await ReadAsync(ns, kind, "api");
        Assert.Equal("2031-05-06T07:08:09Z", template.Annotations[KubernetesWorkloads.RestartedAtAnnotation]);
        Assert.Equal("true", template.Annotations["prometheus.io/scrape"]);
        Assert.Equal(2, metadata.Generation);
        Assert.Equal(1, (await ReadAsync(ns, kind, "bystander")).Metadata.Generation);

        var recorded = Assert.Single((await cluster.Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.uid={metadata.Uid}")).Items);
        Assert.Equal(("Normal", "Restarted", "apps/v1", kind, "api"), (recorded.Type, recorded.Reason, recorded.InvolvedObject.ApiVersion, recorded.InvolvedObject.Kind, recorded.InvolvedObject.Name));
        Assert.Contains("Keystore shop/api was rebuilt (renewal)", recorded.Message, StringComparison.Ordinal);
        Assert.Contains($"Secret {Secret}", recorded.Message, StringComparison.Ordinal);

        // What the grain reads back: the restart, to the second.
        var read = await workloads.ReadAsync(new WorkloadRef(ns, kind, "api"), CancellationToken.None);
        Assert.Equal(Start, read!.RestartedAt);
    }

    [Fact]
    public async Task The_Event_names_every_coalesced_Secret_and_reason_and_says_when_the_pods_roll_later()
    {
        var ns = await cluster.NamespaceAsync();
        await CreateAsync(ns, WorkloadKinds.Deployment, "api", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);
        await cluster.Client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("""{"spec":{"paused":true}}""", V1Patch.PatchType.MergePatch), "api", ns);

        Assert.True(await Workloads().RestartAsync(new WorkloadRef(ns, WorkloadKinds.Deployment, "api"), Start, ["api-keystore", "api-truststore"], ["keystore rebuilt", "truststore rebuilt"], CancellationToken.None));

        var recorded = Assert.Single((await cluster.Client.CoreV1.ListNamespacedEventAsync(ns)).Items, e => e.Reason == KubernetesWorkloads.RestartedReason);
        Assert.Contains("Secret api-keystore, api-truststore changed: keystore rebuilt; truststore rebuilt", recorded.Message, StringComparison.Ordinal);
        Assert.Contains("the Deployment is paused", recorded.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_opted_in_workloads_restart_on_renewal_and_all_of_them_on_a_breach()
    {
        // The adapter says who opted in; the restarter in the grains restarts only those on renewal.
        var ns = await cluster.NamespaceAsync();
        void Mount(V1PodSpec s) => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }];
        var reload = new Dictionary<string, string> { [KubernetesWorkloads.ReloadAnnotation] = "true" };
        await CreateAsync(ns, WorkloadKinds.Deployment, "on-workload", Mount, annotations: reload);
        await CreateAsync(ns, WorkloadKinds.StatefulSet, "on-template", Mount, templateAnnotations: reload);
        await CreateAsync(ns, WorkloadKinds.Deployment, "said-false", Mount, annotations: new() { [KubernetesWorkloads.ReloadAnnotation] = "false" });
        await CreateAsync(ns, WorkloadKinds.DaemonSet, "silent", Mount);
        var workloads = Workloads();

        var found = await workloads.FindAsync(ns, [Secret], CancellationToken.None);

        Assert.Equal(4, found.Count);
        Assert.Equal(["on-template", "on-workload"], found.Where(w => w.OptedIn).Select(w => w.Workload.Name).Order(StringComparer.Ordinal));
        Assert.True((await workloads.ReadAsync(new WorkloadRef(ns, WorkloadKinds.StatefulSet, "on-template"), CancellationToken.None))!.OptedIn);
        Assert.False((await workloads.ReadAsync(new WorkloadRef(ns, WorkloadKinds.Deployment, "said-false"), CancellationToken.None))!.OptedIn);
    }

    [Fact]
    public async Task The_last_restart_is_read_from_the_annotation_whoever_wrote_it()
    {
        var ns = await cluster.NamespaceAsync();
        await CreateAsync(ns, WorkloadKinds.Deployment, "api", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);
        var api = new WorkloadRef(ns, WorkloadKinds.Deployment, "api");
        var workloads = Workloads();

        await workloads.RestartAsync(api, Start, [Secret], ["first"], CancellationToken.None);
        Assert.Equal(Start, Assert.Single(await workloads.FindAsync(ns, [Secret], CancellationToken.None)).RestartedAt);

        // Someone else restarts it (another Notary instance, by hand).
        var later = Start.AddSeconds(10);
        await cluster.Client.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch(
                """{"spec":{"template":{"metadata":{"annotations":{"notary.dev/restartedAt":"STAMP"}}}}}""".Replace("STAMP", Stamp(later), StringComparison.Ordinal),
                V1Patch.PatchType.MergePatch), "api", ns);

        Assert.Equal(later, (await workloads.ReadAsync(api, CancellationToken.None))!.RestartedAt);

        // An annotation Notary cannot read counts as none.
        await cluster.Client.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch("""{"spec":{"template":{"metadata":{"annotations":{"notary.dev/restartedAt":"yesterday"}}}}}""", V1Patch.PatchType.MergePatch), "api", ns);
        Assert.Null((await workloads.ReadAsync(api, CancellationToken.None))!.RestartedAt);
    }

    [Fact]
    public async Task A_namespace_without_workloads_has_nothing_to_restart()
    {
        var ns = await cluster.NamespaceAsync();
        var workloads = Workloads();
        var gone = new WorkloadRef(ns, WorkloadKinds.Deployment, "gone");

        Assert.Empty(await workloads.FindAsync(ns, [Secret], CancellationToken.None));
        Assert.Null(await workloads.ReadAsync(gone, CancellationToken.None));
        Assert.False(await workloads.RestartAsync(gone, Start, [Secret], ["breach"], CancellationToken.None));
        Assert.Empty((await cluster.Client.CoreV1.ListNamespacedEventAsync(ns)).Items);
    }

    [Fact]
    public async Task A_refused_patch_is_thrown_naming_the_workload_without_the_request()
    {
        var ns = await cluster.NamespaceAsync();
        using var client = await RbacClientAsync(ns, [new() { ApiGroups = ["apps"], Resources = ["deployments", "statefulsets", "daemonsets"], Verbs = ["list"] },
            new() { ApiGroups = ["apps"], Resources = ["statefulsets"], Verbs = ["patch"] }, EventsRule]);
        await CreateAsync(ns, WorkloadKinds.Deployment, "api", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);
        await CreateAsync(ns, WorkloadKinds.StatefulSet, "db", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);
        var workloads = Workloads(client: client);

        var error = await Assert.ThrowsAsync<KubernetesApiException>(() => workloads.RestartAsync(new WorkloadRef(ns, WorkloadKinds.Deployment, "api"), Start, [Secret], ["breach"], CancellationToken.None));

        Assert.Equal(System.Net.HttpStatusCode.Forbidden, error.StatusCode);
        Assert.Contains($"Deployment {ns}/api", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error.Message, StringComparison.Ordinal);
        Assert.Null(error.InnerException);
        Assert.Equal(1L, (await ReadAsync(ns, WorkloadKinds.Deployment, "api")).Metadata.Generation);
        Assert.True(await workloads.RestartAsync(new WorkloadRef(ns, WorkloadKinds.StatefulSet, "db"), Start, [Secret], ["breach"], CancellationToken.None));
        Assert.Equal(2L, (await ReadAsync(ns, WorkloadKinds.StatefulSet, "db")).Metadata.Generation);
    }

    /// <summary>The RBAC rows of src/Kubernetes/README.md the restarter needs, and no more.</summary>
    public static readonly V1PolicyRule[] RestarterRules =
    [
        new() { ApiGroups = ["apps"], Resources = ["deployments", "statefulsets", "daemonsets"], Verbs = ["list", "patch"] },
        EventsRule,
    ];

    private static V1PolicyRule EventsRule => new() { ApiGroups = [""], Resources = ["events"], Verbs = ["create", "patch"] };

    [Fact]
    public async Task The_restarter_works_under_exactly_the_RBAC_rules_of_the_README()
    {
        var ns = await cluster.NamespaceAsync();
        using var client = await RbacClientAsync(ns, RestarterRules);
        foreach (var kind in WorkloadKinds.All)
        {
            await CreateAsync(ns, kind, "api", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);
        }

        var workloads = Workloads(client: client);

        Assert.Equal(3, (await workloads.FindAsync(ns, [Secret], CancellationToken.None)).Count);
        foreach (var kind in WorkloadKinds.All)
        {
            var workload = new WorkloadRef(ns, kind, "api");
            Assert.NotNull(await workloads.ReadAsync(workload, CancellationToken.None));
            Assert.True(await workloads.RestartAsync(workload, Start, [Secret], ["breach"], CancellationToken.None));
            Assert.True(await workloads.RestartAsync(workload, Start.AddMinutes(1), [Secret], ["breach again"], CancellationToken.None));
            Assert.Equal(3L, (await ReadAsync(ns, kind, "api")).Metadata.Generation);
        }

        // One Event per restart.
        var events = (await cluster.Client.CoreV1.ListNamespacedEventAsync(ns)).Items;
        Assert.Equal(3, events.Count(e => e.Reason == KubernetesWorkloads.RestartedReason && e.Message.Contains("breach again", StringComparison.Ordinal)));
        Assert.Equal(6, events.Count(e => e.Reason == KubernetesWorkloads.RestartedReason));
    }

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static V1Container Container(string name, List<V1EnvVar>? env = null, List<V1EnvFromSource>? envFrom = null) =>
        new() { Name = name, Image = "registry.example/app:1", Env = env, EnvFrom = envFrom };

    private async Task CreateAsync(string ns, string kind, string name, Action<V1PodSpec> use, Dictionary<string, string>? annotations = null, Dictionary<string, string>? templateAnnotations = null)
    {
        var labels = new Dictionary<string, string> { ["app"] = name };
        var spec = new V1PodSpec { Containers = [Container("app")] };
        use(spec);
        var template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = labels, Annotations = templateAnnotations }, Spec = spec };
        var metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Annotations = annotations };
        var selector = new V1LabelSelector { MatchLabels = labels };
        switch (kind)
        {
            case WorkloadKinds.Deployment:
                await cluster.Client.AppsV1.CreateNamespacedDeploymentAsync(new V1Deployment { Metadata = metadata, Spec = new V1DeploymentSpec { Selector = selector, Template = template } }, ns);
                break;
            case WorkloadKinds.StatefulSet:
                await cluster.Client.AppsV1.CreateNamespacedStatefulSetAsync(new V1StatefulSet { Metadata = metadata, Spec = new V1StatefulSetSpec { Selector = selector, Template = template, ServiceName = name } }, ns);
                break;
            default:
                await cluster.Client.AppsV1.CreateNamespacedDaemonSetAsync(new V1DaemonSet { Metadata = metadata, Spec = new V1DaemonSetSpec { Selector = selector, Template = template } }, ns);
                break;
        }
    }

    private async Task<(V1ObjectMeta Metadata, V1ObjectMeta Template)> ReadAsync(string ns, string kind, string name)
    {
        switch (kind)
        {
            case WorkloadKinds.Deployment:
                var deployment = await cluster.Client.AppsV1.ReadNamespacedDeploymentAsync(name, ns);
                return (deployment.Metadata, deployment.Spec.Template.Metadata);
            case WorkloadKinds.StatefulSet:
                var statefulSet = await cluster.Client.AppsV1.ReadNamespacedStatefulSetAsync(name, ns);
                return (statefulSet.Metadata, statefulSet.Spec.Template.Metadata);
            default:
                var daemonSet = await cluster.Client.AppsV1.ReadNamespacedDaemonSetAsync(name, ns);
                return (daemonSet.Metadata, daemonSet.Spec.Template.Metadata);
        }
    }

    /// <summary>A client authenticated as a ServiceAccount bound (in <paramref name="ns"/>) to exactly <paramref name="rules"/>.</summary>
    private async Task<k8s.Kubernetes> RbacClientAsync(string ns, V1PolicyRule[] rules)
    {
        var admin = cluster.Client;
        await admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "notary" } }, ns);
        await admin.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role { Metadata = new V1ObjectMeta { Name = "restarter" }, Rules = rules }, ns);
        await admin.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "restarter" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "restarter" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "notary", NamespaceProperty = ns }],
        }, ns);
        var token = await admin.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { ExpirationSeconds = 3600 } }, "notary", ns);
        var client = new k8s.Kubernetes(cluster.Server.ClientConfiguration(token.Status.Token));

        // Not an admin: reading a single Deployment (get) is not among the rules.
        var denied = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => client.AppsV1.ReadNamespacedDeploymentAsync("api", ns));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, denied.Response.StatusCode);
        return client;
    }
}
