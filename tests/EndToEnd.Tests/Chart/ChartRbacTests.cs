using System.Text.Json.Nodes;
using Notary.DevCluster;
using static Notary.EndToEnd.Tests.RealBreachFixture;

namespace Notary.EndToEnd.Tests.Chart;

/// <summary>
/// Dev mode with Notary running as the chart's ServiceAccount, under the chart's rendered
/// ClusterRole and Role (applied with kubectl before Notary starts), so DevCluster's RBAC refuses
/// anything the chart does not grant, and its audit tells Notary's calls from the test's own.
/// </summary>
public sealed class ChartRbacFixture : RealBreachFixture
{
    public const string Namespace = "notary";

    /// <summary>What helm renders with default values into the release namespace "notary" (release "notary").</summary>
    public List<JsonObject> Rendered { get; private set; } = [];

    public string NotaryUser => $"system:serviceaccount:{Namespace}:{ChartTests.Single(Rendered, "ServiceAccount")["metadata"]!["name"]!.GetValue<string>()}";

    protected override Func<DevClusterServer, CancellationToken, Task<k8s.KubernetesClientConfiguration>> NotaryConnection => async (cluster, _) =>
    {
        var kubeconfig = cluster.WriteKubeconfig(Path.Combine(Root, "admin-kubeconfig"));
        var cache = Path.Combine(Root, "admin-kube-cache");
        var rbac = await Helm.RunAsync("template", "notary", Helm.ChartDirectory, "--namespace", Namespace,
            "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml");
        Assert.True(rbac.ExitCode == 0, rbac.ToString());
        Rendered = Helm.ParseDocuments(rbac.StdOut);
        await KubectlOkAsync(kubeconfig, cache, "apply", "-f", WriteText("chart-rbac.yaml", rbac.StdOut));
        var account = ChartTests.Single(Rendered, "ServiceAccount")["metadata"]!["name"]!.GetValue<string>();
        var token = (await KubectlOkAsync(kubeconfig, cache, "create", "token", account, "-n", Namespace, "--duration=1h")).Trim();
        Tokens.Add(token);
        return cluster.ClientConfiguration(token);
    };
}

[CollectionDefinition(Name)]
public sealed class ChartRbacCollection : ICollectionFixture<ChartRbacFixture>
{
    public const string Name = "chart rbac";
}

/// <summary>
/// The chart's RBAC against the calls Notary really makes: a representative flow (certificates,
/// keystore, truststores, metadata Secret, a breach rotation restarting a Deployment, deletion
/// through finalizers, the watcher's Lease) runs with Notary under exactly the chart's rules; then
/// every (verb, group, resource) Notary's client made must be granted, and every granted one made.
/// </summary>
[Collection(ChartRbacCollection.Name)]
[Trait("Category", "Slow")]
public sealed class ChartRbacTests(ChartRbacFixture fx)
{
    /// <summary>
    /// Granted rows this flow cannot reach, each with why it is still needed. Keep it short: an
    /// entry here is a rule no test proves necessary.
    /// </summary>
    private static readonly HashSet<(string Scope, string Group, string Resource, string Verb)> Unreached =
    [
        // A Keystore's or Truststore's own object is read only to re-check a finalizer patch whose
        // "test" failed (a concurrent change: ResourceFinalizers) and to find the uid for an Event
        // about it (KubernetesEventRecorder); a smooth flow has neither. Certificates' get is reached.
        ("cluster", "notary.dev", "keystores", "get"),
        ("cluster", "notary.dev", "truststores", "get"),
        // A repeat of the same Event within the correlation window (count + 1): proved under the
        // README's rules by tests/Watcher.Tests/RbacTests.cs.
        ("cluster", "", "events", "patch"),
        // The published CA certificate (ConfigMap notary-ca) is replaced only when it differs from
        // the signing CA (edited, or the CA changed); a fresh cluster gets it created.
        // CaPublisherTests proves the replacement against DevCluster.
        ("namespace", "", "configmaps", "update"),
        // Orleans' Kubernetes hosting, on only in a pod with Redis (NotaryClusterOptions): here Notary
        // is a local process, no silo in a pod. KubernetesHostingRbacTests runs the hosting as
        // Notary configures it, with a pod, under these rules: exactly these three calls.
        ("namespace", "", "pods", "get"),
        ("namespace", "", "pods", "list"),
        ("namespace", "", "pods", "watch"),
        // Issuers' status is written by the issuer grain for an Issuer or ClusterIssuer that
        // exists; this flow creates none. tests/Watcher.Tests/RbacTests.cs writes both under the
        // README's rules (and the watcher lists and watches them here).
        ("cluster", "notary.dev", "issuers/status", "patch"),
        ("cluster", "notary.dev", "clusterissuers/status", "patch"),
    ];

    /// <summary>
    /// Calls Notary makes but does without when refused, so the chart does not grant them:
    /// creating its own namespace (src/Kubernetes/README.md: "without the right, it is assumed
    /// to exist"). Reading namespaces is granted: the name policy reads their labels.
    /// </summary>
    private static readonly HashSet<(string Scope, string Group, string Resource, string Verb)> Optional =
    [
        ("cluster", "", "namespaces", "create"),
    ];

    /// <summary>A ConfigMap with a CA and a Truststore whose trust source it is (configmaps get, list and watch).</summary>
    private static string SourcedTruststore(string ns)
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Partner Root CA", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var pem = string.Concat(ca.ExportCertificatePem().Split('\n').Select(l => $"    {l.TrimEnd()}\n"));
        return $$"""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: partner-ca
              namespace: {{ns}}
            data:
              ca.crt: |
            {{pem}}---
            apiVersion: notary.dev/v1alpha1
            kind: Truststore
            metadata:
              name: partners-ts
              namespace: {{ns}}
            spec:
              fqdn: {{Fqdn(ns, "orders")}}
              certName: orders
              upstream: []
              downstream: []
              sources:
                - configMap: {name: partner-ca, key: ca.crt}
            ---

            """;
    }

    [Fact]
    public async Task Notary_under_the_charts_rules_makes_exactly_the_calls_they_grant()
    {
        var ns = await fx.NamespaceAsync("rbac");
        await fx.ApplyAsync(
            Metadata(ns)
            + Certificate(ns, "pay") + Certificate(ns, "orders")
            + Keystore(ns, "pay-ks", "pay")
            + Truststore(ns, "orders-ts", "orders", upstream: [(ns, "pay")], downstream: [])
            + SourcedTruststore(ns)
            + Deployment(ns, "pay", "pay-ks", SecretUse.Volume)
            + Workload("StatefulSet", ns, "pay-db", "pay-ks")
            + Workload("DaemonSet", ns, "pay-agent", "pay-ks"));
        await fx.ReadyAsync(ns);
        // A CertificatePolicy: watched, and its status written.
        var policy = $"rbac-{ns}";
        await fx.ApplyAsync($"apiVersion: notary.dev/v1alpha1\nkind: CertificatePolicy\nmetadata: {{name: {policy}}}\nspec:\n  namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}\n  dnsNames: [\"*.example.com\"]\n");
        await fx.OkAsync("wait", "--for=condition=Ready", $"certificatepolicy/{policy}", "--timeout=60s");
        await fx.OkAsync("delete", "certificatepolicy", policy);

        // A breach rotation: TokenReview, SubjectAccessReview, re-keying, store rewrites, a restart.
        // Breaches: the API creates one (create, status patch), the watcher lists, watches and
        // finalizes it (patch), the grain writes its status (get, status patch), GET reads it.
        var (token, _) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get", "delete");
        var accepted = await fx.PostAsync(token, $"{ns}/pay", "rotate", "key leaked in a log");
        Assert.True(accepted.Status == 202, accepted.ToString());
        var done = await fx.FollowAsync(accepted.Location!, token);
        Assert.True(done.Json.GetProperty("phase").GetString() == "Completed", done.ToString());

        // A quarantine lifted through the API: Notary deletes the Breach, its finalizer lifts it.
        var quarantine = await fx.PostAsync(token, $"{ns}/orders", "quarantine", "seen on a laptop");
        Assert.True(quarantine.Status == 202, quarantine.ToString());
        Assert.True((await fx.FollowAsync(quarantine.Location!, token)).Json.GetProperty("phase").GetString() == "Completed");
        var lift = await fx.CallAsync(HttpMethod.Delete, quarantine.Location!, token);
        Assert.True(lift.Status == 202, lift.ToString());
        await UntilAsync(() => fx.CallAsync(HttpMethod.Get, quarantine.Location!, token), a => a.Status == 404, "the lifted Breach to go");

        // Deletion through Notary's finalizer: the stores' Secrets go with them.
        await fx.OkAsync("delete", "keystore,truststore", "--all", "-n", ns, "--timeout=60s");
        await fx.OkAsync("delete", "certificate", "--all", "-n", ns, "--timeout=60s");
        Assert.DoesNotContain("pay-ks", await fx.OkAsync("get", "secrets", "-n", ns, "-o", "name"), StringComparison.Ordinal);

        // The watcher's Lease has been taken and renewed by now (every RetryPeriod, 2 s).
        await UntilAsync(() => Task.FromResult(NotaryCalls()), calls => calls.Contains(("namespace", "coordination.k8s.io", "leases", "update")), "the Lease to be renewed");

        var audit = fx.Dev.Cluster.Audit.Where(r => r.User == fx.NotaryUser).ToList();
        Assert.Empty(audit.Where(r => !r.Allowed).Select(Row).Except(Optional));
        Assert.Empty(audit.Where(r => !r.IsResourceRequest).Select(r => r.Path));

        var granted = RbacTable.Rows(ChartTests.Single(fx.Rendered, "ClusterRole"), "cluster")
            .Concat(RbacTable.Rows(ChartTests.Single(fx.Rendered, "Role"), "namespace")).ToHashSet();
        var made = NotaryCalls().Except(Optional).ToHashSet();
        Assert.Empty(made.Except(granted));
        Assert.Empty(granted.Except(made).Except(Unreached));
        Assert.Empty(Unreached.Intersect(made));
    }

    [Fact]
    public async Task The_rendered_probes_answer_on_the_host()
    {
        var deployment = ChartTests.Single(await Helm.TemplateAsync("notary", ChartRbacFixture.Namespace), "Deployment");
        var container = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!;
        foreach (var probe in new[] { "livenessProbe", "readinessProbe" })
        {
            var path = container[probe]!["httpGet"]!["path"]!.GetValue<string>();
            // Readiness waits for the silo to be Active and the watcher's first answer from the API server.
            var answer = await fx.CallAsync(HttpMethod.Get, path, token: null);
            for (var deadline = DateTime.UtcNow.AddSeconds(30); answer.Status != 200 && DateTime.UtcNow < deadline; answer = await fx.CallAsync(HttpMethod.Get, path, token: null))
            {
                await Task.Delay(200);
            }

            Assert.True(answer.Status == 200, $"{probe} {path}: {answer}");
        }
    }

    /// <summary>A StatefulSet or DaemonSet that mounts <paramref name="secret"/>, for the restarter's patch of each kind.</summary>
    private static string Workload(string kind, string ns, string name, string secret) => $"""
        apiVersion: apps/v1
        kind: {kind}
        metadata:
          name: {name}
          namespace: {ns}
        spec:{(kind == "StatefulSet" ? $"\n  serviceName: {name}" : "")}
          selector:
            matchLabels:
              app: {name}
          template:
            metadata:
              labels:
                app: {name}
            spec:
              containers:
                - name: app
                  image: registry.example/{name}:1
                  volumeMounts:
                    - name: tls
                      mountPath: /etc/tls
              volumes:
                - name: tls
                  secret:
                    secretName: {secret}
        ---

        """;

    /// <summary>Notary's own resource calls as RBAC rows; Leases, pods and ConfigMaps (the published CA) in Notary's namespace are the Role's, all else the ClusterRole's.</summary>
    private HashSet<(string Scope, string Group, string Resource, string Verb)> NotaryCalls() =>
        fx.Dev.Cluster.Audit
            .Where(r => r.User == fx.NotaryUser && r.IsResourceRequest)
            .Select(Row)
            .ToHashSet();

    private static (string Scope, string Group, string Resource, string Verb) Row(AuditRecord r) => (
        (r.Group, r.Resource) is ("coordination.k8s.io", "leases") or ("", "pods") or ("", "configmaps") && r.Namespace == ChartRbacFixture.Namespace ? "namespace" : "cluster",
        r.Group,
        r.Subresource.Length > 0 ? r.Resource + "/" + r.Subresource : r.Resource,
        r.Verb);
}
