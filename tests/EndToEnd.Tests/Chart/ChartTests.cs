using System.Text.Json.Nodes;
using Notary.Silo;

namespace Notary.EndToEnd.Tests.Chart;

/// <summary>
/// charts/notary rendered by the real helm: lint passes strictly, and the objects it renders with
/// default and with AWS values are what a production install needs (probes on the host's
/// endpoints, non-root, read-only root, the pod's identity from the downward API, IRSA, RBAC
/// exactly the README's table, no wildcard).
/// </summary>
[Trait("Category", "Slow")]
public sealed class ChartTests
{
    private static readonly string[] AwsValues =
    [
        "--set", "issuer.type=acm", "--set", "issuer.acm.region=eu-west-1",
        "--set", "issuer.acm.privateCaArn=arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/abc",
        "--set", "store.type=secretsmanager", "--set", "store.secretsManager.region=eu-west-1",
        "--set", "store.secretsManager.kmsKeyId=alias/notary",
        "--set", "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/notary",
        "--set", "cluster.redis.existingSecret.name=notary-redis",
        "--set", "serviceMonitor.enabled=true",
    ];

    [Fact]
    public async Task Lint_passes_strictly_with_default_and_with_AWS_values()
    {
        var plain = await Helm.RunAsync("lint", "--strict", Helm.ChartDirectory);
        Assert.True(plain.ExitCode == 0, plain.ToString());
        var aws = await Helm.RunAsync(["lint", "--strict", Helm.ChartDirectory, .. AwsValues]);
        Assert.True(aws.ExitCode == 0, aws.ToString());
    }

    [Fact]
    public async Task Default_values_render_a_hardened_deployment_of_two_silos()
    {
        var objects = await Helm.TemplateAsync("notary", "notary");
        var deployment = Single(objects, "Deployment");
        Assert.Equal("2", deployment["spec"]!["replicas"]!.GetValue<string>());
        var pod = deployment["spec"]!["template"]!.AsObject();
        var labels = pod["metadata"]!["labels"]!.AsObject();
        Assert.Equal("notary", labels["orleans/serviceId"]!.GetValue<string>());
        Assert.Equal("notary", labels["orleans/clusterId"]!.GetValue<string>());
        var spec = pod["spec"]!.AsObject();
        Assert.Equal("notary", spec["serviceAccountName"]!.GetValue<string>());
        Assert.True(int.Parse(spec["terminationGracePeriodSeconds"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) > NotaryHost.ShutdownTimeout.TotalSeconds,
            "the kubelet must wait longer than the host's shutdown timeout");
        Assert.Equal("true", spec["securityContext"]!["runAsNonRoot"]!.GetValue<string>());

        var container = Assert.Single(spec["containers"]!.AsArray())!.AsObject();
        Assert.Equal(["run"], container["args"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Equal("true", container["securityContext"]!["readOnlyRootFilesystem"]!.GetValue<string>());
        Assert.Equal("true", container["securityContext"]!["runAsNonRoot"]!.GetValue<string>());
        Assert.Equal("false", container["securityContext"]!["allowPrivilegeEscalation"]!.GetValue<string>());
        var tmp = Assert.Single(container["volumeMounts"]!.AsArray(), m => m!["mountPath"]!.GetValue<string>() == "/tmp")!;
        var volume = Assert.Single(spec["volumes"]!.AsArray(), v => v!["name"]!.GetValue<string>() == tmp["name"]!.GetValue<string>())!;
        Assert.NotNull(volume["emptyDir"]);

        // Both probes on the HTTPS port, on the paths the host maps (ProbeTests proves they answer).
        var https = Assert.Single(container["ports"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "https")!;
        Assert.Equal("8080", https["containerPort"]!.GetValue<string>());
        Assert.Equal("/healthz", container["livenessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal("/readyz", container["readinessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        foreach (var probe in new[] { "livenessProbe", "readinessProbe" })
        {
            Assert.Equal("https", container[probe]!["httpGet"]!["port"]!.GetValue<string>());
            Assert.Equal("HTTPS", container[probe]!["httpGet"]!["scheme"]!.GetValue<string>());
        }

        // Two ports and no Orleans gateway: the HTTPS API and the silo port.
        Assert.Equal(["8080", "11111"], container["ports"]!.AsArray().Select(p => p!["containerPort"]!.GetValue<string>()));

        var env = Env(container);
        Assert.Equal("metadata.name", env["POD_NAME"]!["valueFrom"]!["fieldRef"]!["fieldPath"]!.GetValue<string>());
        Assert.Equal("metadata.namespace", env["POD_NAMESPACE"]!["valueFrom"]!["fieldRef"]!["fieldPath"]!.GetValue<string>());
        Assert.Equal("status.podIP", env["POD_IP"]!["valueFrom"]!["fieldRef"]!["fieldPath"]!.GetValue<string>());
        Assert.Equal("notary", env["Notary__Kubernetes__Namespace"]!["value"]!.GetValue<string>());
        Assert.Equal("builtin", env["Notary__Issuer__Type"]!["value"]!.GetValue<string>());
        Assert.Equal("kubernetes", env["Notary__Store__Type"]!["value"]!.GetValue<string>());
        Assert.DoesNotContain(env.Keys, k => k.StartsWith("Notary__Issuer__Acm", StringComparison.Ordinal) || k.StartsWith("Notary__Store__SecretsManager", StringComparison.Ordinal));

        Assert.Null(Single(objects, "ServiceAccount")["metadata"]!["annotations"]);
        var service = Single(objects, "Service");
        var servicePort = Assert.Single(service["spec"]!["ports"]!.AsArray())!;
        Assert.Equal("8080", servicePort["port"]!.GetValue<string>());
        Assert.Equal("1", Single(objects, "PodDisruptionBudget")["spec"]!["minAvailable"]!.GetValue<string>());
        Assert.DoesNotContain(objects, o => Kind(o) is "ServiceMonitor" or "CustomResourceDefinition");
    }

    [Fact]
    public async Task AWS_values_set_the_backends_and_the_IRSA_role()
    {
        var objects = await Helm.TemplateAsync("notary", "platform", AwsValues);
        var account = Single(objects, "ServiceAccount");
        Assert.Equal("arn:aws:iam::111122223333:role/notary", account["metadata"]!["annotations"]!["eks.amazonaws.com/role-arn"]!.GetValue<string>());
        var container = Single(objects, "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();
        var env = Env(container);
        Assert.Equal("platform", env["Notary__Kubernetes__Namespace"]!["value"]!.GetValue<string>());
        Assert.Equal("acm", env["Notary__Issuer__Type"]!["value"]!.GetValue<string>());
        Assert.Equal("eu-west-1", env["Notary__Issuer__Acm__Region"]!["value"]!.GetValue<string>());
        Assert.StartsWith("arn:aws:acm-pca:", env["Notary__Issuer__Acm__PrivateCaArn"]!["value"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("secretsmanager", env["Notary__Store__Type"]!["value"]!.GetValue<string>());
        Assert.Equal("eu-west-1", env["Notary__Store__SecretsManager__Region"]!["value"]!.GetValue<string>());
        Assert.Equal("alias/notary", env["Notary__Store__SecretsManager__KmsKeyId"]!["value"]!.GetValue<string>());
        Assert.Equal("30", env["Notary__Store__SecretsManager__RecoveryWindowDays"]!["value"]!.GetValue<string>());
        Assert.Equal("notary-redis", env["Notary__Cluster__Redis__ConnectionString"]!["valueFrom"]!["secretKeyRef"]!["name"]!.GetValue<string>());
        var monitor = Single(objects, "ServiceMonitor");
        Assert.Equal("/metrics", monitor["spec"]!["endpoints"]![0]!["path"]!.GetValue<string>());
        // Scraped over HTTPS, checking the API's certificate against Notary's published CA.
        Assert.Equal("https", monitor["spec"]!["endpoints"]![0]!["scheme"]!.GetValue<string>());
        Assert.Equal("notary.platform.svc", monitor["spec"]!["endpoints"]![0]!["tlsConfig"]!["serverName"]!.GetValue<string>());
        Assert.Equal("notary-ca", monitor["spec"]!["endpoints"]![0]!["tlsConfig"]!["ca"]!["configMap"]!["name"]!.GetValue<string>());
        // The Role lives in the release namespace, bound to the release's ServiceAccount there.
        Assert.Equal("platform", Single(objects, "Role")["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal("platform", Single(objects, "ClusterRoleBinding")["subjects"]![0]!["namespace"]!.GetValue<string>());
    }

    [Fact]
    public async Task RBAC_is_exactly_the_README_table_without_wildcards()
    {
        var objects = await Helm.TemplateAsync("notary", "notary", AwsValues);
        var roles = objects.Where(o => Kind(o) is "ClusterRole" or "Role").ToList();
        Assert.Equal(2, roles.Count);
        foreach (var rule in roles.SelectMany(r => r["rules"]!.AsArray()))
        {
            foreach (var field in new[] { "apiGroups", "resources", "verbs" })
            {
                Assert.DoesNotContain(rule![field]!.AsArray(), v => v!.GetValue<string>().Contains('*', StringComparison.Ordinal));
            }

            Assert.Null(rule!["nonResourceURLs"]);
        }

        var rendered = RbacTable.Rows(Single(objects, "ClusterRole"), "cluster").Concat(RbacTable.Rows(Single(objects, "Role"), "namespace")).ToHashSet();
        var table = RbacTable.FromReadme();
        Assert.Empty(table.Except(rendered));
        Assert.Empty(rendered.Except(table));
    }

    [Fact]
    public async Task The_CRDs_come_only_from_the_crds_folder()
    {
        var objects = await Helm.TemplateAsync("notary", "notary", "--include-crds");
        var crds = objects.Where(o => Kind(o) == "CustomResourceDefinition").Select(o => o["metadata"]!["name"]!.GetValue<string>()).Order();
        Assert.Equal(["breaches.notary.dev", "certificatepolicies.notary.dev", "certificates.notary.dev", "clusterissuers.notary.dev", "issuers.notary.dev", "keystores.notary.dev", "truststores.notary.dev"], crds);
        Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(Helm.ChartDirectory, "templates")), f => File.ReadAllText(f).Contains("CustomResourceDefinition", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_backend_is_refused_with_the_choices()
    {
        var result = await Helm.RunAsync("template", "notary", Helm.ChartDirectory, "--set", "store.type=s3");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("use kubernetes or secretsmanager", result.StdErr, StringComparison.Ordinal);
    }

    internal static string? Kind(JsonObject o) => o["kind"]?.GetValue<string>();

    internal static JsonObject Single(IEnumerable<JsonObject> objects, string kind) => Assert.Single(objects, o => Kind(o) == kind);

    private static Dictionary<string, JsonObject> Env(JsonObject container) =>
        container["env"]!.AsArray().ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!.AsObject());
}
