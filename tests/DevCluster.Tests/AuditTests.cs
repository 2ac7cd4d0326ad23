namespace Notary.DevCluster.Tests;

/// <summary>The audit: every authenticated request, by whom, with the attributes RBAC judged and its answer.</summary>
[Collection("kubectl")]
[Trait("Category", "Slow")]
public sealed class AuditTests(KubectlFixture fx)
{
    [Fact]
    public async Task Kubectl_requests_are_recorded_with_user_attributes_and_answer()
    {
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("create", "serviceaccount", "auditee", "-n", ns)).Ok();
        var token = (await fx.KubectlAsync("create", "token", "auditee", "-n", ns)).Ok().Stdout.Trim();
        var kubeconfig = fx.Server.WriteKubeconfig(Path.Combine(fx.WorkDir, ns + "-audit.kubeconfig"), token);
        (await fx.KubectlAsync("create", "secret", "generic", "s", "-n", ns, "--from-literal=k=v")).Ok();

        var denied = await fx.KubectlWithAsync(kubeconfig, "get", "secret", "s", "-n", ns);
        Assert.NotEqual(0, denied.ExitCode);

        var user = $"system:serviceaccount:{ns}:auditee";
        var records = fx.Server.Audit.Where(r => r.User == user && r.IsResourceRequest).ToList();
        var get = Assert.Single(records, r => r.Resource == "secrets");
        Assert.Equal(("get", "", "", ns, "s", false), (get.Verb, get.Group, get.Subresource, get.Namespace, get.Name, get.Allowed));
        Assert.Contains(fx.Server.Audit, r => r.User == "kubernetes-admin" && r.Verb == "create" && r.Resource == "secrets" && r.Namespace == ns && r.Allowed);
        Assert.Contains(fx.Server.Audit, r => r.User == "kubernetes-admin" && r.Verb == "create" && r.Resource == "serviceaccounts" && r.Subresource == "token" && r.Name == "auditee");
    }
}
