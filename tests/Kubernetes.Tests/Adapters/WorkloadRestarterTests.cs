using System.Collections.Concurrent;
using System.Globalization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Kubernetes.Tests.Adapters;

[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class WorkloadRestarterTests(ClusterFixture cluster)
{
    private const string Secret = "api-tls";
    private static readonly DateTimeOffset Start = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private KubernetesWorkloadRestarter Restarter(TimeProvider time, TimeSpan? interval = null, ILogger<KubernetesWorkloadRestarter>? logger = null, IKubernetes? client = null) => new(
        client ?? cluster.Client,
        new KubernetesEventRecorder(client ?? cluster.Client, ClusterFixture.Options(), time, ClusterFixture.Log<KubernetesEventRecorder>()),
        Microsoft.Extensions.Options.Options.Create(new NotaryRestartOptions { MinRestartInterval = interval ?? TimeSpan.FromMinutes(1) }),
        ClusterFixture.Options(),
        time,
        logger ?? ClusterFixture.Log<KubernetesWorkloadRestarter>());

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

        await CreateAsync(ns, WorkloadKinds.StatefulSet, "db", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);
        await CreateAsync(ns, WorkloadKinds.DaemonSet, "agent", s => s.Containers[0].EnvFrom = [new() { SecretRef = new() { Name = Secret } }]);
        await CreateAsync(ns, WorkloadKinds.DaemonSet, "agent-cm", s => s.Containers[0].EnvFrom = [new() { ConfigMapRef = new() { Name = Secret } }]);
        expected.Add(new WorkloadRef(ns, WorkloadKinds.StatefulSet, "db"));
        expected.Add(new WorkloadRef(ns, WorkloadKinds.DaemonSet, "agent"));

        // The same Secret name in another namespace is another Secret.
        var elsewhere = await cluster.NamespaceAsync();
        await CreateAsync(elsewhere, WorkloadKinds.Deployment, "volume", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);

        using var restarter = Restarter(TimeProvider.System);
        var found = await restarter.FindAsync(ns, [Secret, "not-used-by-anyone"], CancellationToken.None);

        Assert.Equal(expected.OrderBy(w => w.ToString(), StringComparer.Ordinal), found.OrderBy(w => w.ToString(), StringComparer.Ordinal));
        Assert.Empty(await restarter.FindAsync(ns, ["not-used-by-anyone"], CancellationToken.None));
        Assert.Empty(await restarter.FindAsync(ns, [], CancellationToken.None));
    }

    [Theory]
    [MemberData(nameof(Uses))]
    public void Secrets_used_by_a_pod_spec(string way, Action<V1PodSpec> use, bool uses)
    {
        var spec = new V1PodSpec { Containers = [Container("app")] };
        use(spec);

        Assert.True(uses == KubernetesWorkloadRestarter.SecretsUsedBy(spec).Contains(Secret), way);
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
        var time = new FakeTimeProvider(Start);
        using var restarter = Restarter(time);

        var restarted = await restarter.RestartAsync(ns, [Secret], onlyOptedIn: false, "Keystore shop/api was rebuilt (renewal)", CancellationToken.None);

        Assert.Equal([new WorkloadRestart(new WorkloadRef(ns, kind, "api"))], restarted);
        var (metadata, template) = await ReadAsync(ns, kind, "api");
        Assert.Equal("2031-05-06T07:08:09Z", template.Annotations[KubernetesWorkloadRestarter.RestartedAtAnnotation]);
        Assert.Equal("true", template.Annotations["prometheus.io/scrape"]);
        Assert.Equal(2, metadata.Generation);
        Assert.Equal(1, (await ReadAsync(ns, kind, "bystander")).Metadata.Generation);

        var recorded = Assert.Single((await cluster.Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.uid={metadata.Uid}")).Items);
        Assert.Equal(("Normal", "Restarted", "apps/v1", kind, "api"), (recorded.Type, recorded.Reason, recorded.InvolvedObject.ApiVersion, recorded.InvolvedObject.Kind, recorded.InvolvedObject.Name));
        Assert.Contains("Keystore shop/api was rebuilt (renewal)", recorded.Message, StringComparison.Ordinal);
        Assert.Contains($"Secret {Secret}", recorded.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_opted_in_workloads_restart_on_renewal_and_all_of_them_on_a_breach()
    {
        var ns = await cluster.NamespaceAsync();
        void Mount(V1PodSpec s) => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }];
        var reload = new Dictionary<string, string> { [KubernetesWorkloadRestarter.ReloadAnnotation] = "true" };
        await CreateAsync(ns, WorkloadKinds.Deployment, "on-workload", Mount, annotations: reload);
        await CreateAsync(ns, WorkloadKinds.StatefulSet, "on-template", Mount, templateAnnotations: reload);
        await CreateAsync(ns, WorkloadKinds.Deployment, "said-false", Mount, annotations: new() { [KubernetesWorkloadRestarter.ReloadAnnotation] = "false" });
        await CreateAsync(ns, WorkloadKinds.DaemonSet, "silent", Mount);
        using var restarter = Restarter(new FakeTimeProvider(Start));

        var renewed = await restarter.RestartAsync(ns, [Secret], onlyOptedIn: true, "renewal", CancellationToken.None);

        Assert.Equal(["on-template", "on-workload"], renewed.Select(w => w.Workload.Name).Order(StringComparer.Ordinal));
        Assert.Equal(2, (await ReadAsync(ns, WorkloadKinds.Deployment, "on-workload")).Metadata.Generation);
        Assert.Equal(2, (await ReadAsync(ns, WorkloadKinds.StatefulSet, "on-template")).Metadata.Generation);
        Assert.Equal(1, (await ReadAsync(ns, WorkloadKinds.Deployment, "said-false")).Metadata.Generation);
        Assert.Equal(1, (await ReadAsync(ns, WorkloadKinds.DaemonSet, "silent")).Metadata.Generation);

        var breach = await restarter.RestartAsync(ns, [Secret], onlyOptedIn: false, "breach", CancellationToken.None);

        Assert.Equal(4, breach.Count);
        Assert.Equal(2, (await ReadAsync(ns, WorkloadKinds.Deployment, "said-false")).Metadata.Generation);
        Assert.Equal(2, (await ReadAsync(ns, WorkloadKinds.DaemonSet, "silent")).Metadata.Generation);
    }

    [Fact]
    public async Task Restarts_asked_for_within_the_interval_are_coalesced_into_one_at_its_end()
    {
        var ns = await cluster.NamespaceAsync();
        await CreateAsync(ns, WorkloadKinds.Deployment, "api", s => s.Volumes =
        [
            new() { Name = "keystore", Secret = new() { SecretName = "api-keystore" } },
            new() { Name = "truststore", Secret = new() { SecretName = "api-truststore" } },
        ]);
        var time = new FakeTimeProvider(Start);
        using var restarter = Restarter(time, TimeSpan.FromMinutes(1));
        var api = new WorkloadRef(ns, WorkloadKinds.Deployment, "api");

        // The first restarts now; the others are accepted and say when the one coalesced restart happens.
        var end = Start + TimeSpan.FromMinutes(1);
        Assert.Equal([new WorkloadRestart(api)], await restarter.RestartAsync(ns, ["api-keystore"], false, "keystore rebuilt", CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal([new WorkloadRestart(api, end)], await restarter.RestartAsync(ns, ["api-truststore"], false, "truststore rebuilt", CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal([new WorkloadRestart(api, end)], await restarter.RestartAsync(ns, ["api-truststore"], false, "truststore rebuilt", CancellationToken.None));

        // Within the interval: still the first restart only.
        var (metadata, template) = await ReadAsync(ns, WorkloadKinds.Deployment, "api");
        Assert.Equal((2L, "2031-05-06T07:08:09Z"), (metadata.Generation!.Value, template.Annotations[KubernetesWorkloadRestarter.RestartedAtAnnotation]));

        // At the end of the interval, one restart for both requests.
        time.Advance(TimeSpan.FromSeconds(39));
        Assert.Equal(2L, (await ReadAsync(ns, WorkloadKinds.Deployment, "api")).Metadata.Generation);
        time.Advance(TimeSpan.FromSeconds(1));
        var after = await EventuallyAsync(() => ReadAsync(ns, WorkloadKinds.Deployment, "api"), w => w.Metadata.Generation == 3, "the deferred restart");
        Assert.Equal("2031-05-06T07:09:09Z", after.Template.Annotations[KubernetesWorkloadRestarter.RestartedAtAnnotation]);

        var events = (await cluster.Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.uid={metadata.Uid}")).Items;
        Assert.Equal(2, events.Count);
        var coalesced = Assert.Single(events, e => e.Message.Contains("07:09:09Z", StringComparison.Ordinal));
        Assert.Contains("Secret api-truststore changed: truststore rebuilt", coalesced.Message, StringComparison.Ordinal);

        // The window starts again from the deferred restart.
        time.Advance(TimeSpan.FromSeconds(30));
        await restarter.RestartAsync(ns, ["api-keystore"], false, "again", CancellationToken.None);
        Assert.Equal(3L, (await ReadAsync(ns, WorkloadKinds.Deployment, "api")).Metadata.Generation);
        time.Advance(TimeSpan.FromSeconds(30));
        await EventuallyAsync(() => ReadAsync(ns, WorkloadKinds.Deployment, "api"), w => w.Metadata.Generation == 4, "the next deferred restart");
    }

    [Fact]
    public async Task The_interval_is_read_from_the_annotation_so_another_instance_respects_it_and_a_restart_since_makes_the_deferred_one_unneeded()
    {
        var ns = await cluster.NamespaceAsync();
        await CreateAsync(ns, WorkloadKinds.Deployment, "api", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);
        var time = new FakeTimeProvider(Start);
        var logs = new ListLogger<KubernetesWorkloadRestarter>();
        using var first = Restarter(time);
        using var second = Restarter(time, logger: logs);

        await first.RestartAsync(ns, [Secret], false, "first", CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(5));
        await second.RestartAsync(ns, [Secret], false, "second", CancellationToken.None);
        Assert.Equal(2L, (await ReadAsync(ns, WorkloadKinds.Deployment, "api")).Metadata.Generation);

        // Someone restarts it after the second request (a third instance whose window had ended, say).
        time.Advance(TimeSpan.FromSeconds(5));
        await cluster.Client.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch(
                """{"spec":{"template":{"metadata":{"annotations":{"notary.dev/restartedAt":"STAMP"}}}}}""".Replace("STAMP", Stamp(time.GetUtcNow()), StringComparison.Ordinal),
                V1Patch.PatchType.MergePatch), "api", ns);
        time.Advance(TimeSpan.FromSeconds(50));

        await EventuallyAsync(() => Task.FromResult(logs.Lines), lines => lines.Any(l => l.Contains("is not needed", StringComparison.Ordinal)), "the deferred restart to be dropped");
        Assert.Equal(3L, (await ReadAsync(ns, WorkloadKinds.Deployment, "api")).Metadata.Generation);
    }

    [Fact]
    public async Task A_namespace_without_workloads_has_nothing_to_restart()
    {
        var ns = await cluster.NamespaceAsync();
        using var restarter = Restarter(new FakeTimeProvider(Start));

        Assert.Empty(await restarter.FindAsync(ns, [Secret], CancellationToken.None));
        Assert.Empty(await restarter.RestartAsync(ns, [Secret], onlyOptedIn: false, "breach", CancellationToken.None));
    }

    [Fact]
    public async Task A_workload_that_cannot_be_patched_does_not_stop_the_others()
    {
        var ns = await cluster.NamespaceAsync();
        using var client = await RbacClientAsync(ns, [new() { ApiGroups = ["apps"], Resources = ["deployments", "statefulsets", "daemonsets"], Verbs = ["list"] },
            new() { ApiGroups = ["apps"], Resources = ["statefulsets"], Verbs = ["patch"] }, EventsRule]);
        await CreateAsync(ns, WorkloadKinds.Deployment, "api", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);
        await CreateAsync(ns, WorkloadKinds.StatefulSet, "db", s => s.Volumes = [new() { Name = "tls", Secret = new() { SecretName = Secret } }]);
        var time = new FakeTimeProvider(Start);
        using var restarter = Restarter(time, client: client);

        var error = await Assert.ThrowsAsync<KubernetesApiException>(() => restarter.RestartAsync(ns, [Secret], false, "breach", CancellationToken.None));

        Assert.Equal(System.Net.HttpStatusCode.Forbidden, error.StatusCode);
        Assert.Contains($"Deployment {ns}/api", error.Message, StringComparison.Ordinal);
        Assert.Equal(2L, (await ReadAsync(ns, WorkloadKinds.StatefulSet, "db")).Metadata.Generation);

        // The failed one was not counted as restarted: a retry restarts it at once rather than at the end of the interval.
        await cluster.Client.RbacAuthorizationV1.PatchNamespacedRoleAsync(
            new V1Patch("""{"rules":[{"apiGroups":["apps"],"resources":["deployments","statefulsets","daemonsets"],"verbs":["list","patch"]},{"apiGroups":[""],"resources":["events"],"verbs":["create","patch"]}]}""", V1Patch.PatchType.MergePatch), "restarter", ns);
        await restarter.RestartAsync(ns, [Secret], false, "breach", CancellationToken.None);
        Assert.Equal(2L, (await ReadAsync(ns, WorkloadKinds.Deployment, "api")).Metadata.Generation);
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

        var time = new FakeTimeProvider(Start);
        using var restarter = Restarter(time, client: client);

        Assert.Equal(3, (await restarter.FindAsync(ns, [Secret], CancellationToken.None)).Count);
        Assert.Equal(3, (await restarter.RestartAsync(ns, [Secret], false, "breach", CancellationToken.None)).Count);
        time.Advance(TimeSpan.FromSeconds(1));
        await restarter.RestartAsync(ns, [Secret], false, "breach again", CancellationToken.None);
        await restarter.RestartAsync(ns, [Secret], false, "breach again", CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(1));

        foreach (var kind in WorkloadKinds.All)
        {
            await EventuallyAsync(() => ReadAsync(ns, kind, "api"), w => w.Metadata.Generation == 3, $"the deferred restart of the {kind}");
        }

        // One Event per restart: the first three, then the three deferred ones.
        var events = (await cluster.Client.CoreV1.ListNamespacedEventAsync(ns)).Items;
        Assert.Equal(3, events.Count(e => e.Reason == KubernetesWorkloadRestarter.RestartedReason && e.Message.Contains("breach again", StringComparison.Ordinal)));
        Assert.Equal(6, events.Count(e => e.Reason == KubernetesWorkloadRestarter.RestartedReason));
    }

    [Fact]
    public void Restart_options_are_validated_with_a_message_that_says_how_to_fix_them()
    {
        var validator = new NotaryRestartOptionsValidator();
        Assert.True(validator.Validate(null, new NotaryRestartOptions()).Succeeded);
        Assert.True(validator.Validate(null, new NotaryRestartOptions { MinRestartInterval = TimeSpan.Zero }).Succeeded);

        var negative = validator.Validate(null, new NotaryRestartOptions { MinRestartInterval = TimeSpan.FromSeconds(-1) });
        var long_ = validator.Validate(null, new NotaryRestartOptions { MinRestartInterval = TimeSpan.FromDays(2) });

        Assert.All(new[] { negative, long_ }, result => Assert.Contains("Notary:Restarts:MinRestartInterval", Assert.Single(result.Failures!), StringComparison.Ordinal));
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

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var value = await probe();
            if (condition(value))
            {
                return value;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(25), timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting for {what}; last value: {value}");
            }
        }
    }

    /// <summary>Keeps the formatted log lines.</summary>
    private sealed class ListLogger<T> : ILogger<T>
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception));
    }
}
