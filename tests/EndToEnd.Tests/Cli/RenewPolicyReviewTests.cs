using Notary.Pki.Tests.Support;
using Xunit.Abstractions;

namespace Notary.EndToEnd.Tests.Cli;

/// <summary>
/// Review findings on <c>kubectl notary renew</c> and <c>policy check</c>, through the packed
/// tool against dev mode: a Forbidden certificate part-way through <c>renew --all -A</c> is named
/// and the rest still renewed; <c>policy check --certificate</c> reads the real spec, runs the
/// controller's validation and says what it assumed.
/// </summary>
[Collection(KubectlNotaryCollection.Name)]
[Trait("Category", "Slow")]
public sealed class RenewPolicyReviewTests(KubectlNotaryFixture fx, ITestOutputHelper output)
{
    private static async Task<ToolResult> Logged(ITestOutputHelper output, Task<ToolResult> run, string what)
    {
        var result = await run;
        output.WriteLine($"$ kubectl notary {what}\n{result}");
        return result;
    }

    [Fact]
    public async Task Renew_all_continues_past_a_forbidden_namespace_naming_each_failure_and_exits_1()
    {
        var allowed = await fx.NamespaceAsync("rn-ok");
        var denied = await fx.NamespaceAsync("rn-no");
        var label = Guid.NewGuid().ToString("N")[..8];
        foreach (var ns in new[] { allowed, denied })
        {
            await fx.ApplyAsync($$"""
                apiVersion: notary.dev/v1alpha1
                kind: Certificate
                metadata:
                  name: api
                  namespace: {{ns}}
                  labels: {renewtest: "{{label}}" }
                spec: {type: Private, fqdn: api.{{ns}}.svc}
                """);
        }

        // Listing everywhere, patching only in the first namespace.
        await fx.ApplyAsync($$"""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRole
            metadata: {name: "renew-list-{{label}}"}
            rules: [{apiGroups: [notary.dev], resources: [certificates], verbs: [list, get]}]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata: {name: "renew-list-{{label}}"}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "renew-list-{{label}}"}
            subjects: [{kind: ServiceAccount, name: renewer, namespace: {{allowed}}}]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: renew-patch, namespace: {{allowed}}}
            rules: [{apiGroups: [notary.dev], resources: [certificates], verbs: [patch]}]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: renew-patch, namespace: {{allowed}}}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: renew-patch}
            subjects: [{kind: ServiceAccount, name: renewer, namespace: {{allowed}}}]
            """);
        var kubeconfig = await fx.KubeconfigAsAsync(allowed, "renewer");

        // The denied namespace sorts after or before the allowed one: either way both are tried.
        var result = await Logged(output, KubectlNotaryFixture.NotaryAsAsync(kubeconfig, "renew", "-A", "-l", $"renewtest={label}"), "renew -A -l ...");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"certificate.notary.dev/api renewal requested in namespace {allowed}", result.StdOut, StringComparison.Ordinal);
        Assert.Contains($"(Forbidden): certificate.notary.dev/api in namespace {denied} was not annotated", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("1 of 2 certificates were not annotated", result.StdErr, StringComparison.Ordinal);
        Assert.Empty(await fx.OkAsync("get", "certificate", "api", "-n", denied, "-o", "jsonpath={.metadata.annotations.notary\\.dev/renew}"));
        Assert.NotEmpty(await fx.OkAsync("get", "certificate", "api", "-n", allowed, "-o", "jsonpath={.metadata.annotations.notary\\.dev/renew}"));
    }

    [Fact]
    public async Task Policy_check_of_a_certificate_reads_its_spec_validates_it_and_states_its_assumptions()
    {
        var ns = await fx.NamespaceAsync("pc");
        await fx.ApplyAsync($$"""
            apiVersion: notary.dev/v1alpha1
            kind: Certificate
            metadata: {name: api, namespace: {{ns}}}
            spec: {type: Private, fqdn: api.{{ns}}.svc, privateKey: {algorithm: ECDSA, size: 256} }
            """);

        var ok = await Logged(output, fx.NotaryAsync("policy", "check", "--certificate", $"{ns}/api"), "policy check --certificate api");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Contains($"checking certificate {ns}/api: issuer builtin (assumed: the controller's default; acm when Notary runs with the ACM backend", ok.StdOut, StringComparison.Ordinal);
        Assert.Contains("cluster domain cluster.local (assumed;", ok.StdOut, StringComparison.Ordinal);
        Assert.Contains($"allowed: api.{ns}.svc (Private) in namespace {ns}", ok.StdOut, StringComparison.Ordinal);

        // What the controller's spec validation refuses is refused here too, before the name policy.
        var invalid = await Logged(output, fx.NotaryAsync("policy", "check", ns, $"x.{ns}.svc", "--duration", "1m", "--issuer", "builtin", "--cluster-domain", "cluster.local"), "policy check --duration 1m");
        Assert.True(invalid.ExitCode == 1, invalid.ToString());
        Assert.Contains($"refused: x.{ns}.svc (Private) in namespace {ns}:", invalid.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("(assumed", invalid.StdOut, StringComparison.Ordinal);

        var missing = await Logged(output, fx.NotaryAsync("policy", "check", "--certificate", $"{ns}/nope"), "policy check --certificate nope");
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains("\"nope\" not found", missing.StdErr, StringComparison.Ordinal);
    }
}
