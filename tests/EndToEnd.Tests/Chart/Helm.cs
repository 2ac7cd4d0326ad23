using System.Text.Json.Nodes;
using Notary.Pki.Tests.Support;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Notary.EndToEnd.Tests.Chart;

/// <summary>
/// The real helm (v4) against charts/notary. scripts/test.sh fetches it and exports NOTARY_HELM;
/// without it the chart tests fail saying so, rather than pass without having looked.
/// </summary>
public static class Helm
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string ChartDirectory => Path.Combine(RepositoryRoot, "charts", "notary");

    public static string Executable
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("NOTARY_HELM");
            if (string.IsNullOrEmpty(path))
            {
                path = Path.Combine(RepositoryRoot, ".tools", "helm", "helm");
            }

            Assert.True(File.Exists(path), $"helm not found at {path}: run scripts/test.sh (it fetches helm into .tools/helm) or set NOTARY_HELM.");
            return path;
        }
    }

    public static Task<ToolResult> RunAsync(params string[] args) =>
        ToolRunner.RunAsync(Executable, args, timeout: TimeSpan.FromSeconds(60), environment: new Dictionary<string, string>
        {
            // No user's helm settings or caches leak in.
            ["HELM_CACHE_HOME"] = Path.Combine(Path.GetTempPath(), "notary-helm-cache"),
            ["HELM_CONFIG_HOME"] = Path.Combine(Path.GetTempPath(), "notary-helm-config"),
            ["HELM_DATA_HOME"] = Path.Combine(Path.GetTempPath(), "notary-helm-data"),
        });

    /// <summary>helm template RELEASE charts/notary -n NAMESPACE with extra arguments (--set ...), as objects.</summary>
    public static async Task<List<JsonObject>> TemplateAsync(string release, string ns, params string[] args)
    {
        var result = await RunAsync(["template", release, ChartDirectory, "--namespace", ns, .. args]);
        Assert.True(result.ExitCode == 0, $"helm template: {result}");
        return ParseDocuments(result.StdOut);
    }

    /// <summary>Every YAML document as JSON (scalars stay strings: YAML's types do not matter here).</summary>
    public static List<JsonObject> ParseDocuments(string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var documents = new List<JsonObject>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (ToJson(deserializer.Deserialize<object?>(parser)) is JsonObject document)
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    private static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        IDictionary<object, object?> map => new JsonObject(map.Select(e => KeyValuePair.Create(e.Key.ToString()!, ToJson(e.Value)))),
        IList<object?> list => new JsonArray([.. list.Select(ToJson)]),
        _ => JsonValue.Create(value.ToString()),
    };

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Notary.Actors.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Notary.Actors.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The RBAC table of src/Kubernetes/README.md ("RBAC the adapters and the watcher need"), and rules as rows of it.</summary>
public static class RbacTable
{
    /// <summary>(Scope, API group, resource, verb): scope "cluster" (the ClusterRole) or "namespace" (the Role in Notary's namespace).</summary>
    public static HashSet<(string Scope, string Group, string Resource, string Verb)> FromReadme()
    {
        var lines = File.ReadAllLines(Path.Combine(Helm.RepositoryRoot, "src", "Kubernetes", "README.md"));
        var start = Array.FindIndex(lines, l => l.StartsWith("RBAC the adapters and the watcher need", StringComparison.Ordinal));
        Assert.True(start >= 0, "the README's RBAC table is gone");
        var rows = new HashSet<(string, string, string, string)>();
        foreach (var line in lines.Skip(start).SkipWhile(l => !l.StartsWith('|')).Skip(2).TakeWhile(l => l.StartsWith('|')))
        {
            var cells = line.Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            var group = cells[0] == "\"\"" ? "" : cells[0];
            var scope = cells[3] == "cluster" ? "cluster" : cells[3] == "Notary's namespace" ? "namespace" : throw new InvalidOperationException("unknown scope " + cells[3]);
            foreach (var resource in cells[1].Split(',', StringSplitOptions.TrimEntries))
            {
                foreach (var verb in cells[2].Split(',', StringSplitOptions.TrimEntries))
                {
                    rows.Add((scope, group, resource, verb));
                }
            }
        }

        Assert.NotEmpty(rows);
        return rows;
    }

    /// <summary>The rules of a rendered ClusterRole or Role as rows.</summary>
    public static IEnumerable<(string Scope, string Group, string Resource, string Verb)> Rows(JsonObject role, string scope) =>
        from rule in role["rules"]!.AsArray()
        from g in rule!["apiGroups"]!.AsArray()
        from r in rule["resources"]!.AsArray()
        from v in rule["verbs"]!.AsArray()
        select (scope, g!.GetValue<string>(), r!.GetValue<string>(), v!.GetValue<string>());
}
