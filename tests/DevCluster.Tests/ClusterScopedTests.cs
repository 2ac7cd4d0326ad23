namespace Notary.DevCluster.Tests;

/// <summary>
/// Cluster-scoped custom resources (CertificatePolicy) served as the real API server serves them,
/// driven by real kubectl v1.32: no namespace, get/apply/watch without -n, and RBAC only through
/// ClusterRoles bound by ClusterRoleBindings.
/// </summary>
[Collection("kubectl")]
[Trait("Category", "Slow")]
public sealed class ClusterScopedTests(KubectlFixture fx)
{
    private static string PolicyYaml(string name, string dnsName = "*.example.com", string types = "[Private]") => $"""
        apiVersion: notary.dev/v1alpha1
        kind: CertificatePolicy
        metadata:
          name: {name}
        spec:
          namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: team-a
          dnsNames: ["{dnsName}"]
          wildcards: true
          types: {types}
          maxDuration: 720h
        """;

    private static string NewName() => "p-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Apply_get_and_delete_need_no_namespace_and_the_object_has_none()
    {
        var name = NewName();
        Assert.Contains($"certificatepolicy.notary.dev/{name} created", (await fx.KubectlAsync("apply", "-f", fx.WriteFile("p.yaml", PolicyYaml(name)))).Ok().Stdout, StringComparison.Ordinal);
        Assert.Contains($"certificatepolicy.notary.dev/{name} configured", (await fx.KubectlAsync("apply", "-f", fx.WriteFile("p.yaml", PolicyYaml(name, "*.example.org")))).Ok().Stdout, StringComparison.Ordinal);

        var list = (await fx.KubectlAsync("get", "certificatepolicies")).Ok().Stdout;
        Assert.Matches(@"NAME\s+WILDCARDS\s+TYPES\s+MAXDURATION\s+AGE", list);
        Assert.Matches($@"{name}\s+true\s+\[Private\]\s+720h\s+\d+s", list);
        // -A and -n change nothing for a cluster-scoped resource; the short name works too.
        Assert.Contains(name, (await fx.KubectlAsync("get", "certpolicy", "-A")).Ok().Stdout, StringComparison.Ordinal);
        Assert.Contains(name, (await fx.KubectlAsync("get", "certificatepolicies", "-n", "default")).Ok().Stdout, StringComparison.Ordinal);
        Assert.Equal("|*.example.org|2", (await fx.KubectlAsync("get", "certificatepolicy", name, "-o", "jsonpath={.metadata.namespace}|{.spec.dnsNames[0]}|{.metadata.generation}")).Ok().Stdout);
        Assert.Contains(name, (await fx.KubectlAsync("get", "notary", "-o", "name")).Ok().Stdout, StringComparison.Ordinal);

        Assert.Contains($"certificatepolicy.notary.dev \"{name}\" deleted", (await fx.KubectlAsync("delete", "certificatepolicy", name)).Ok().Stdout, StringComparison.Ordinal);
        var gone = await fx.KubectlAsync("get", "certificatepolicy", name);
        Assert.NotEqual(0, gone.ExitCode);
        Assert.Contains($"certificatepolicies.notary.dev \"{name}\" not found", gone.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discovery_says_the_resource_is_not_namespaced()
    {
        var resources = (await fx.KubectlAsync("api-resources", "--api-group=notary.dev", "--namespaced=false")).Ok().Stdout;
        Assert.Matches(@"certificatepolicies\s+certpolicy\s+notary\.dev/v1alpha1\s+false\s+CertificatePolicy", resources);
        Assert.DoesNotContain("certificates ", (await fx.KubectlAsync("api-resources", "--api-group=notary.dev", "--namespaced=false")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_without_a_namespace_prints_a_line_per_change()
    {
        var name = NewName();
        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("p.yaml", PolicyYaml(name)))).Ok();
        using var watch = fx.StartKubectl("get", "certificatepolicies", "--watch", "--field-selector", $"metadata.name={name}");
        Assert.Matches(@"^NAME\s+WILDCARDS\s+TYPES\s+MAXDURATION\s+AGE$", await watch.NextLineAsync());
        Assert.Matches($@"^{name}\s+true\s+\[Private\]\s+720h\s+\d+s$", await watch.NextLineAsync());
        await DevClusterFixture.EventuallyAsync(() => Task.FromResult(fx.Server.Faults.OpenWatches > 0), "kubectl to open its watch");

        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("p.yaml", PolicyYaml(name, types: "[Private, Public]")))).Ok();
        Assert.Matches($@"^{name}\s+true\s+\[Private Public\]\s+720h\s+\d+s$", await watch.NextLineAsync());
        (await fx.KubectlAsync("delete", "certificatepolicy", name)).Ok();
    }

    [Fact]
    public async Task The_schema_refuses_a_bad_type_pattern_and_operator()
    {
        var name = NewName();
        var bad = PolicyYaml(name, "Bad..Name", "[Secret]").Replace("matchLabels:\n      kubernetes.io/metadata.name: team-a", "matchExpressions: [{key: tier, operator: Matches, values: [a]}]", StringComparison.Ordinal);
        var refused = await fx.KubectlAsync("apply", "-f", fx.WriteFile("bad.yaml", bad));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains($"The CertificatePolicy \"{name}\" is invalid", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.types[0]: Unsupported value: \"Secret\"", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.dnsNames[0]: Invalid value: \"Bad..Name\"", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.namespaceSelector.matchExpressions[0].operator: Unsupported value: \"Matches\"", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_a_ClusterRole_bound_cluster_wide_grants_a_cluster_scoped_resource()
    {
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("create", "serviceaccount", "policy-admin", "-n", ns)).Ok();
        var token = (await fx.KubectlAsync("create", "token", "policy-admin", "-n", ns)).Ok().Stdout.Trim();
        var kubeconfig = fx.Server.WriteKubeconfig(Path.Combine(fx.WorkDir, ns + "-policy.kubeconfig"), token);
        var user = $"system:serviceaccount:{ns}:policy-admin";
        var name = NewName();
        var policy = fx.WriteFile("p.yaml", PolicyYaml(name));

        var forbidden = await fx.KubectlWithAsync(kubeconfig, "get", "certificatepolicies");
        Assert.NotEqual(0, forbidden.ExitCode);
        Assert.Contains($"Error from server (Forbidden): certificatepolicies.notary.dev is forbidden: User \"{user}\" cannot list resource \"certificatepolicies\" in API group \"notary.dev\" at the cluster scope", forbidden.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, (await fx.KubectlWithAsync(kubeconfig, "apply", "-f", policy)).ExitCode);

        // A namespaced Role naming the resource, and a ClusterRole bound only in a namespace, grant nothing cluster-scoped.
        (await fx.KubectlAsync("create", "role", "policies", "-n", ns, "--verb=get,list,watch,create,patch", "--resource=certificatepolicies.notary.dev")).Ok();
        (await fx.KubectlAsync("create", "rolebinding", "policies", "-n", ns, "--role=policies", $"--serviceaccount={ns}:policy-admin")).Ok();
        var clusterRole = "policies-" + ns;
        (await fx.KubectlAsync("create", "clusterrole", clusterRole, "--verb=get,list,watch,create,patch", "--resource=certificatepolicies.notary.dev")).Ok();
        (await fx.KubectlAsync("create", "rolebinding", "policies-by-clusterrole", "-n", ns, $"--clusterrole={clusterRole}", $"--serviceaccount={ns}:policy-admin")).Ok();
        Assert.NotEqual(0, (await fx.KubectlWithAsync(kubeconfig, "get", "certificatepolicies")).ExitCode);
        Assert.Equal("no", (await fx.KubectlWithAsync(kubeconfig, "auth", "can-i", "create", "certificatepolicies.notary.dev")).Stdout.Trim());

        // A ClusterRoleBinding does.
        (await fx.KubectlAsync("create", "clusterrolebinding", clusterRole, $"--clusterrole={clusterRole}", $"--serviceaccount={ns}:policy-admin")).Ok();
        Assert.Equal("yes", (await fx.KubectlWithAsync(kubeconfig, "auth", "can-i", "create", "certificatepolicies.notary.dev")).Ok().Stdout.Trim());
        Assert.Equal("no", (await fx.KubectlWithAsync(kubeconfig, "auth", "can-i", "delete", "certificatepolicies.notary.dev")).Stdout.Trim());
        Assert.Contains($"certificatepolicy.notary.dev/{name} created", (await fx.KubectlWithAsync(kubeconfig, "apply", "-f", policy)).Ok().Stdout, StringComparison.Ordinal);
        Assert.Contains(name, (await fx.KubectlWithAsync(kubeconfig, "get", "certificatepolicies")).Ok().Stdout, StringComparison.Ordinal);
        var delete = await fx.KubectlWithAsync(kubeconfig, "delete", "certificatepolicy", name);
        Assert.NotEqual(0, delete.ExitCode);
        Assert.Contains("cannot delete resource \"certificatepolicies\" in API group \"notary.dev\" at the cluster scope", delete.Stderr, StringComparison.Ordinal);
        (await fx.KubectlAsync("delete", "certificatepolicy", name)).Ok();
    }

    [Fact]
    public async Task The_READMEs_example_policy_is_accepted_as_written()
    {
        var lines = File.ReadAllLines(DevClusterFixture.RepoPath("README.md"));
        var section = Array.IndexOf(lines, "## Name policy");
        Assert.True(section >= 0, "README.md has no \"## Name policy\" section");
        var start = Array.FindIndex(lines, section, l => l == "```yaml") + 1;
        var end = Array.FindIndex(lines, start, l => l == "```");
        Assert.True(start > section && end > start, "no ```yaml block in README.md's Name policy");
        var yaml = string.Join("\n", lines[start..end]);

        var applied = (await fx.KubectlAsync("apply", "--dry-run=server", "-f", fx.WriteFile("readme-policy.yaml", yaml))).Ok().Stdout;
        Assert.Contains("certificatepolicy.notary.dev/intruder-may-have-orders created (server dry run)", applied, StringComparison.Ordinal);
    }
}
