using System.Text.Json;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// The name policy in dev mode, through kubectl: an impostor Certificate in namespace intruder for
/// orders' in-cluster name is Ready=False/PolicyDenied with a Warning Event and nothing issued (no
/// Secret for its Keystore); a CertificatePolicy allowing it makes it Ready with no further apply.
/// </summary>
[Collection(DevCollection.Name)]
[Trait("Category", "Slow")]
public sealed class NamePolicyEndToEndTests(DevFixture fx)
{
    private const string Metadata = """{"tlsStoreRootPath":"/etc/tls","tlsKeyStorePassword":"ks-password","tlsTrustStorePassword":"ts-password"}""";

    private Task<string> ApplyAsync(string yaml) => fx.OkAsync("apply", "-f", fx.WriteText(Guid.NewGuid().ToString("N") + ".yaml", yaml));

    private async Task<JsonElement> ReadyConditionAsync(string kind, string ns, string name)
    {
        using var json = JsonDocument.Parse(await fx.OkAsync("get", kind, name, "-n", ns, "-o", "json"));
        return json.RootElement.GetProperty("status").GetProperty("conditions").EnumerateArray().First(c => c.GetProperty("type").GetString() == "Ready").Clone();
    }

    [Fact]
    public async Task An_impostor_for_another_namespaces_service_is_PolicyDenied_until_a_CertificatePolicy_allows_it()
    {
        const string fqdn = "orders.orders.svc.cluster.local";
        var policy = "intruder-may-have-orders-" + Guid.NewGuid().ToString("N")[..6];
        await ApplyAsync("""
            apiVersion: v1
            kind: Namespace
            metadata: {name: orders}
            ---
            apiVersion: v1
            kind: Namespace
            metadata: {name: intruder}
            """);
        await fx.KubectlAsync("create", "secret", "generic", "notary-metadata", "-n", "intruder", $"--from-literal=metadata.json={Metadata}");
        await ApplyAsync($"""
            apiVersion: notary.dev/v1alpha1
            kind: Certificate
            metadata: {"{"}name: impostor, namespace: intruder{"}"}
            spec: {"{"}type: Private, fqdn: {fqdn}, privateKey: {"{"}algorithm: ECDSA, size: 256{"}"}{"}"}
            ---
            apiVersion: notary.dev/v1alpha1
            kind: Keystore
            metadata: {"{"}name: impostor-ks, namespace: intruder{"}"}
            spec: {"{"}fqdn: {fqdn}, certName: impostor{"}"}
            """);

        await fx.OkAsync("wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=PolicyDenied", "certificate/impostor", "-n", "intruder", "--timeout=60s");
        var ready = await ReadyConditionAsync("certificate", "intruder", "impostor");
        Assert.Equal("False", ready.GetProperty("status").GetString());
        Assert.Equal(
            $"dnsName \"{fqdn}\" is refused by the default policy: in-cluster service names are only for their own namespace (orders, not intruder).",
            ready.GetProperty("message").GetString());
        Assert.Matches(@"Warning\s+PolicyDenied", await fx.OkAsync("describe", "certificate", "impostor", "-n", "intruder"));
        // Nothing issued: no serial, and no Secret for the impostor's keystore.
        Assert.Empty(await fx.OkAsync("get", "certificate", "impostor", "-n", "intruder", "-o", "jsonpath={.status.serialNumber}"));
        Assert.DoesNotContain("impostor-ks", await fx.OkAsync("get", "secrets", "-n", "intruder", "-o", "name"), StringComparison.Ordinal);

        try
        {
            await ApplyAsync($"""
                apiVersion: notary.dev/v1alpha1
                kind: CertificatePolicy
                metadata: {"{"}name: {policy}{"}"}
                spec:
                  namespaceSelector:
                    matchLabels: {"{"}kubernetes.io/metadata.name: intruder{"}"}
                  dnsNames: [{fqdn}]
                """);

            await fx.OkAsync("wait", "--for=condition=Ready", $"certificatepolicy/{policy}", "--timeout=60s");
            Assert.Equal("Applied", await fx.OkAsync("get", "certificatepolicy", policy, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}"));

            // Issued without any change to the Certificate: the policy change woke it.
            await fx.OkAsync("wait", "--for=condition=Ready", "certificate/impostor", "-n", "intruder", "--timeout=60s");
            Assert.Equal("1", await fx.OkAsync("get", "certificate", "impostor", "-n", "intruder", "-o", "jsonpath={.metadata.generation}"));
            await fx.OkAsync("wait", "--for=condition=Ready", "keystore/impostor-ks", "-n", "intruder", "--timeout=60s");
            Assert.Contains("impostor-ks", await fx.OkAsync("get", "secrets", "-n", "intruder", "-o", "name"), StringComparison.Ordinal);
        }
        finally
        {
            await fx.KubectlAsync("delete", "certificatepolicy", policy, "--ignore-not-found");
            await fx.KubectlAsync("delete", "keystore,certificate", "--all", "-n", "intruder", "--timeout=60s");
        }
    }
}
