using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Notary.DevCluster.Tests;

/// <summary>DevCluster driven by real kubectl v1.32, as a user drives a cluster.</summary>
[Collection("kubectl")]
[Trait("Category", "Slow")]
public sealed class KubectlTests(KubectlFixture fx)
{
    private static string CertYaml(string ns, string name, string fqdn, string type = "Private") => $"""
        apiVersion: notary.dev/v1alpha1
        kind: Certificate
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          type: {type}
          fqdn: {fqdn}
        """;

    private Task<object> PatchStatusAsync(string ns, string name, string notAfter, string ready) =>
        fx.Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(
            "{\"status\":{\"notAfter\":\"" + notAfter + "\",\"arn\":\"urn:notary:" + name + "\",\"observedGeneration\":1," +
            "\"conditions\":[{\"type\":\"Ready\",\"status\":\"" + ready + "\",\"reason\":\"Issued\",\"message\":\"ok\"," +
            "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"observedGeneration\":1}]}}", V1Patch.PatchType.MergePatch), "notary.dev", "v1alpha1", ns, "certificates", name);

    [Fact]
    public async Task Apply_creates_then_updates_and_bumps_generation()
    {
        var ns = await fx.NamespaceAsync();
        var file = fx.WriteFile("stores.yaml", CertYaml(ns, "svc", "svc.example.com") + $$"""

            ---
            apiVersion: notary.dev/v1alpha1
            kind: Keystore
            metadata: {name: svc, namespace: {{ns}}}
            spec: {fqdn: svc.example.com, certName: svc}
            ---
            apiVersion: notary.dev/v1alpha1
            kind: Truststore
            metadata: {name: svc, namespace: {{ns}}}
            spec: {fqdn: svc.example.com, certName: svc, upstream: [], downstream: []}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: notary-metadata, namespace: {{ns}}}
            stringData:
              metadata.json: '{"tlsKeyStorePassword":"changeit"}'
            """);
        var created = (await fx.KubectlAsync("apply", "-f", file)).Ok();
        Assert.Contains("certificate.notary.dev/svc created", created.Stdout, StringComparison.Ordinal);
        Assert.Contains("keystore.notary.dev/svc created", created.Stdout, StringComparison.Ordinal);
        Assert.Contains("truststore.notary.dev/svc created", created.Stdout, StringComparison.Ordinal);
        Assert.Contains("secret/notary-metadata created", created.Stdout, StringComparison.Ordinal);
        Assert.Equal("", created.Stderr);

        var again = (await fx.KubectlAsync("apply", "-f", file)).Ok();
        Assert.Contains("certificate.notary.dev/svc unchanged", again.Stdout, StringComparison.Ordinal);

        File.WriteAllText(file, File.ReadAllText(file).Replace("fqdn: svc.example.com\n", "fqdn: svc2.example.com\n", StringComparison.Ordinal)
            .Replace("changeit", "changed", StringComparison.Ordinal));
        var updated = (await fx.KubectlAsync("apply", "-f", file)).Ok();
        Assert.Contains("certificate.notary.dev/svc configured", updated.Stdout, StringComparison.Ordinal);
        Assert.Contains("secret/notary-metadata configured", updated.Stdout, StringComparison.Ordinal);
        var generation = (await fx.KubectlAsync("get", "cert", "svc", "-n", ns, "-o", "jsonpath={.metadata.generation} {.spec.fqdn}")).Ok();
        Assert.Equal("2 svc2.example.com", generation.Stdout);
        Assert.Equal("1", (await fx.KubectlAsync("get", "ks", "svc", "-n", ns, "-o", "jsonpath={.metadata.generation}")).Ok().Stdout);
        Assert.Equal("PKCS12 notary-metadata", (await fx.KubectlAsync("get", "ts", "svc", "-n", ns, "-o", "jsonpath={.spec.format} {.spec.metadataSecret}")).Ok().Stdout);
    }

    [Fact]
    public async Task Get_all_namespaces_shows_the_printer_columns()
    {
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("c.yaml", CertYaml(ns, "web", "web.example.com")))).Ok();
        await PatchStatusAsync(ns, "web", "2020-01-01T00:00:00Z", "True");

        var table = (await fx.KubectlAsync("get", "cert", "-A")).Ok().Stdout.Split('\n');
        Assert.Matches(@"^NAMESPACE\s+NAME\s+TYPE\s+FQDN\s+READY\s+EXPIRES\s+AGE$", table[0]);
        var row = Assert.Single(table, l => l.StartsWith(ns, StringComparison.Ordinal));
        // Expires is a string column (the timestamp); Age a date column, rendered as an age.
        Assert.Matches($@"^{ns}\s+web\s+Private\s+web\.example\.com\s+True\s+2020-01-01T00:00:00Z\s+\d+s$", row);

        var wide = (await fx.KubectlAsync("get", "certificates", "-n", ns, "-o", "wide")).Ok().Stdout;
        Assert.Matches(@"NAME\s+TYPE\s+FQDN\s+READY\s+EXPIRES\s+AGE\s+ARN\s+ALTNAME", wide);
        Assert.Contains("urn:notary:web", wide, StringComparison.Ordinal);

        var jsonpath = (await fx.KubectlAsync("get", "cert", "web", "-n", ns, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}")).Ok();
        Assert.Equal("True", jsonpath.Stdout);
        var names = (await fx.KubectlAsync("get", "certificates.notary.dev", "-n", ns, "-o", "name")).Ok();
        Assert.Equal("certificate.notary.dev/web", names.Stdout.Trim());
    }

    [Fact]
    public async Task Describe_lists_the_events_recorded_for_the_resource()
    {
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("c.yaml", CertYaml(ns, "web", "web.example.com")))).Ok();
        var cert = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(await fx.Client.CustomObjects.GetNamespacedCustomObjectAsync("notary.dev", "v1alpha1", ns, "certificates", "web")))!;
        await fx.Client.EventsV1.CreateNamespacedEventAsync(new Eventsv1Event
        {
            Metadata = new V1ObjectMeta { Name = "web.issued" },
            EventTime = DateTime.UtcNow,
            Regarding = new V1ObjectReference { ApiVersion = "notary.dev/v1alpha1", Kind = "Certificate", Name = "web", NamespaceProperty = ns, Uid = (string)cert["metadata"]!["uid"]! },
            Reason = "Issued",
            Note = "Certificate issued by the built-in CA",
            Type = "Normal",
            Action = "Issue",
            ReportingController = "notary.dev/notary",
            ReportingInstance = "notary-0",
        }, ns);
        await fx.Client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = "web.warn" },
            InvolvedObject = new V1ObjectReference { ApiVersion = "notary.dev/v1alpha1", Kind = "Certificate", Name = "web", NamespaceProperty = ns, Uid = (string)cert["metadata"]!["uid"]! },
            Reason = "ExpiringSoon",
            Message = "expires in 7 days",
            Type = "Warning",
            Source = new V1EventSource { Component = "notary" },
            FirstTimestamp = DateTime.UtcNow,
            LastTimestamp = DateTime.UtcNow,
            Count = 1,
        }, ns);

        var describe = (await fx.KubectlAsync("describe", "cert", "web", "-n", ns)).Ok().Stdout;
        Assert.Contains("Name:         web", describe, StringComparison.Ordinal);
        Assert.Matches(@"Events:\s*\n\s+Type\s+Reason\s+Age\s+From\s+Message", describe);
        Assert.Matches(@"Normal\s+Issued\s+\S+\s+notary.dev/notary\s+Certificate issued by the built-in CA", describe);
        Assert.Matches(@"Warning\s+ExpiringSoon\s+\S+\s+notary\s+expires in 7 days", describe);

        var events = (await fx.KubectlAsync("get", "events", "-n", ns)).Ok().Stdout;
        Assert.Matches(@"LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE", events);
        Assert.Contains("certificate/web", events, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wait_for_ready_succeeds_once_the_status_says_so_and_times_out_otherwise()
    {
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("c.yaml", CertYaml(ns, "web", "web.example.com")))).Ok();
        var timedOut = await fx.KubectlAsync("wait", "--for=condition=Ready", "cert/web", "-n", ns, "--timeout=1s");
        Assert.NotEqual(0, timedOut.ExitCode);
        Assert.Contains("timed out waiting for the condition", timedOut.Stderr, StringComparison.Ordinal);

        using var wait = fx.StartKubectl("wait", "--for=condition=Ready", "cert/web", "-n", ns, "--timeout=20s");
        await FaultsAwareWaitForWatchAsync(wait);
        await PatchStatusAsync(ns, "web", "2027-01-01T00:00:00Z", "True");
        Assert.Equal("certificate.notary.dev/web condition met", await wait.NextLineAsync(20));
        Assert.Equal(0, await wait.WaitForExitAsync());
    }

    private async Task FaultsAwareWaitForWatchAsync(KubectlProcess process)
    {
        // kubectl lists, then watches; patching before the watch is open is fine too, this only makes the test meaningful.
        await DevClusterFixture.EventuallyAsync(() => Task.FromResult(fx.Server.Faults.OpenWatches > 0 || process.HasExited), "kubectl to open its watch");
    }

    [Fact]
    public async Task Patch_merge_and_create_secret()
    {
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("c.yaml", CertYaml(ns, "web", "web.example.com")))).Ok();
        var patched = (await fx.KubectlAsync("patch", "cert", "web", "-n", ns, "--type", "merge", "-p", """{"spec":{"alt":["a.example.com"]}}""")).Ok();
        Assert.Equal("certificate.notary.dev/web patched", patched.Stdout.Trim());
        var noChange = (await fx.KubectlAsync("patch", "cert", "web", "-n", ns, "--type", "merge", "-p", """{"spec":{"alt":["a.example.com"]}}""")).Ok();
        Assert.Equal("certificate.notary.dev/web patched (no change)", noChange.Stdout.Trim());
        Assert.Equal("2 a.example.com", (await fx.KubectlAsync("get", "cert", "web", "-n", ns, "-o", "jsonpath={.metadata.generation} {.spec.alt[0]}")).Ok().Stdout);

        var secret = (await fx.KubectlAsync("create", "secret", "generic", "notary-metadata", "-n", ns, "--from-literal=metadata.json={\"tlsKeyStorePassword\":\"changeit\"}")).Ok();
        Assert.Equal("secret/notary-metadata created", secret.Stdout.Trim());
        var stored = await fx.Client.CoreV1.ReadNamespacedSecretAsync("notary-metadata", ns);
        Assert.Equal("{\"tlsKeyStorePassword\":\"changeit\"}", System.Text.Encoding.UTF8.GetString(stored.Data["metadata.json"]));
        Assert.Matches(@"notary-metadata\s+Opaque\s+1\s+\d+s", (await fx.KubectlAsync("get", "secrets", "-n", ns)).Ok().Stdout);
        var labelled = (await fx.KubectlAsync("label", "secret", "notary-metadata", "-n", ns, "app.kubernetes.io/part-of=shop")).Ok();
        Assert.Equal("secret/notary-metadata labeled", labelled.Stdout.Trim());
        Assert.Contains("notary-metadata", (await fx.KubectlAsync("get", "secrets", "-n", ns, "-l", "app.kubernetes.io/part-of in (shop)", "-o", "name")).Ok().Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_waits_until_the_finalizer_is_removed()
    {
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("c.yaml", CertYaml(ns, "web", "web.example.com")))).Ok();
        (await fx.KubectlAsync("patch", "cert", "web", "-n", ns, "--type", "merge", "-p", """{"metadata":{"finalizers":["notary.dev/cleanup"]}}""")).Ok();

        using var delete = fx.StartKubectl("delete", "cert", "web", "-n", ns, "--timeout=20s");
        Assert.Equal("certificate.notary.dev \"web\" deleted", await delete.NextLineAsync());
        await DevClusterFixture.EventuallyAsync(async () =>
            (await fx.KubectlAsync("get", "cert", "web", "-n", ns, "-o", "jsonpath={.metadata.deletionTimestamp}")).Stdout.Length > 0, "deletionTimestamp");
        Assert.False(delete.HasExited);

        (await fx.KubectlAsync("patch", "cert", "web", "-n", ns, "--type", "json", "-p", """[{"op":"remove","path":"/metadata/finalizers"}]""")).Ok();
        Assert.Equal(0, await delete.WaitForExitAsync());
        var gone = await fx.KubectlAsync("get", "cert", "web", "-n", ns);
        Assert.Contains("Error from server (NotFound): certificates.notary.dev \"web\" not found", gone.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_watch_prints_a_line_per_change()
    {
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("c.yaml", CertYaml(ns, "web", "web.example.com")))).Ok();
        using var watch = fx.StartKubectl("get", "cert", "-n", ns, "--watch");
        Assert.Matches(@"^NAME\s+TYPE\s+FQDN\s+READY\s+EXPIRES\s+AGE$", await watch.NextLineAsync());
        Assert.Matches(@"^web\s+Private\s+web\.example\.com\s+\d+s$", await watch.NextLineAsync());
        await DevClusterFixture.EventuallyAsync(() => Task.FromResult(fx.Server.Faults.OpenWatches > 0), "kubectl to open its watch");

        await PatchStatusAsync(ns, "web", "2020-01-01T00:00:00Z", "False");
        Assert.Matches(@"^web\s+Private\s+web\.example\.com\s+False\s+\S+\s+\d+s$", await watch.NextLineAsync());
        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("d.yaml", CertYaml(ns, "api", "api.example.com", "Public")))).Ok();
        Assert.Matches(@"^api\s+Public\s+api\.example\.com\s+\d+s$", await watch.NextLineAsync());
    }

    [Fact]
    public async Task A_schema_invalid_apply_is_refused_naming_the_field()
    {
        var ns = await fx.NamespaceAsync();
        var invalid = await fx.KubectlAsync("apply", "-f", fx.WriteFile("bad.yaml", CertYaml(ns, "bad", "Not_A_Name", "Mixed")));
        Assert.NotEqual(0, invalid.ExitCode);
        Assert.Contains("The Certificate \"bad\" is invalid", invalid.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.type: Unsupported value: \"Mixed\": supported values: \"Public\", \"Private\"", invalid.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.fqdn: Invalid value: \"Not_A_Name\": spec.fqdn in body should match", invalid.Stderr, StringComparison.Ordinal);

        var unknown = await fx.KubectlAsync("apply", "-f", fx.WriteFile("unknown.yaml", CertYaml(ns, "u", "u.example.com") + "\n  colour: blue\n"));
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("strict decoding error: unknown field \"spec.colour\"", unknown.Stderr, StringComparison.Ordinal);

        var missing = await fx.KubectlAsync("apply", "-f", fx.WriteFile("missing.yaml", $"apiVersion: notary.dev/v1alpha1\nkind: Keystore\nmetadata: {{name: k, namespace: {ns}}}\nspec: {{fqdn: k.example.com}}\n"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("spec.certName: Required value", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_breach_spec_is_immutable_by_its_transition_rule_and_its_status_still_changes()
    {
        var ns = await fx.NamespaceAsync();
        string Breach(string mode) => $"apiVersion: notary.dev/v1alpha1\nkind: Breach\nmetadata: {{name: leak, namespace: {ns}}}\nspec: {{certificate: pay, mode: {mode}, reason: leaked key}}\n";
        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("breach.yaml", Breach("quarantine")))).Ok();

        var edit = await fx.KubectlAsync("apply", "-f", fx.WriteFile("breach2.yaml", Breach("rotate")));
        Assert.NotEqual(0, edit.ExitCode);
        Assert.Contains("The Breach \"leak\" is invalid: spec: Invalid value: \"object\": spec is immutable; delete this Breach and create a new one", edit.Stderr, StringComparison.Ordinal);
        var patch = await fx.KubectlAsync("patch", "breach", "leak", "-n", ns, "--type=merge", "-p", "{\"spec\":{\"reason\":\"other\"}}");
        Assert.NotEqual(0, patch.ExitCode);
        Assert.Equal("quarantine", (await fx.KubectlAsync("get", "breach", "leak", "-n", ns, "-o", "jsonpath={.spec.mode}")).Ok().Stdout);

        // Metadata and status are not the spec: a label and the status still change.
        (await fx.KubectlAsync("label", "breach", "leak", "-n", ns, "team=sec")).Ok();
        (await fx.KubectlAsync("patch", "breach", "leak", "-n", ns, "--subresource=status", "--type=merge", "-p", "{\"status\":{\"phase\":\"Completed\"}}")).Ok();
    }

    [Fact]
    public async Task Service_account_tokens_are_forbidden_until_a_role_binding_allows_them()
    {
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("create", "serviceaccount", "reader", "-n", ns)).Ok();
        var token = (await fx.KubectlAsync("create", "token", "reader", "-n", ns)).Ok().Stdout.Trim();
        Assert.Equal(3, token.Split('.').Length);
        var kubeconfig = fx.Server.WriteKubeconfig(Path.Combine(fx.WorkDir, ns + ".kubeconfig"), token);

        var forbidden = await fx.KubectlWithAsync(kubeconfig, "get", "certificates", "-n", ns);
        Assert.NotEqual(0, forbidden.ExitCode);
        Assert.Contains($"Error from server (Forbidden): certificates.notary.dev is forbidden: User \"system:serviceaccount:{ns}:reader\" cannot list resource \"certificates\" in API group \"notary.dev\" in the namespace \"{ns}\"", forbidden.Stderr, StringComparison.Ordinal);
        Assert.Equal("no", (await fx.KubectlWithAsync(kubeconfig, "auth", "can-i", "list", "certificates", "-n", ns)).Stdout.Trim());

        (await fx.KubectlAsync("create", "role", "cert-reader", "-n", ns, "--verb=get,list,watch", "--resource=certificates.notary.dev")).Ok();
        (await fx.KubectlAsync("create", "rolebinding", "cert-reader", "-n", ns, "--role=cert-reader", $"--serviceaccount={ns}:reader")).Ok();
        var allowed = (await fx.KubectlWithAsync(kubeconfig, "get", "certificates", "-n", ns)).Ok();
        Assert.Contains($"No resources found in {ns} namespace.", allowed.Stderr, StringComparison.Ordinal);
        Assert.Equal("yes", (await fx.KubectlWithAsync(kubeconfig, "auth", "can-i", "list", "certificates.notary.dev", "-n", ns)).Ok().Stdout.Trim());
        Assert.Equal("no", (await fx.KubectlWithAsync(kubeconfig, "auth", "can-i", "delete", "certificates.notary.dev", "-n", ns)).Stdout.Trim());
        Assert.Equal("yes", (await fx.KubectlAsync("auth", "can-i", "create", "certificates", "-n", ns, $"--as=system:serviceaccount:{ns}:reader", "--as-group=system:masters")).Stdout.Trim());
        var whoami = (await fx.KubectlWithAsync(kubeconfig, "auth", "whoami")).Ok().Stdout;
        Assert.Contains($"system:serviceaccount:{ns}:reader", whoami, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discovery_knows_the_short_names_and_categories()
    {
        var resources = (await fx.KubectlAsync("api-resources", "--api-group=notary.dev")).Ok().Stdout;
        Assert.Matches(@"certificates\s+cert\s+notary.dev/v1alpha1\s+true\s+Certificate", resources);
        Assert.Matches(@"keystores\s+ks\s+notary.dev/v1alpha1\s+true\s+Keystore", resources);
        Assert.Matches(@"truststores\s+ts\s+notary.dev/v1alpha1\s+true\s+Truststore", resources);
        var ns = await fx.NamespaceAsync();
        Assert.Contains("No resources found", (await fx.KubectlAsync("get", "notary", "-n", ns)).Ok().Stderr, StringComparison.Ordinal);
        var explain = (await fx.KubectlAsync("explain", "certificate.spec.type")).Ok().Stdout;
        Assert.Contains("Public", explain, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_crd_applied_at_run_time_is_served_and_validated()
    {
        var crd = fx.WriteFile("widgets.yaml", """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: widgets.example.com}
            spec:
              group: example.com
              scope: Namespaced
              names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd]}
              versions:
              - name: v1
                served: true
                storage: true
                schema:
                  openAPIV3Schema:
                    type: object
                    properties:
                      spec:
                        type: object
                        properties:
                          size: {type: integer, minimum: 1, maximum: 10, default: 1}
            """);
        (await fx.KubectlAsync("apply", "-f", crd)).Ok();
        (await fx.KubectlAsync("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s")).Ok();
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("apply", "-f", fx.WriteFile("w.yaml", $"apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w1, namespace: {ns}}}\nspec: {{}}\n"))).Ok();
        Assert.Equal("1", (await fx.KubectlAsync("get", "wd", "w1", "-n", ns, "-o", "jsonpath={.spec.size}")).Ok().Stdout);
        var tooBig = await fx.KubectlAsync("apply", "-f", fx.WriteFile("w2.yaml", $"apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w2, namespace: {ns}}}\nspec: {{size: 30}}\n"));
        Assert.Contains("spec.size: Invalid value: 30: spec.size in body should be less than or equal to 10", tooBig.Stderr, StringComparison.Ordinal);
        (await fx.KubectlAsync("delete", "-f", crd)).Ok();
        var e = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => fx.Client.CustomObjects.ListNamespacedCustomObjectAsync("example.com", "v1", ns, "widgets"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, e.Response.StatusCode);
    }

    [Fact]
    public async Task Deployments_are_stored_and_rollout_restart_patches_the_template()
    {
        var ns = await fx.NamespaceAsync();
        (await fx.KubectlAsync("create", "deployment", "shop", "-n", ns, "--image=shop:1", "--port=8443")).Ok();
        var restarted = (await fx.KubectlAsync("rollout", "restart", "deployment/shop", "-n", ns)).Ok();
        Assert.Equal("deployment.apps/shop restarted", restarted.Stdout.Trim());
        var deployment = await fx.Client.AppsV1.ReadNamespacedDeploymentAsync("shop", ns);
        Assert.Equal(2, deployment.Metadata.Generation);
        Assert.True(deployment.Spec.Template.Metadata.Annotations.ContainsKey("kubectl.kubernetes.io/restartedAt"));
        Assert.Equal(8443, Assert.Single(Assert.Single(deployment.Spec.Template.Spec.Containers).Ports).ContainerPort);
        Assert.Matches(@"shop\s+0/1\s+0\s+0\s+\d+s", (await fx.KubectlAsync("get", "deploy", "-n", ns)).Ok().Stdout);
    }
}
