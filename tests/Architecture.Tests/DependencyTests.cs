using System.Text.RegularExpressions;

namespace Notary.Architecture.Tests;

/// <summary>
/// The project references under src/ follow the flow ARCHITECTURE.md draws: inbound (Watcher, HTTP
/// API) → grains → ports (Grains.Abstractions) ← adapters (Kubernetes, Aws); the host wires them;
/// dev mode and the in-memory API server stay out of the production host.
/// </summary>
public sealed partial class DependencyTests
{
    /// <summary>Which project may reference which: the same table as ARCHITECTURE.md's "Who may reference whom".</summary>
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        ["Pki"] = [],
        ["Grains.Abstractions"] = ["Pki"],
        ["Grains"] = ["Grains.Abstractions", "Pki"],
        ["CustomResources"] = ["Grains.Abstractions", "Pki"],
        ["Kubernetes"] = ["Grains.Abstractions", "Pki", "CustomResources"],
        ["Aws"] = ["Grains.Abstractions", "Pki"],
        ["Watcher"] = ["Grains.Abstractions", "CustomResources"],
        ["Api.Contracts"] = ["Grains.Abstractions", "CustomResources"],
        ["Silo"] = ["Grains.Abstractions", "Pki", "Grains", "CustomResources", "Kubernetes", "Aws", "Watcher", "Api.Contracts"],
        ["Dev"] = ["Silo", "DevCluster"],
        ["Cli"] = ["Api.Contracts", "CustomResources", "Grains.Abstractions", "Grains", "Pki"],
        ["DevCluster"] = [],
    };

    private readonly ProjectGraph _graph = ProjectGraph.Load();

    [Fact]
    public void Every_project_under_src_is_in_the_table_and_every_project_in_the_table_exists()
    {
        Assert.Empty(_graph.Projects.Keys.Except(Allowed.Keys).Order(StringComparer.Ordinal));
        Assert.Empty(Allowed.Keys.Except(_graph.Projects.Keys).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_project_reference_under_src_is_one_the_table_allows()
    {
        var violations = _graph.Projects.Values
            .SelectMany(project => project.References
                .Select(ProjectGraph.NameOf)
                .Where(reference => !Allowed.TryGetValue(project.Name, out var allowed) || !allowed.Contains(reference))
                .Select(reference => $"{project.Name} -> {reference}"))
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(violations.Count == 0, $"References against the flow (see ARCHITECTURE.md): {string.Join(", ", violations)}");
    }

    [Theory]
    [InlineData("DevCluster")]
    [InlineData("Dev")]
    [InlineData("Cli")]
    public void The_production_host_has_no_path_to(string project)
    {
        Assert.Contains("Silo", _graph.Projects.Keys);

        Assert.DoesNotContain(project, _graph.Reachable("Silo"));
    }

    [Theory]
    [InlineData("Kubernetes")]
    [InlineData("Aws")]
    [InlineData("Watcher")]
    [InlineData("CustomResources")]
    public void Adapters_and_the_watcher_reach_no_grain_implementation_and_no_host(string project)
    {
        var reachable = _graph.Reachable(project);

        Assert.DoesNotContain("Grains", reachable);
        Assert.DoesNotContain("Silo", reachable);
        Assert.DoesNotContain("Dev", reachable);
    }

    [Fact]
    public void The_watcher_reaches_no_adapter_implementation()
    {
        var reachable = _graph.Reachable("Watcher");

        Assert.DoesNotContain("Kubernetes", reachable);
        Assert.DoesNotContain("Aws", reachable);
    }

    [Fact]
    public void The_abstractions_use_no_package_but_the_Orleans_SDK_and_Pki_none_at_all_of_Orleans()
    {
        Assert.Equal(["Microsoft.Orleans.Sdk"], _graph.Projects["Grains.Abstractions"].Packages);
        Assert.DoesNotContain(_graph.Projects["Pki"].Packages, p => p.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));
    }

    [Fact]
    public void ARCHITECTURE_md_states_the_same_table()
    {
        var text = File.ReadAllLines(Path.Combine(_graph.Root, "ARCHITECTURE.md"));
        var start = Array.FindIndex(text, line => line.StartsWith("## Who may reference whom", StringComparison.Ordinal));
        Assert.True(start >= 0, "ARCHITECTURE.md has no section \"## Who may reference whom\"");
        var documented = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var line in text.Skip(start + 1).TakeWhile(line => !line.StartsWith("## ", StringComparison.Ordinal)))
        {
            var cells = line.Split('|', StringSplitOptions.TrimEntries);
            if (cells.Length < 4 || !cells[1].StartsWith('`'))
            {
                continue;
            }

            // "`A`, `B` — never `C`": only the names before the dash are allowed references.
            var allowedText = cells[2].Split('—')[0];
            documented[cells[1].Trim('`')] = [.. Code().Matches(allowedText).Select(m => m.Groups[1].Value)];
        }

        Assert.Equal(Allowed.Keys.Order(StringComparer.Ordinal), documented.Keys.Order(StringComparer.Ordinal));
        foreach (var (project, allowed) in Allowed)
        {
            Assert.True(
                allowed.Order(StringComparer.Ordinal).SequenceEqual(documented[project].Order(StringComparer.Ordinal)),
                $"{project}: ARCHITECTURE.md allows [{string.Join(", ", documented[project])}], the test [{string.Join(", ", allowed)}]");
        }
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Code();
}
