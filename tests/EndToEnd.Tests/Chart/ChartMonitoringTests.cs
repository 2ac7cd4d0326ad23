using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Notary.Pki.Tests.Support;

namespace Notary.EndToEnd.Tests.Chart;

/// <summary>
/// What ships with the chart for monitoring (issue 19 §2): the PrometheusRule and the Grafana
/// dashboard, rendered by the real helm, the rules checked and unit-tested by the real promtool,
/// and every series they read one that Notary's code defines.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ChartMonitoringTests
{
    private const string DefaultRunbook = "https://github.com/notary/notary/blob/main/README.md";

    private static readonly string[] Alerts =
    [
        "NotaryCertificateExpiringSoon", "NotaryCertificateNotReady", "NotaryRenewalFailuresRising", "NotaryBreachFailed", "NotaryNoLeaderWatching",
    ];

    /// <summary>promtool from Debian's prometheus package (scripts/test.sh installs it when missing).</summary>
    private static Task<ToolResult> PromtoolAsync(params string[] args)
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        Assert.True(promtool is not null, "promtool not found: apt-get install -y prometheus (scripts/test.sh does)");
        return ToolRunner.RunAsync(promtool, args, timeout: TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Promtool_checks_the_rules_file_and_its_unit_tests_pass()
    {
        var check = await PromtoolAsync("check", "rules", Monitoring.RulesFile);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains($"SUCCESS: {Alerts.Length} rules found", check.StdOut + check.StdErr, StringComparison.Ordinal);

        var unit = await PromtoolAsync("test", "rules", Monitoring.RulesTestFile);
        Assert.True(unit.ExitCode == 0, unit.ToString());
        Assert.Contains("SUCCESS", unit.StdOut + unit.StdErr, StringComparison.Ordinal);

        // Every alert has cases (fires and does not) in the unit tests.
        var cases = File.ReadAllText(Monitoring.RulesTestFile);
        Assert.All(Alerts, a => Assert.True(Regex.Count(cases, $@"alertname: {a}\b") >= 2, $"{a} needs a case that fires and one that does not"));
    }

    [Fact]
    public void Every_alert_has_a_severity_a_summary_a_description_and_a_runbook_in_the_README()
    {
        var readme = File.ReadAllLines(Path.Combine(Helm.RepositoryRoot, "README.md"));
        var rules = Monitoring.Rules();
        Assert.Equal(Alerts, rules.Select(r => r.Alert));
        foreach (var (alert, _, rule) in rules)
        {
            Assert.Contains(rule["labels"]!["severity"]!.GetValue<string>(), new[] { "critical", "warning" });
            Assert.False(string.IsNullOrWhiteSpace(rule["annotations"]!["summary"]?.GetValue<string>()), alert);
            Assert.False(string.IsNullOrWhiteSpace(rule["annotations"]!["description"]?.GetValue<string>()), alert);
            Assert.Equal($"{DefaultRunbook}#{alert.ToLowerInvariant()}", rule["annotations"]!["runbook_url"]!.GetValue<string>());

            // GitHub's anchor of a heading "#### NotaryX" is "#notaryx"; the runbook says what to run.
            var heading = Array.FindIndex(readme, l => Regex.IsMatch(l, $@"^#+ {alert}$"));
            Assert.True(heading >= 0, $"README has no heading {alert}");
            var body = string.Join('\n', readme.Skip(heading + 1).TakeWhile(l => !l.StartsWith('#')));
            Assert.Contains("kubectl", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_PrometheusRule_renders_only_when_enabled_as_the_rules_file_with_the_configured_labels_and_runbooks()
    {
        var off = await Helm.TemplateAsync("notary", "notary");
        Assert.DoesNotContain(off, o => Kind(o) == "PrometheusRule");

        var objects = await Helm.TemplateAsync("notary", "notary",
            "--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=kube-prometheus-stack",
            "--set", "prometheusRule.namespace=monitoring", "--set", "prometheusRule.runbookBaseUrl=https://wiki.example/notary/");
        var rule = ChartTests.Single(objects, "PrometheusRule");
        Assert.Equal("monitoring.coreos.com/v1", rule["apiVersion"]!.GetValue<string>());
        Assert.Equal("monitoring", rule["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal("kube-prometheus-stack", rule["metadata"]!["labels"]!["release"]!.GetValue<string>());
        Assert.Equal("notary", rule["metadata"]!["labels"]!["app.kubernetes.io/instance"]!.GetValue<string>());

        // The same rules as the file promtool tests, only the runbook links moved.
        var spec = rule["spec"]!.AsObject();
        var rendered = Monitoring.Rules(spec);
        Assert.Equal(Monitoring.Rules().Select(r => (r.Alert, r.Expr)), rendered.Select(r => (r.Alert, r.Expr)));
        Assert.All(rendered, r => Assert.Equal($"https://wiki.example/notary#{r.Alert.ToLowerInvariant()}", r.Rule["annotations"]!["runbook_url"]!.GetValue<string>()));

        // And the rendered spec is a rule file promtool accepts.
        var file = Path.Combine(Path.GetTempPath(), $"notary-rendered-rules-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, spec.ToJsonString());
        try
        {
            var check = await PromtoolAsync("check", "rules", file);
            Assert.True(check.ExitCode == 0, check.ToString());
        }
        finally
        {
            File.Delete(file);
        }

        // The ServiceMonitor keeps Notary's namespace/name labels, which the rules group by.
        var monitor = ChartTests.Single(await Helm.TemplateAsync("notary", "notary", "--set", "serviceMonitor.enabled=true"), "ServiceMonitor");
        Assert.Equal("true", monitor["spec"]!["endpoints"]![0]!["honorLabels"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_dashboard_ConfigMap_renders_only_when_enabled_labelled_for_Grafanas_sidecar()
    {
        var off = await Helm.TemplateAsync("notary", "notary");
        Assert.DoesNotContain(off, o => Kind(o) == "ConfigMap" && o["metadata"]!["name"]!.GetValue<string>().EndsWith("-dashboard", StringComparison.Ordinal));

        var plain = ChartTests.Single(await Helm.TemplateAsync("notary", "notary", "--set", "grafanaDashboard.enabled=true"), "ConfigMap");
        Assert.Equal("1", plain["metadata"]!["labels"]!["grafana_dashboard"]!.GetValue<string>());
        Assert.Equal("notary", plain["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Null(plain["metadata"]!["annotations"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(Monitoring.DashboardFile)), JsonNode.Parse(plain["data"]!["notary.json"]!.GetValue<string>())),
            "the ConfigMap holds files/dashboards/notary.json as it is");

        var configured = ChartTests.Single(await Helm.TemplateAsync("notary", "notary",
            "--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.label=dashboards", "--set-string", "grafanaDashboard.labelValue=notary",
            "--set", "grafanaDashboard.namespace=grafana", "--set", "grafanaDashboard.folder=Platform",
            "--set", "grafanaDashboard.annotations.team=platform"), "ConfigMap");
        var metadata = configured["metadata"]!;
        Assert.Equal("notary", metadata["labels"]!["dashboards"]!.GetValue<string>());
        Assert.Null(metadata["labels"]!["grafana_dashboard"]);
        Assert.Equal("grafana", metadata["namespace"]!.GetValue<string>());
        Assert.Equal("Platform", metadata["annotations"]!["grafana_folder"]!.GetValue<string>());
        Assert.Equal("platform", metadata["annotations"]!["team"]!.GetValue<string>());

        var lint = await Helm.RunAsync("lint", "--strict", Helm.ChartDirectory, "--set", "grafanaDashboard.enabled=true", "--set", "prometheusRule.enabled=true", "--set", "grafanaDashboard.folder=Platform");
        Assert.True(lint.ExitCode == 0, lint.ToString());
    }

    [Fact]
    public void The_dashboard_picks_its_data_source_job_and_namespaces_and_shows_what_the_issue_asks()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(Monitoring.DashboardFile))!;
        var variables = dashboard["templating"]!["list"]!.AsArray().ToDictionary(v => v!["name"]!.GetValue<string>(), v => v!);
        Assert.Equal("datasource", variables["datasource"]["type"]!.GetValue<string>());
        Assert.Equal("prometheus", variables["datasource"]["query"]!.GetValue<string>());
        Assert.True(variables["namespace"]["multi"]!.GetValue<bool>());
        Assert.True(variables["namespace"]["includeAll"]!.GetValue<bool>());

        var panels = dashboard["panels"]!.AsArray().Where(p => p!["type"]!.GetValue<string>() != "row").ToList();
        foreach (var panel in panels)
        {
            Assert.Equal("${datasource}", panel!["datasource"]!["uid"]!.GetValue<string>());
            foreach (var target in panel["targets"]!.AsArray())
            {
                Assert.Equal("${datasource}", target!["datasource"]!["uid"]!.GetValue<string>());
                var expr = target["expr"]!.GetValue<string>();
                Assert.Contains("job=~\"$job\"", expr, StringComparison.Ordinal);
                if (expr.Contains("notary_certificate_", StringComparison.Ordinal) || expr.Contains("notary_store_", StringComparison.Ordinal))
                {
                    Assert.Contains("namespace=~\"$namespace\"", expr, StringComparison.Ordinal);
                }
            }
        }

        // Certificates by state, time to expiry, renewals and failures, store writes, breach progress, silo health.
        var used = panels.SelectMany(p => p!["targets"]!.AsArray()).SelectMany(t => PromQl.MetricNames(t!["expr"]!.GetValue<string>())).ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            "notary_certificate_ready_status", "notary_certificate_expiration_timestamp_seconds", "notary_certificate_renewals_total",
            "notary_certificate_failures_total", "notary_store_writes_total", "notary_breach_items", "notary_watcher_leading",
            "process_cpu_seconds_total", "process_working_set_bytes",
        }, used);
    }

    [Fact]
    public async Task Every_series_the_rules_and_the_dashboard_read_is_one_Notary_exports()
    {
        var exported = await Monitoring.ExportedNamesAsync();
        Assert.Contains("notary_certificate_expiration_timestamp_seconds", exported);
        Assert.Contains("process_cpu_seconds_total", exported);

        var queries = Monitoring.Rules().Select(r => ($"alert {r.Alert}", r.Expr)).Concat(Monitoring.DashboardQueries()).ToList();
        Assert.True(queries.Count > 20, $"only {queries.Count} queries found");
        var unknown = (from q in queries
                       let names = PromQl.MetricNames(q.Item2)
                       from name in names
                       where !exported.Contains(name)
                       select $"{q.Item1}: {name}").ToList();
        Assert.True(unknown.Count == 0, "series Notary does not export: " + string.Join("; ", unknown));
        Assert.All(queries, q => Assert.NotEmpty(PromQl.MetricNames(q.Item2)));
    }

    private static string Kind(JsonObject o) => o["kind"]?.GetValue<string>() ?? "";
}

/// <summary>The small PromQL tokenizer the monitoring tests read series names with.</summary>
public sealed class PromQlTests
{
    [Theory]
    [InlineData("up", "up")]
    [InlineData("sum by (namespace, name) (increase(notary_a_total{namespace=~\"$namespace\", x='by(y)'}[3h])) > 1.5", "notary_a_total")]
    [InlineData("max by (pod) (a) - ignoring(pod) group_left(kind) b offset 5m or on(x) vector(0)", "a b")]
    [InlineData("count(x == 1) or absent(y) unless time() < 7 * 86400 and 1e12 > bool z", "x y z")]
    [InlineData("rate(process_cpu_seconds_total{job=~\"$job\"}[$__rate_interval])", "process_cpu_seconds_total")]
    [InlineData("histogram_quantile(0.9, sum without (le) (rate(h_bucket[5m])))", "h_bucket")]
    public void Series_names_are_the_identifiers_that_are_neither_functions_keywords_labels_nor_variables(string expr, string expected) =>
        Assert.Equal(expected.Split(' ').Order(StringComparer.Ordinal), PromQl.MetricNames(expr).Order(StringComparer.Ordinal));
}
