using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>
/// Issuers and ClusterIssuers through DevCluster (which installs the chart's CRDs): real kubectl
/// lists them with their columns, a spec naming two kinds is refused with 422, the status writer
/// fills the status subresource, and the CA Secret reader reads one Secret of one namespace.
/// </summary>
[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class IssuerAdapterTests(ClusterFixture cluster)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 16, 17, 0, TimeSpan.Zero);

    private KubernetesIssuerStatusWriter Writer() => new(cluster.Client, ClusterFixture.Options());

    [Fact]
    public async Task Kubectl_lists_issuers_and_clusterissuers_with_type_ready_and_wide_columns()
    {
        var ns = await cluster.NamespaceAsync();
        var cluster1 = "c-" + ns;
        await CreateIssuerAsync(ns, "team-ca", new IssuerResourceSpec { Ca = new CaIssuer { SecretName = "team-ca" } });
        await CreateClusterIssuerAsync(cluster1, new IssuerResourceSpec { Builtin = new BuiltinIssuer() });

        await Writer().WriteIssuerStatusAsync(IssuerKeys.Namespaced(ns, "team-ca"), new IssuerStatus
        {
            Type = "ca",
            CaFingerprint = "AB12",
            CaNotAfter = T0.AddDays(365),
            Certificates = 4,
            ObservedGeneration = 1,
            Conditions = [new StatusCondition(Conditions.Ready, Conditions.True, "CaLoaded", "Signing with CN=Team CA.", T0, 1)],
            Rotation = new IssuerRotationStatus { Phase = "Reissuing", FromFingerprint = "AB12", ToFingerprint = "CD34", Total = 4, Remaining = 3, Started = T0 },
        }, CancellationToken.None);
        await Writer().WriteIssuerStatusAsync(IssuerKeys.Cluster(cluster1), new IssuerStatus
        {
            Type = "builtin",
            Conditions = [new StatusCondition(Conditions.Ready, Conditions.False, "CaUnavailable", "The built-in CA is not loaded yet.", T0, 1)],
        }, CancellationToken.None);

        var issuers = await cluster.KubectlAsync("get", "issuers", "-n", ns);
        Assert.Matches(@"NAME\s+TYPE\s+READY\s+AGE", issuers);
        Assert.Matches(@"team-ca\s+ca\s+True\s", issuers);
        var wide = await cluster.KubectlAsync("get", "issuers", "-n", ns, "-o", "wide");
        Assert.Matches(@"team-ca\s+ca\s+True\s+\S+\s+CaLoaded\s+2027-11-22T16:17:00Z\s+Reissuing\s+3", wide);

        var clusterIssuers = await cluster.KubectlAsync("get", "clusterissuers", cluster1);
        Assert.Matches($@"{cluster1}\s+builtin\s+False\s", clusterIssuers);
        Assert.Equal("CaUnavailable", await cluster.KubectlAsync("get", "clusterissuer", cluster1, "-o", "jsonpath={.status.conditions[0].reason}"));

        // Both are in the notary category.
        Assert.Contains("issuer.notary.dev/team-ca", await cluster.KubectlAsync("get", "notary", "-n", ns, "-o", "name"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_status_write_replaces_the_whole_status_so_a_finished_rotation_disappears()
    {
        var ns = await cluster.NamespaceAsync();
        var created = await CreateIssuerAsync(ns, "team-ca", new IssuerResourceSpec { Ca = new CaIssuer { SecretName = "team-ca" } });
        var key = IssuerKeys.Namespaced(ns, "team-ca");
        await Writer().WriteIssuerStatusAsync(key, new IssuerStatus
        {
            Type = "ca",
            Rotation = new IssuerRotationStatus { Phase = "RetiringOldCa", FromFingerprint = "AB", ToFingerprint = "CD", Total = 1, Remaining = 0, Started = T0 },
        }, CancellationToken.None);
        await Writer().WriteIssuerStatusAsync(key, new IssuerStatus { Type = "ca", CaFingerprint = "CD", Certificates = 1, ObservedGeneration = 1 }, CancellationToken.None);

        var read = await GetIssuerAsync(ns, "team-ca");
        Assert.Null(read.Status!.Rotation);
        Assert.Equal(("ca", "CD", 1, 1L), (read.Status.Type, read.Status.CaFingerprint, read.Status.Certificates, read.Status.ObservedGeneration));
        Assert.Equal(created.Metadata.Generation, read.Metadata.Generation);
    }

    [Fact]
    public async Task A_status_for_an_issuer_that_is_gone_is_not_an_error()
    {
        var ns = await cluster.NamespaceAsync();

        await Writer().WriteIssuerStatusAsync(IssuerKeys.Namespaced(ns, "gone"), new IssuerStatus { Type = "ca" }, CancellationToken.None);
        await Writer().WriteIssuerStatusAsync(IssuerKeys.Cluster("gone-" + ns), new IssuerStatus { Type = "ca" }, CancellationToken.None);
    }

    [Theory]
    [InlineData("""{"builtin":{},"ca":{"secretName":"team-ca"}}""")]
    [InlineData("{}")]
    public async Task A_spec_naming_none_or_several_kinds_is_refused_with_422(string spec)
    {
        var ns = await cluster.NamespaceAsync();
        var body = k8s.KubernetesJson.Deserialize<object>($$"""{"apiVersion":"notary.dev/v1alpha1","kind":"Issuer","metadata":{"name":"twice","namespace":"{{ns}}"},"spec":{{spec}}}""");

        var refused = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(body, NotaryResources.Group, NotaryResources.Version, ns, Issuer.KubePluralName));

        Assert.Equal((HttpStatusCode)422, refused.Response.StatusCode);
        Assert.Contains("spec", refused.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubectl_describe_shows_the_events_on_an_Issuer_and_on_a_ClusterIssuer()
    {
        var ns = await cluster.NamespaceAsync();
        var issuer = await CreateIssuerAsync(ns, "team-ca", new IssuerResourceSpec { Ca = new CaIssuer { SecretName = "team-ca" } });
        var clusterName = "events-" + ns;
        await CreateClusterIssuerAsync(clusterName, new IssuerResourceSpec { Builtin = new BuiltinIssuer() });
        var clusterUid = KubernetesJson.Deserialize<ClusterIssuer>(KubernetesJson.Serialize(await cluster.Client.CustomObjects.GetClusterCustomObjectAsync(
            NotaryResources.Group, NotaryResources.Version, ClusterIssuer.KubePluralName, clusterName))).Metadata.Uid;
        using var recorder = new KubernetesEventRecorder(cluster.Client, ClusterFixture.Options(), TimeProvider.System, ClusterFixture.Log<KubernetesEventRecorder>());

        // The issuer grain passes the uid it was applied with (Notary's RBAC has no get on issuers).
        await recorder.RecordAsync(new ResourceKey(ns, "team-ca"), ResourceKind.Issuer, issuer.Metadata.Uid, EventSeverity.Warning,
            "SecretNotFound", $"Secret {ns}/team-ca does not exist.", CancellationToken.None);
        await recorder.RecordAsync(new ResourceKey(string.Empty, clusterName), ResourceKind.ClusterIssuer, clusterUid, EventSeverity.Normal,
            "Ready", "issues from Notary's built-in root CA.", CancellationToken.None);
        // Without the uid the recorder looks it up, for the cluster-scoped kind too.
        await recorder.RecordAsync(new ResourceKey(string.Empty, clusterName), ResourceKind.ClusterIssuer, EventSeverity.Normal,
            "CaRotationStarted", "the CA changed.", CancellationToken.None);

        var describe = await cluster.KubectlAsync("describe", "issuer", "team-ca", "-n", ns);
        Assert.Matches(@"Warning\s+SecretNotFound\s+\S+\s+notary\S*\s.*does not exist\.", describe);

        // A cluster-scoped object's Events live in "default" with involvedObject.namespace empty,
        // which is where kubectl describe looks for them.
        var clusterDescribe = await cluster.KubectlAsync("describe", "clusterissuer", clusterName);
        Assert.Matches(@"Normal\s+Ready\s+\S+\s+notary\S*\s.*built-in root CA\.", clusterDescribe);
        Assert.Matches(@"Normal\s+CaRotationStarted\s+\S+\s+notary\S*\s.*the CA changed\.", clusterDescribe);
        var stored = await cluster.Client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: $"involvedObject.uid={clusterUid}");
        Assert.Equal(2, stored.Items.Count);
        Assert.All(stored.Items, e => Assert.True(string.IsNullOrEmpty(e.InvolvedObject.NamespaceProperty)));
        Assert.All(stored.Items, e => Assert.Equal("ClusterIssuer", e.InvolvedObject.Kind));
    }

    [Fact]
    public async Task Kubectl_apply_of_an_issuer_with_two_kinds_is_refused_and_says_why()
    {
        var ns = await cluster.NamespaceAsync();
        var manifest = $"apiVersion: notary.dev/v1alpha1\nkind: Issuer\nmetadata: {{name: twice, namespace: {ns}}}\nspec:\n  builtin: {{}}\n  ca: {{secretName: team-ca}}\n";

        var (exitCode, stderr) = await KubectlApplyAsync(manifest);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("The Issuer \"twice\" is invalid: spec: Too many: 2", stderr, StringComparison.Ordinal);
        Assert.Contains("spec", stderr, StringComparison.Ordinal);
        Assert.Contains("at most 1", stderr, StringComparison.Ordinal);
        Assert.Contains("No resources found", (await RunKubectlAsync("get", "issuers", "-n", ns)).StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Certificate_issuerRef_kind_defaults_to_Issuer()
    {
        var ns = await cluster.NamespaceAsync();
        var certificate = Objects.Certificate(ns, "api");
        certificate.Spec.IssuerRef = new IssuerReference { Name = "team-ca" };

        var created = await cluster.Client.CreateAsync(certificate);

        Assert.Equal(("team-ca", "Issuer"), (created.Spec.IssuerRef!.Name, created.Spec.IssuerRef.Kind));
    }

    [Fact]
    public void The_CA_Secret_reader_reserves_Notarys_own_Secrets_as_configured()
    {
        var reader = new KubernetesCaSecretReader(
            cluster.Client,
            ClusterFixture.Options(o => o.CaSecretName = "corp-root"),
            Microsoft.Extensions.Options.Options.Create(new StateKeyOptions { SecretName = "notary-keys" }));

        Assert.Equal(["corp-root", "notary-keys"], reader.ReservedSecretNames);
        Assert.Equal(["notary-ca", "notary-state-key"], ((ICaSecretReader)new KubernetesCaSecretReader(cluster.Client, ClusterFixture.Options())).ReservedSecretNames);
    }

    [Fact]
    public async Task The_CA_Secret_reader_reads_tls_crt_and_tls_key_of_one_namespace()
    {
        var ns = await cluster.NamespaceAsync();
        var reader = new KubernetesCaSecretReader(cluster.Client, ClusterFixture.Options(o => o.Namespace = "notary-system"));
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "team-ca" },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]> { ["tls.crt"] = Encoding.UTF8.GetBytes("CERT PEM"), ["tls.key"] = Encoding.UTF8.GetBytes("KEY PEM") },
        }, ns);
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "half" },
            Data = new Dictionary<string, byte[]> { ["tls.crt"] = Encoding.UTF8.GetBytes("CERT PEM") },
        }, ns);

        var found = await reader.ReadAsync(ns, "team-ca", CancellationToken.None);
        Assert.Equal((CaSecretOutcome.Found, "CERT PEM", "KEY PEM"), (found.Outcome, found.CertificatePem, found.PrivateKeyPem));
        Assert.False(string.IsNullOrEmpty(found.ResourceVersion));
        Assert.DoesNotContain("KEY PEM", found.ToString(), StringComparison.Ordinal);

        Assert.Equal(CaSecretOutcome.KeyMissing, (await reader.ReadAsync(ns, "half", CancellationToken.None)).Outcome);
        Assert.Equal(CaSecretOutcome.SecretMissing, (await reader.ReadAsync(ns, "absent", CancellationToken.None)).Outcome);
        // Another namespace's Secret of the same name is not this one.
        Assert.Equal(CaSecretOutcome.SecretMissing, (await reader.ReadAsync(await cluster.NamespaceAsync(), "team-ca", CancellationToken.None)).Outcome);
        Assert.Equal("notary-system", reader.NotaryNamespace);
    }

    private async Task<(int ExitCode, string StdErr)> KubectlApplyAsync(string manifest)
    {
        var result = await RunKubectlWithInputAsync(manifest, "apply", "-f", "-");
        return (result.ExitCode, result.StdErr);
    }

    private Task<(int ExitCode, string StdOut, string StdErr)> RunKubectlAsync(params string[] args) => RunKubectlWithInputAsync(null, args);

    /// <summary>Real kubectl against DevCluster, with its exit code (a refusal is the point here).</summary>
    private async Task<(int ExitCode, string StdOut, string StdErr)> RunKubectlWithInputAsync(string? stdin, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--kubeconfig");
        start.ArgumentList.Add(cluster.Kubeconfig);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private async Task<Issuer> CreateIssuerAsync(string ns, string name, IssuerResourceSpec spec)
    {
        var created = await cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new Issuer { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns }, Spec = spec },
            NotaryResources.Group, NotaryResources.Version, ns, Issuer.KubePluralName);
        return KubernetesJson.Deserialize<Issuer>(KubernetesJson.Serialize(created));
    }

    private async Task CreateClusterIssuerAsync(string name, IssuerResourceSpec spec) =>
        await cluster.Client.CustomObjects.CreateClusterCustomObjectAsync(
            new ClusterIssuer { Metadata = new V1ObjectMeta { Name = name }, Spec = spec },
            NotaryResources.Group, NotaryResources.Version, ClusterIssuer.KubePluralName);

    private async Task<Issuer> GetIssuerAsync(string ns, string name)
    {
        var found = await cluster.Client.CustomObjects.GetNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, Issuer.KubePluralName, name);
        return KubernetesJson.Deserialize<Issuer>(KubernetesJson.Serialize(found));
    }
}
