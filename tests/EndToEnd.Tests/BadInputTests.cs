using System.Text.Json;

namespace Notary.EndToEnd.Tests;

/// <summary>SPEC's bad-input cases through kubectl: refused by the schema, or Ready=False with a reason, a message and a Warning event.</summary>
[Collection(DevCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BadInputTests(DevFixture fx)
{
    private const string Metadata = """{"tlsStoreRootPath":"/etc/tls","tlsKeyStorePassword":"ks-password","tlsTrustStorePassword":"ts-password"}""";

    private async Task<string> NamespaceAsync()
    {
        var ns = "bad-" + Guid.NewGuid().ToString("N")[..8];
        await fx.OkAsync("create", "namespace", ns);
        return ns;
    }

    private Task<string> ApplyAsync(string yaml) => fx.OkAsync("apply", "-f", fx.WriteText(Guid.NewGuid().ToString("N") + ".yaml", yaml));

    private static string Cert(string ns, string name, string fqdn) => $"""
        apiVersion: notary.dev/v1alpha1
        kind: Certificate
        metadata: {"{"}name: {name}, namespace: {ns}{"}"}
        spec: {"{"}type: Private, fqdn: {fqdn}, privateKey: {"{"}algorithm: ECDSA, size: 256{"}"}{"}"}
        """;

    private static string Keystore(string ns, string name, string fqdn, string certName) => $"""
        apiVersion: notary.dev/v1alpha1
        kind: Keystore
        metadata: {"{"}name: {name}, namespace: {ns}{"}"}
        spec: {"{"}fqdn: {fqdn}, certName: {certName}{"}"}
        """;

    private async Task<(string Reason, string Message)> ReadyConditionAsync(string kind, string ns, string name)
    {
        using var json = JsonDocument.Parse(await fx.OkAsync("get", kind, name, "-n", ns, "-o", "json"));
        var ready = json.RootElement.GetProperty("status").GetProperty("conditions").EnumerateArray().First(c => c.GetProperty("type").GetString() == "Ready");
        return (ready.GetProperty("reason").GetString()!, ready.GetProperty("message").GetString()!);
    }

    private async Task WaitReasonAsync(string kind, string ns, string name, string reason) =>
        await fx.OkAsync("wait", $"--for=jsonpath={{.status.conditions[?(@.type==\"Ready\")].reason}}={reason}", $"{kind}/{name}", "-n", ns, "--timeout=60s");

    [Fact]
    public async Task An_issuer_whose_Secret_is_missing_is_not_Ready_and_kubectl_describe_shows_the_Warning_with_its_reason()
    {
        var ns = await NamespaceAsync();
        var clusterName = "missing-" + ns;
        await ApplyAsync($"""
            apiVersion: notary.dev/v1alpha1
            kind: Issuer
            metadata: {"{"}name: team-ca, namespace: {ns}{"}"}
            spec: {"{"}ca: {"{"}secretName: team-ca-keys{"}"}{"}"}
            ---
            apiVersion: notary.dev/v1alpha1
            kind: ClusterIssuer
            metadata: {"{"}name: {clusterName}{"}"}
            spec: {"{"}ca: {"{"}secretName: {clusterName}{"}"}{"}"}
            """);
        await WaitReasonAsync("issuer", ns, "team-ca", "SecretNotFound");
        await fx.OkAsync("wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=SecretNotFound", $"clusterissuer/{clusterName}", "--timeout=60s");

        var describe = await fx.OkAsync("describe", "issuer", "team-ca", "-n", ns);
        Assert.Matches($@"Warning\s+SecretNotFound\s+\S+\s+\S+\s+Secret {ns}/team-ca-keys does not exist", describe);
        // A ClusterIssuer's Events are in "default", involvedObject without a namespace: describe finds them.
        var clusterDescribe = await fx.OkAsync("describe", "clusterissuer", clusterName);
        Assert.Matches($@"Warning\s+SecretNotFound\s+\S+\s+\S+\s+Secret \S+/{clusterName} does not exist", clusterDescribe);
    }

    [Fact]
    public async Task The_schema_refuses_what_it_can_express_naming_the_field()
    {
        var ns = await NamespaceAsync();
        var result = await fx.KubectlAsync("apply", "-f", fx.WriteText("bad-type.yaml", $"""
            apiVersion: notary.dev/v1alpha1
            kind: Certificate
            metadata: {"{"}name: bad, namespace: {ns}{"}"}
            spec: {"{"}type: Mixed, fqdn: bad.example{"}"}
            """));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("spec.type", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("Mixed", result.StdErr, StringComparison.Ordinal);

        var missing = await fx.KubectlAsync("apply", "-f", fx.WriteText("missing-fqdn.yaml", $"""
            apiVersion: notary.dev/v1alpha1
            kind: Keystore
            metadata: {"{"}name: ks, namespace: {ns}{"}"}
            spec: {"{"}certName: x{"}"}
            """));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("spec.fqdn", missing.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_metadata_is_reported_and_a_fixed_secret_builds_the_store_without_a_retry()
    {
        var ns = await NamespaceAsync();
        var fqdn = $"svc.{ns}.svc.cluster.local";
        await ApplyAsync(Cert(ns, "svc", fqdn));
        await ApplyAsync(Keystore(ns, "svc-keystore", fqdn, "svc"));
        await WaitReasonAsync("ks", ns, "svc-keystore", "MetadataSecretMissing");
        var (_, message) = await ReadyConditionAsync("ks", ns, "svc-keystore");
        Assert.Contains($"Secret {ns}/notary-metadata does not exist", message, StringComparison.Ordinal);
        var describe = await fx.OkAsync("describe", "ks", "svc-keystore", "-n", ns);
        Assert.Matches(@"Warning\s+MetadataSecretMissing", describe);

        await fx.OkAsync("create", "secret", "generic", "notary-metadata", "-n", ns, $"--from-literal=metadata.json={Metadata}");
        await fx.OkAsync("wait", "--for=condition=Ready", "ks/svc-keystore", "-n", ns, "--timeout=60s");
    }

    [Fact]
    public async Task Unresolved_ambiguous_and_mismatched_references_are_reported()
    {
        var ns = await NamespaceAsync();
        var other1 = await NamespaceAsync();
        var other2 = await NamespaceAsync();
        var tag = "peer-" + ns;
        await fx.OkAsync("create", "secret", "generic", "notary-metadata", "-n", ns, $"--from-literal=metadata.json={Metadata}");
        await ApplyAsync(Cert(ns, "me", $"me.{ns}.svc"));
        await ApplyAsync($"""
            apiVersion: notary.dev/v1alpha1
            kind: Truststore
            metadata: {"{"}name: me-truststore, namespace: {ns}{"}"}
            spec:
              fqdn: me.{ns}.svc
              certName: me
              upstream: [{"{"}tag: {tag}, fqdn: {tag}.{other1}.svc{"}"}]
              downstream: []
            """);
        await WaitReasonAsync("ts", ns, "me-truststore", "UnresolvedReference");

        // The upstream certificate appears: the truststore becomes Ready on its own.
        await ApplyAsync(Cert(other1, tag, $"{tag}.{other1}.svc"));
        await fx.OkAsync("wait", "--for=condition=Ready", "ts/me-truststore", "-n", ns, "--timeout=60s");

        // The reference is bound to the Certificate it resolved to: a second certificate of that
        // name elsewhere is ignored (a Warning Event names the binding), the store stays Ready.
        Assert.Equal($"{tag} {other1}", await fx.OkAsync("get", "ts", "me-truststore", "-n", ns, "-o", "jsonpath={.status.references[0].tag} {.status.references[0].namespace}"));
        await ApplyAsync(Cert(other2, tag, $"{tag}.{other2}.svc"));
        var other3 = await NamespaceAsync();
        await ApplyAsync(Cert(other3, tag, $"{tag}.{other3}.svc"));
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (!System.Text.RegularExpressions.Regex.IsMatch(await fx.OkAsync("describe", "ts", "me-truststore", "-n", ns), @"Warning\s+ReferenceBound"))
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "no ReferenceBound Warning Event on the truststore within 60 s");
            await Task.Delay(200);
        }

        var (reason, _) = await ReadyConditionAsync("ts", ns, "me-truststore");
        Assert.Equal("Stored", reason);

        // Deleting the bound Certificate looks the tag up again: two are left, so it is ambiguous.
        await fx.OkAsync("delete", "cert", tag, "-n", other1, "--timeout=60s");
        await WaitReasonAsync("ts", ns, "me-truststore", "AmbiguousReference");
        var (_, ambiguous) = await ReadyConditionAsync("ts", ns, "me-truststore");
        Assert.Contains(other2, ambiguous, StringComparison.Ordinal);
        Assert.Contains(other3, ambiguous, StringComparison.Ordinal);

        // Pinning the namespace but naming the wrong fqdn is a mismatch.
        await fx.OkAsync("patch", "ts", "me-truststore", "-n", ns, "--type", "merge", "-p",
            $"{{\"spec\":{{\"upstream\":[{{\"tag\":\"{tag}\",\"fqdn\":\"wrong.example\",\"namespace\":\"{other2}\"}}]}}}}");
        await WaitReasonAsync("ts", ns, "me-truststore", "FqdnMismatch");
        Assert.Matches(@"Warning\s+FqdnMismatch", await fx.OkAsync("describe", "ts", "me-truststore", "-n", ns));
    }

    [Fact]
    public async Task Malformed_metadata_and_a_deleted_certificate_are_reported_and_nothing_stored_is_lost()
    {
        var ns = await NamespaceAsync();
        var fqdn = $"svc.{ns}.svc.cluster.local";
        await fx.OkAsync("create", "secret", "generic", "notary-metadata", "-n", ns, "--from-literal=metadata.json={not json");
        await ApplyAsync(Cert(ns, "svc", fqdn));
        await ApplyAsync(Keystore(ns, "svc-keystore", fqdn, "svc"));
        await WaitReasonAsync("ks", ns, "svc-keystore", "MetadataMalformed");
        var (_, malformed) = await ReadyConditionAsync("ks", ns, "svc-keystore");
        Assert.Contains($"Secret {ns}/notary-metadata key metadata.json is not valid JSON", malformed, StringComparison.Ordinal);
        Assert.Matches(@"Warning\s+MetadataMalformed", await fx.OkAsync("describe", "ks", "svc-keystore", "-n", ns));

        // Fixing the Secret builds the store.
        await fx.OkAsync("delete", "secret", "notary-metadata", "-n", ns);
        await fx.OkAsync("create", "secret", "generic", "notary-metadata", "-n", ns, $"--from-literal=metadata.json={Metadata}");
        await fx.OkAsync("wait", "--for=condition=Ready", "ks/svc-keystore", "-n", ns, "--timeout=60s");
        var stored = await fx.SecretDataAsync(ns, "svc-keystore");

        // A store's Secret deleted behind Notary's back is written again.
        await fx.OkAsync("delete", "secret", "svc-keystore", "-n", ns);
        await fx.OkAsync("wait", "--for=create", "secret/svc-keystore", "-n", ns, "--timeout=60s");
        stored = await fx.SecretDataAsync(ns, "svc-keystore");
        Assert.Contains("keystore.p12", stored.Keys);

        // Deleting the certificate leaves the keystore's contents in place, and says why it is not ready.
        await fx.OkAsync("delete", "cert", "svc", "-n", ns, "--timeout=60s");
        await WaitReasonAsync("ks", ns, "svc-keystore", "CertificateDeleted");
        Assert.Equal(stored["keystore.p12"], (await fx.SecretDataAsync(ns, "svc-keystore"))["keystore.p12"]);
    }

    [Fact]
    public async Task A_store_created_again_under_the_same_name_gets_its_own_events()
    {
        var ns = await NamespaceAsync();
        var fqdn = $"svc.{ns}.svc.cluster.local";
        await fx.OkAsync("create", "secret", "generic", "notary-metadata", "-n", ns, $"--from-literal=metadata.json={Metadata}");
        await ApplyAsync(Cert(ns, "svc", fqdn));
        var keystore = fx.WriteText($"ks-{ns}.yaml", Keystore(ns, "svc-keystore", fqdn, "svc"));
        await fx.OkAsync("apply", "-f", keystore);
        await fx.OkAsync("wait", "--for=condition=Ready", "ks/svc-keystore", "-n", ns, "--timeout=60s");
        await fx.OkAsync("delete", "-f", keystore, "--timeout=60s");
        await fx.OkAsync("apply", "-f", keystore);
        await fx.OkAsync("wait", "--for=condition=Ready", "ks/svc-keystore", "-n", ns, "--timeout=60s");

        var uid = await fx.OkAsync("get", "ks", "svc-keystore", "-n", ns, "-o", "jsonpath={.metadata.uid}");
        var reasons = await fx.OkAsync("get", "events", "-n", ns, "--field-selector", $"involvedObject.uid={uid}", "-o", "jsonpath={.items[*].reason}");
        Assert.Contains("Stored", reasons, StringComparison.Ordinal);
    }
}
