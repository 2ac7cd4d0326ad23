using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Notary.Silo.Metrics;
using Prometheus;

namespace Notary.EndToEnd.Tests.Chart;

/// <summary>The chart's alert rules and dashboard as files, and the PromQL they hold.</summary>
public static class Monitoring
{
    public static string RulesFile => Path.Combine(Helm.ChartDirectory, "files", "notary-rules.yaml");

    public static string DashboardFile => Path.Combine(Helm.ChartDirectory, "files", "dashboards", "notary.json");

    public static string RulesTestFile => Path.Combine(Helm.RepositoryRoot, "tests", "EndToEnd.Tests", "Chart", "promtool", "notary-rules.test.yaml");

    /// <summary>Every rule of the rules file: (alert name, expression, rule object).</summary>
    public static IReadOnlyList<(string Alert, string Expr, JsonObject Rule)> Rules() => Rules(Helm.ParseDocuments(File.ReadAllText(RulesFile)).Single());

    public static IReadOnlyList<(string Alert, string Expr, JsonObject Rule)> Rules(JsonObject ruleFile) =>
        [.. from g in ruleFile["groups"]!.AsArray()
            from r in g!["rules"]!.AsArray()
            select (r!["alert"]!.GetValue<string>(), r["expr"]!.GetValue<string>(), r.AsObject())];

    /// <summary>Every query of the dashboard: each panel target's expression, and each variable's query (label_values' series only).</summary>
    public static IReadOnlyList<(string Where, string Expr)> DashboardQueries(JsonNode? dashboard = null)
    {
        dashboard ??= JsonNode.Parse(File.ReadAllText(DashboardFile))!;
        var queries = new List<(string, string)>();
        foreach (var panel in dashboard["panels"]!.AsArray())
        {
            foreach (var target in panel!["targets"]?.AsArray() ?? [])
            {
                queries.Add(($"panel \"{panel["title"]}\"", target!["expr"]!.GetValue<string>()));
            }
        }

        foreach (var variable in dashboard["templating"]!["list"]!.AsArray())
        {
            if (variable!["type"]!.GetValue<string>() == "query")
            {
                var query = variable["query"]!["query"]!.GetValue<string>();
                var labelValues = Regex.Match(query, @"^label_values\((.+),\s*[a-zA-Z_]\w*\)$");
                queries.Add(($"variable ${variable["name"]}", labelValues.Success ? labelValues.Groups[1].Value : query));
            }
        }

        return queries;
    }

    /// <summary>
    /// The series names Notary's code defines: the name constants of
    /// <see cref="PrometheusNotaryMetrics"/> (by reflection) and every family the host's registry
    /// exports (<see cref="MetricsServiceCollectionExtensions.AddNotaryMetrics"/>: the process and
    /// .NET runtime figures), histograms and summaries with their _bucket/_sum/_count series.
    /// </summary>
    public static async Task<HashSet<string>> ExportedNamesAsync()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in typeof(PrometheusNotaryMetrics).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field is { IsLiteral: true } && field.GetRawConstantValue() is string value && value.StartsWith("notary_", StringComparison.Ordinal))
            {
                names.Add(value);
            }
        }

        var services = new ServiceCollection().AddLogging().AddNotaryMetrics().BuildServiceProvider();
        await using (services)
        {
            _ = services.GetRequiredService<PrometheusNotaryMetrics>();
            using var stream = new MemoryStream();
            await services.GetRequiredService<CollectorRegistry>().CollectAndExportAsTextAsync(stream);
            stream.Position = 0;
            foreach (var line in new StreamReader(stream).ReadToEnd().Split('\n'))
            {
                var type = Regex.Match(line, @"^# TYPE (\S+) (\S+)");
                if (type.Success)
                {
                    var name = type.Groups[1].Value;
                    names.Add(name);
                    if (type.Groups[2].Value is "histogram" or "summary")
                    {
                        names.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
                    }
                }
            }
        }

        return names;
    }
}

/// <summary>
/// The series names a PromQL expression selects: identifiers that are not functions or
/// aggregations (followed by "("), keywords, label names (inside {...} or the lists after
/// by/without/on/ignoring/group_left/group_right), durations ([...]), strings, numbers or
/// Grafana variables ($name).
/// </summary>
public static partial class PromQl
{
    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan",
    };

    public static IReadOnlySet<string> MetricNames(string expr)
    {
        var text = Strings().Replace(expr, " ");
        text = Braces().Replace(text, " ");
        text = Brackets().Replace(text, " ");
        text = LabelLists().Replace(text, " ");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match match in Identifiers().Matches(text))
        {
            var rest = text[(match.Index + match.Length)..].TrimStart();
            if (rest.StartsWith('(') || Keywords.Contains(match.Value))
            {
                continue;
            }

            names.Add(match.Value);
        }

        return names;
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Braces();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Brackets();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", RegexOptions.IgnoreCase)]
    private static partial Regex LabelLists();

    [GeneratedRegex(@"(?<![\w.$:])[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifiers();
}
