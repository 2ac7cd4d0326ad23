using System.Text.RegularExpressions;
using Notary.Pki.Tests.Support;
using Xunit.Abstractions;

namespace Notary.EndToEnd.Tests.Cli;

/// <summary>
/// Renew now and the trust graph against dev mode: <c>kubectl annotate</c> and
/// <c>kubectl notary renew</c> re-issue (new serial, the old one still trusted beside it, the
/// Certificate showing the manual trigger); <c>kubectl notary graph</c> draws the namespace.
/// </summary>
[Collection(KubectlNotaryCollection.Name)]
[Trait("Category", "Slow")]
public sealed class RenewGraphCommandTests(KubectlNotaryFixture fx, ITestOutputHelper output)
{
    private async Task<ToolResult> NotaryAsync(params string[] args)
    {
        var result = await fx.NotaryAsync(args);
        output.WriteLine($"$ kubectl notary {string.Join(' ', args)}\n{result}");
        return result;
    }

    /// <summary>Certificates api and web, api's keystore, and web's truststore, which trusts api.</summary>
    private async Task<string> ServicesAsync(string prefix)
    {
        var ns = await fx.NamespaceAsync(prefix);
        await fx.ApplyAsync($$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: notary-metadata, namespace: {{ns}}}
            stringData:
              metadata.json: '{"tlsStoreRootPath": "/etc/tls", "tlsKeyStorePassword": "ks-pass-1", "tlsTrustStorePassword": "ts-pass-1"}'
            ---
            apiVersion: notary.dev/v1alpha1
            kind: Certificate
            metadata: {name: api, namespace: {{ns}}}
            spec: {type: Private, fqdn: api.{{ns}}.svc}
            ---
            apiVersion: notary.dev/v1alpha1
            kind: Certificate
            metadata: {name: web, namespace: {{ns}}}
            spec: {type: Private, fqdn: web.{{ns}}.svc}
            ---
            apiVersion: notary.dev/v1alpha1
            kind: Keystore
            metadata: {name: api, namespace: {{ns}}}
            spec: {fqdn: api.{{ns}}.svc, certName: api}
            ---
            apiVersion: notary.dev/v1alpha1
            kind: Truststore
            metadata: {name: web-trust, namespace: {{ns}}}
            spec:
              fqdn: web.{{ns}}.svc
              certName: web
              upstream: [{tag: api, fqdn: api.{{ns}}.svc, namespace: {{ns}}}]
              downstream: []
            """);
        await fx.OkAsync("wait", "--for=condition=Ready", "certificates,keystores,truststores", "--all", "-n", ns, "--timeout=90s");
        return ns;
    }

    private Task<string> JsonPathAsync(string ns, string name, string path) =>
        fx.OkAsync("get", "certificate", name, "-n", ns, "-o", $"jsonpath={path}");

    private async Task<string> OutcomeAsync(string ns, string token)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var recorded = (await JsonPathAsync(ns, "api", "{.status.lastManualRenewal.token} {.status.lastManualRenewal.outcome}")).Split(' ');
            if (recorded is [var t, var o] && t == token)
            {
                return o;
            }

            await Task.Delay(200, cts.Token);
        }
    }

    private async Task<string> NewSerialAsync(string ns, string before)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var serial = await JsonPathAsync(ns, "api", "{.status.serialNumber}");
            if (serial.Length > 0 && serial != before)
            {
                return serial;
            }

            await Task.Delay(200, cts.Token);
        }
    }

    [Fact]
    public async Task Kubectl_annotate_and_kubectl_notary_renew_re_issue_and_the_certificate_shows_it()
    {
        var ns = await ServicesAsync("renew");
        var first = await JsonPathAsync(ns, "api", "{.status.serialNumber}");

        // The annotation alone, with real kubectl: no spec change, the generation stays 1.
        await fx.OkAsync("annotate", "certificate", "api", "-n", ns, "notary.dev/renew=first");
        var second = await NewSerialAsync(ns, first);
        Assert.Equal("1", await JsonPathAsync(ns, "api", "{.metadata.generation}"));
        Assert.Equal("first Reissued", await JsonPathAsync(ns, "api", "{.status.lastManualRenewal.token} {.status.lastManualRenewal.outcome}"));
        // Make-before-break: the replaced certificate is still trusted beside the new one.
        Assert.Equal(first, await JsonPathAsync(ns, "api", "{.status.previousSerialNumber}"));
        var reasons = await fx.OkAsync("get", "events", "-n", ns, "-o", "jsonpath={range .items[*]}{.reason}{\"\\n\"}{end}");
        Assert.Contains("RenewRequested", reasons, StringComparison.Ordinal);

        // The tool: one line per certificate, a new token each time. During the first request's
        // roll (and within Rotation:MinManualRenewInterval) it re-issues nothing more: no storm.
        var renewed = await NotaryAsync("renew", "api", "-n", ns);
        Assert.True(renewed.ExitCode == 0, renewed.ToString());
        var token = Regex.Match(renewed.StdOut, @"^certificate\.notary\.dev/api renewal requested in namespace \S+ \(notary\.dev/renew=([^)]+)\)$", RegexOptions.Multiline);
        Assert.True(token.Success, renewed.StdOut);
        var outcome = await OutcomeAsync(ns, token.Groups[1].Value);
        Assert.True(outcome is "AlreadyIssuing" or "TooSoon", outcome);
        Assert.Equal(second, await JsonPathAsync(ns, "api", "{.status.serialNumber}"));

        // An unknown name: exit 1, the reason on stderr, the others still renewed.
        var unknown = await NotaryAsync("renew", "nope", "web", "-n", ns);
        Assert.True(unknown.ExitCode == 1, unknown.ToString());
        Assert.Contains("\"nope\" not found", unknown.StdErr, StringComparison.Ordinal);
        Assert.Contains("certificate.notary.dev/web renewal requested", unknown.StdOut, StringComparison.Ordinal);

        // --all: every Certificate of the namespace, in name order.
        var all = await NotaryAsync("renew", "--all", "-n", ns);
        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Equal(["api", "web"], Regex.Matches(all.StdOut, @"certificate\.notary\.dev/(\S+) renewal requested").Select(m => m.Groups[1].Value));

        var bad = await NotaryAsync("renew", "-n", ns);
        Assert.True(bad.ExitCode == 2, bad.ToString());
    }

    [Fact]
    public async Task Kubectl_notary_graph_draws_the_namespace_as_DOT_that_graphviz_reads_and_as_Mermaid()
    {
        var ns = await ServicesAsync("graph");

        var mermaid = await NotaryAsync("graph", "-n", ns, "-o", "mermaid");
        Assert.True(mermaid.ExitCode == 0, mermaid.ToString());
        Assert.StartsWith("flowchart LR\n", mermaid.StdOut, StringComparison.Ordinal);
        Assert.Contains($"  n0[\"{ns}/api<br/>ready\"]:::ready\n", mermaid.StdOut, StringComparison.Ordinal);
        Assert.Contains($"  n1[\"{ns}/web<br/>ready\"]:::ready\n", mermaid.StdOut, StringComparison.Ordinal);
        Assert.Contains("  n0 -->|\"web-trust\"| n1\n", mermaid.StdOut, StringComparison.Ordinal);

        var dot = await NotaryAsync("graph", "-n", ns);
        Assert.True(dot.ExitCode == 0, dot.ToString());
        var plain = await ToolRunner.RunAsync("dot", ["-Tplain"], standardInput: dot.StdOut);
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Contains($"edge \"{ns}/api\" \"{ns}/web\"", plain.StdOut, StringComparison.Ordinal);
        Assert.Equal(2, plain.StdOut.Split('\n').Count(l => l.StartsWith("node ", StringComparison.Ordinal)));

        var wrong = await NotaryAsync("graph", "-o", "svg");
        Assert.True(wrong.ExitCode == 2, wrong.ToString());
    }
}
