using Notary.EndToEnd.Tests.Chart;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// The chart's dashboard against what dev mode really serves: with a Certificate, Keystore,
/// Truststore and a quarantine Breach applied through kubectl, a scrape of /metrics holds every
/// series each panel's (and variable's) query reads.
/// </summary>
[Collection(DevCollection.Name)]
[Trait("Category", "Slow")]
public sealed class DashboardMetricsTests(DevFixture fx)
{
    private const string Metadata = """{"tlsStoreRootPath":"/etc/tls","tlsKeyStorePassword":"ks-password","tlsTrustStorePassword":"ts-password"}""";

    [Fact]
    public async Task Every_series_a_dashboard_query_reads_is_in_a_scrape_of_dev_modes_metrics()
    {
        var ns = "scrape-" + Guid.NewGuid().ToString("N")[..8];
        var fqdn = $"api.{ns}.svc";
        await fx.OkAsync("create", "namespace", ns);
        await fx.OkAsync("create", "secret", "generic", "notary-metadata", "-n", ns, $"--from-literal=metadata.json={Metadata}");
        await fx.OkAsync("apply", "-f", fx.WriteText($"{ns}.yaml", $$"""
            apiVersion: notary.dev/v1alpha1
            kind: Certificate
            metadata:
              name: api
              namespace: {{ns}}
            spec:
              type: Private
              fqdn: {{fqdn}}
              privateKey: {algorithm: ECDSA, size: 256}
            ---
            apiVersion: notary.dev/v1alpha1
            kind: Keystore
            metadata:
              name: api-keystore
              namespace: {{ns}}
            spec:
              fqdn: {{fqdn}}
              certName: api
            ---
            apiVersion: notary.dev/v1alpha1
            kind: Truststore
            metadata:
              name: api-truststore
              namespace: {{ns}}
            spec:
              fqdn: {{fqdn}}
              certName: api
              upstream: []
              downstream: []
            """));
        await fx.OkAsync("wait", "--for=condition=Ready", "certificates,keystores,truststores", "--all", "-n", ns, "--timeout=90s");
        await fx.OkAsync("apply", "-f", fx.WriteText($"{ns}-breach.yaml", $$"""
            apiVersion: notary.dev/v1alpha1
            kind: Breach
            metadata:
              name: leak
              namespace: {{ns}}
            spec: {certificate: api, mode: quarantine, reason: dashboard test}
            """));
        await UntilAsync(async () => await fx.OkAsync("get", "breach", "leak", "-n", ns, "-o", "jsonpath={.status.phase}") == "Completed", "the breach completed");

        try
        {
            using var http = new HttpClient();
            var scrape = await http.GetStringAsync(new Uri(fx.Dev.ApiUrl, "/metrics"));
            var series = scrape.Split('\n')
                .Where(l => l.Length > 0 && !l.StartsWith('#'))
                .Select(l => l[..l.IndexOfAny(['{', ' '])])
                .ToHashSet(StringComparer.Ordinal);

            // This namespace's resources are there, each with its labels.
            Assert.Contains($"notary_certificate_ready_status{{namespace=\"{ns}\",name=\"api\"}} 1", scrape, StringComparison.Ordinal);
            Assert.Contains($"notary_store_writes_total{{kind=\"Truststore\",namespace=\"{ns}\",name=\"api-truststore\"}}", scrape, StringComparison.Ordinal);
            Assert.Contains($"notary_breach_items{{namespace=\"{ns}\",name=\"leak\",mode=\"quarantine\",status=\"Completed\"}}", scrape, StringComparison.Ordinal);
            Assert.Contains("notary_watcher_leading 1", scrape, StringComparison.Ordinal);

            var missing = (from q in Monitoring.DashboardQueries()
                           from name in PromQl.MetricNames(q.Expr)
                           where !series.Contains(name)
                           select $"{q.Where}: {name}").ToList();
            Assert.True(missing.Count == 0, "not in the scrape: " + string.Join("; ", missing));
        }
        finally
        {
            await fx.OkAsync("delete", "breach", "leak", "-n", ns, "--timeout=60s");
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(200);
        }
    }
}
