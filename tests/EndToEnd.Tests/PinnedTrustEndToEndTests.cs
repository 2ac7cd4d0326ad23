using Notary.Pki.Tests.Support;
using static Notary.EndToEnd.Tests.RealBreachFixture;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Issue 16's scenario in dev mode, judged by real Java mutual-TLS handshakes between stores read
/// back with kubectl: gateway, ledger, orders and intruder, all with certificates from the same
/// built-in CA. orders' truststore lists gateway (downstream) and ledger (upstream); intruder's
/// lists orders. Pinned (the default): gateway is accepted by orders, intruder is refused. A
/// quarantine of gateway makes orders refuse it; the lift makes orders accept it again.
/// </summary>
[Collection(RealBreachCollection.Name)]
[Trait("Category", "Slow")]
public sealed class PinnedTrustEndToEndTests(RealBreachFixture fx)
{
    private static readonly string MutualTls = Path.Combine(AppContext.BaseDirectory, "java", "MutualTls.java");

    [Fact]
    public async Task Orders_accepts_the_listed_gateway_refuses_the_same_ca_intruder_and_refuses_gateway_while_it_is_quarantined()
    {
        var ns = await fx.NamespaceAsync("pinned");
        string[] services = ["gateway", "ledger", "orders", "intruder"];
        await fx.ApplyAsync(Metadata(ns) + string.Concat(services.Select(s => Certificate(ns, s) + Keystore(ns, $"{s}-ks", s))));
        await fx.ApplyAsync(
            Truststore(ns, "orders-ts", "orders", upstream: [(ns, "ledger")], downstream: [(ns, "gateway")])
            + Truststore(ns, "gateway-ts", "gateway", upstream: [(ns, "orders")], downstream: [])
            + Truststore(ns, "ledger-ts", "ledger", upstream: [], downstream: [(ns, "orders")])
            + Truststore(ns, "intruder-ts", "intruder", upstream: [(ns, "orders")], downstream: []));
        await fx.ReadyAsync(ns);

        // Pinned by default: no CA entry, no TrustsIssuers condition.
        Assert.Equal("Pinned", await fx.OkAsync("get", "ts", "orders-ts", "-n", ns, "-o", "jsonpath={.spec.trust}"));
        Assert.Equal($"[\"orders.{ns}\",\"ledger.{ns}\",\"gateway.{ns}\"]", await fx.OkAsync("get", "ts", "orders-ts", "-n", ns, "-o", "jsonpath={.status.entries}"));
        Assert.Equal(string.Empty, await fx.OkAsync("get", "ts", "orders-ts", "-n", ns, "-o", "jsonpath={.status.conditions[?(@.type==\"TrustsIssuers\")].status}"));

        var orders = await ServiceAsync(ns, "orders");
        var gateway = await ServiceAsync(ns, "gateway");
        var intruder = await ServiceAsync(ns, "intruder");
        var ledger = await ServiceAsync(ns, "ledger");
        var ordersFqdn = Fqdn(ns, "orders");

        // gateway → orders and orders → ledger: listed both ways, accepted.
        AssertAccepted(await HandshakeAsync(server: orders, client: gateway, ordersFqdn), Fqdn(ns, "gateway"));
        AssertAccepted(await HandshakeAsync(server: ledger, client: orders, Fqdn(ns, "ledger")), Fqdn(ns, "orders"));

        // intruder → orders: the same CA signed its certificate, and intruder trusts orders, but
        // orders does not list intruder.
        AssertRefusedByServer(await HandshakeAsync(server: orders, client: intruder, ordersFqdn));

        // Quarantine gateway through the breach API: orders' rebuilt truststore refuses it.
        var (token, _) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get", "delete");
        var accepted = await fx.PostAsync(token, $"{ns}/gateway", "quarantine", "gateway's key was seen on a laptop");
        Assert.True(accepted.Status == 202, accepted.ToString());
        var done = await fx.FollowAsync(accepted.Location!, token);
        Assert.Equal("Completed", done.Json.GetProperty("phase").GetString());
        AssertRefusedByServer(await HandshakeAsync(server: await ServiceAsync(ns, "orders"), client: gateway, ordersFqdn));

        // Lifting it puts gateway back: accepted again.
        var lifted = await fx.CallAsync(HttpMethod.Delete, accepted.Location!, token);
        Assert.True(lifted.Status is 200 or 202, lifted.ToString());
        await UntilAsync(() => fx.OkAsync("get", "ts", "orders-ts", "-n", ns, "-o", "jsonpath={.status.entries}"), e => e.Contains($"gateway.{ns}", StringComparison.Ordinal), "gateway back in orders' truststore");
        AssertAccepted(await HandshakeAsync(server: await ServiceAsync(ns, "orders"), client: gateway, ordersFqdn), Fqdn(ns, "gateway"));
    }

    [Fact]
    public async Task The_schema_refuses_more_than_256_upstream_references_and_more_than_100_alt_names()
    {
        var ns = await fx.NamespaceAsync("limits");
        string Peers(int count) => count == 0
            ? " []"
            : string.Concat(Enumerable.Range(0, count).Select(i => $"\n    - tag: p{i}\n      fqdn: p{i}.{ns}.svc.cluster.local\n      namespace: {ns}"));
        string Store(string name, int upstream, int downstream, string trust = "Pinned") => $"""
            apiVersion: notary.dev/v1alpha1
            kind: Truststore
            metadata:
              name: {name}
              namespace: {ns}
            spec:
              fqdn: a.{ns}.svc.cluster.local
              certName: a
              trust: {trust}
              upstream:{Peers(upstream)}
              downstream:{Peers(downstream)}
            """;

        var tooMany = await fx.KubectlAsync("apply", "-f", fx.WriteText($"{ns}-257.yaml", Store("too-many", 257, 0)));
        Assert.NotEqual(0, tooMany.ExitCode);
        Assert.Contains("spec.upstream", tooMany.StdErr, StringComparison.Ordinal);
        Assert.Contains("must have at most 256 items", tooMany.StdErr, StringComparison.Ordinal);

        var tooManyDown = await fx.KubectlAsync("apply", "-f", fx.WriteText($"{ns}-257-down.yaml", Store("too-many-down", 0, 257)));
        Assert.NotEqual(0, tooManyDown.ExitCode);
        Assert.Contains("spec.downstream", tooManyDown.StdErr, StringComparison.Ordinal);

        await fx.OkAsync("apply", "-f", fx.WriteText($"{ns}-256.yaml", Store("just-enough", 256, 256)));

        var alt = string.Join(", ", Enumerable.Range(0, 101).Select(i => $"n{i}.example.com"));
        var tooManyAlt = await fx.KubectlAsync("apply", "-f", fx.WriteText($"{ns}-alt.yaml", $"""
            apiVersion: notary.dev/v1alpha1
            kind: Certificate
            metadata: {"{"}name: wide, namespace: {ns}{"}"}
            spec: {"{"}type: Private, fqdn: wide.example.com, alt: [{alt}]{"}"}
            """));
        Assert.NotEqual(0, tooManyAlt.ExitCode);
        Assert.Contains("spec.alt", tooManyAlt.StdErr, StringComparison.Ordinal);
        Assert.Contains("must have at most 100 items", tooManyAlt.StdErr, StringComparison.Ordinal);

        var bad = await fx.KubectlAsync("apply", "-f", fx.WriteText($"{ns}-trust.yaml", Store("bad-trust", 1, 0, trust: "Everything")));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("spec.trust", bad.StdErr, StringComparison.Ordinal);
        await fx.OkAsync("delete", "namespace", ns, "--wait=false");
    }

    private async Task<Stores> ServiceAsync(string ns, string name)
    {
        var keystore = await fx.SecretDataAsync(ns, $"{name}-ks");
        var truststore = await fx.SecretDataAsync(ns, $"{name}-ts");
        return new Stores(
            fx.Write($"{ns}-{name}-{Guid.NewGuid():N}-keystore.p12", keystore["keystore.p12"]), KeystorePassword(ns),
            fx.Write($"{ns}-{name}-{Guid.NewGuid():N}-truststore.p12", truststore["truststore.p12"]), TruststorePassword(ns));
    }

    private static Task<ToolResult> HandshakeAsync(Stores server, Stores client, string serverFqdn) =>
        ToolRunner.RunAsync("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", MutualTls, "PKCS12",
            server.Keystore, server.KeystorePassword, server.Truststore, server.TruststorePassword,
            client.Keystore, client.KeystorePassword, client.Truststore, client.TruststorePassword, serverFqdn);

    private static void AssertAccepted(ToolResult run, string clientFqdn)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"SERVER SAW CN={clientFqdn}", run.StdOut, StringComparison.Ordinal);
    }

    private static void AssertRefusedByServer(ToolResult run)
    {
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("SERVER FAILED: javax.net.ssl.SSLHandshakeException: PKIX path building failed", run.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("SERVER SAW", run.StdOut, StringComparison.Ordinal);
    }

    private sealed record Stores(string Keystore, string KeystorePassword, string Truststore, string TruststorePassword);
}
