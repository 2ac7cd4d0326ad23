using System.Text;
using Notary.Pki.Tests.Support;
using static Notary.EndToEnd.Tests.RealBreachFixture;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Breaches as resources, in dev mode with real kubectl: a Breach applied with kubectl (native
/// RBAC, no HTTP API) is acted on and its status shows the progress; <c>kubectl get br -A</c>
/// lists it with its columns; <c>kubectl create role --resource=breaches.notary.dev</c> works;
/// quarantines are counted, and deleting the last one (its finalizer) brings the certificate
/// back. Trust is judged by <c>openssl verify -partial_chain</c> of the service's served
/// certificate (its keystore Secret's tls.crt) against the truststore Secret's ca.crt.
/// </summary>
[Collection(RealBreachCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BreachResourceTests(RealBreachFixture fx)
{
    private static string Breach(string ns, string name, string certificate, string mode, string reason = "seen on a laptop") => $"""
        apiVersion: notary.dev/v1alpha1
        kind: Breach
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          certificate: {certificate}
          mode: {mode}
          reason: {reason}
        ---

        """;

    private async Task<string> ServiceAsync(string ns)
    {
        await fx.ApplyAsync(
            Metadata(ns) + Certificate(ns, "orders") + Keystore(ns, "orders-ks", "orders") + Certificate(ns, "web")
            + Truststore(ns, "web-ts", "web", upstream: [], downstream: [(ns, "orders")]));
        await fx.ReadyAsync(ns);
        return ns;
    }

    /// <summary>openssl verify -partial_chain: does web's truststore (its stored ca.crt) accept the certificate orders serves?</summary>
    private async Task<bool> WebTrustsOrdersAsync(string ns)
    {
        var ca = fx.WriteText($"ca-{Guid.NewGuid():N}.crt", Encoding.ASCII.GetString((await fx.SecretDataAsync(ns, "web-ts"))["ca.crt"]));
        var leaf = fx.WriteText($"leaf-{Guid.NewGuid():N}.crt", Encoding.ASCII.GetString((await fx.SecretDataAsync(ns, "orders-ks"))["tls.crt"]).Split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n");
        var result = await ToolRunner.RunAsync("openssl", ["verify", "-partial_chain", "-purpose", "sslclient", "-CAfile", ca, leaf]);
        return result.ExitCode == 0;
    }

    private Task<string> PhaseAsync(string ns, string name) =>
        UntilAsync(() => fx.OkAsync("get", "breach", name, "-n", ns, "-o", "jsonpath={.status.phase}"), p => p is "Completed" or "Failed", $"breach {name} finished");

    [Fact]
    public async Task A_Breach_applied_with_kubectl_is_acted_on_its_status_shows_progress_and_kubectl_get_br_lists_it()
    {
        var ns = await ServiceAsync(await fx.NamespaceAsync("brk"));
        var orders = await fx.CertificateStatusAsync(ns, "orders");
        Assert.True(await WebTrustsOrdersAsync(ns));

        await fx.ApplyAsync(Breach(ns, "leak", "orders", "rotate"));

        Assert.Equal("Completed", await PhaseAsync(ns, "leak"));
        var status = (await fx.JsonAsync("get", "br", "leak", "-n", ns)).GetProperty("status");
        Assert.Contains(status.GetProperty("items").EnumerateArray(), i => i.GetProperty("kind").GetString() == "Certificate" && i.GetProperty("status").GetString() == "Completed");
        Assert.Contains(status.GetProperty("items").EnumerateArray(), i => i.GetProperty("kind").GetString() == "Keystore" && i.GetProperty("name").GetString() == "orders-ks");
        Assert.True(status.TryGetProperty("started", out _) && status.TryGetProperty("finished", out _), status.ToString());
        Assert.Contains("notary.dev/cleanup", await fx.OkAsync("get", "br", "leak", "-n", ns, "-o", "jsonpath={.metadata.finalizers}"), StringComparison.Ordinal);
        var rotated = await UntilAsync(() => fx.CertificateStatusAsync(ns, "orders"), c => c.Serial != orders.Serial, "the rotation");
        Assert.Equal(orders.Revision + 1, rotated.Revision);
        Assert.True(await UntilAsync(() => WebTrustsOrdersAsync(ns), ok => ok, "web trusts orders' new certificate"));

        var table = await fx.OkAsync("get", "br", "-A");
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["NAMESPACE", "NAME", "CERTIFICATE", "MODE", "PHASE", "AGE"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var n, "leak", "orders", "rotate", "Completed", _] && n == ns);

        // The Breach is the record: deleting a finished rotation removes the record, nothing is rotated again.
        await fx.OkAsync("delete", "br", "leak", "-n", ns, "--timeout=60s");
        Assert.Equal(rotated.Serial, (await fx.CertificateStatusAsync(ns, "orders")).Serial);
    }

    [Fact]
    public async Task Two_quarantines_of_one_certificate_keep_it_out_until_the_last_is_deleted()
    {
        var ns = await ServiceAsync(await fx.NamespaceAsync("brq"));
        Assert.True(await WebTrustsOrdersAsync(ns));

        await fx.ApplyAsync(Breach(ns, "first", "orders", "quarantine") + Breach(ns, "second", "orders", "quarantine", "seen again"));
        Assert.Equal("Completed", await PhaseAsync(ns, "first"));
        Assert.Equal("Completed", await PhaseAsync(ns, "second"));
        Assert.False(await UntilAsync(() => WebTrustsOrdersAsync(ns), ok => !ok, "web refuses quarantined orders"));

        // One deleted (its finalizer ran): the other still holds orders out.
        await fx.OkAsync("delete", "br", "first", "-n", ns, "--timeout=60s");
        Assert.Equal("True", (await fx.CertificateStatusAsync(ns, "orders")).Conditions.GetValueOrDefault("Compromised"));
        Assert.False(await WebTrustsOrdersAsync(ns), "deleting one of two quarantines put the certificate back");

        // The last deleted: orders is back before the Breach is gone.
        await fx.OkAsync("delete", "br", "second", "-n", ns, "--timeout=60s");
        Assert.True(await WebTrustsOrdersAsync(ns), "the certificate was not back when the last quarantine's Breach was gone");
        Assert.Equal("False", (await fx.CertificateStatusAsync(ns, "orders")).Conditions.GetValueOrDefault("Compromised"));
    }

    [Fact]
    public async Task Kubectl_create_role_names_breaches_and_the_role_lets_its_holder_apply_one()
    {
        var ns = await ServiceAsync(await fx.NamespaceAsync("brr"));
        await fx.OkAsync("create", "role", "reporter", "--resource=breaches.notary.dev", "--verb=create", "--verb=get", "-n", ns);
        await fx.OkAsync("create", "serviceaccount", "bot", "-n", ns);
        await fx.OkAsync("create", "rolebinding", "reporter", "--role=reporter", $"--serviceaccount={ns}:bot", "-n", ns);

        var token = (await fx.OkAsync("create", "token", "bot", "-n", ns, "--duration=1h")).Trim();
        fx.Tokens.Add(token);
        var allowed = await fx.KubectlAsync("auth", "can-i", "create", "breaches.notary.dev", "-n", ns, $"--token={token}");
        Assert.Equal("yes", allowed.StdOut.Trim());
        var notDelete = await fx.KubectlAsync("auth", "can-i", "delete", "breaches.notary.dev", "-n", ns, $"--token={token}");
        Assert.Equal("no", notDelete.StdOut.Trim());
    }
}
