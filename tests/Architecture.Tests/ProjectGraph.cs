using System.Xml.Linq;

namespace Notary.Architecture.Tests;

/// <summary>The projects under src/ and their ProjectReferences, read from the .csproj files.</summary>
public sealed class ProjectGraph
{
    private ProjectGraph(string root, IReadOnlyDictionary<string, ProjectNode> projects)
    {
        Root = root;
        Projects = projects;
    }

    /// <summary>The repository root: the directory holding Notary.Actors.sln.</summary>
    public string Root { get; }

    /// <summary>By project name (the .csproj file name without extension, e.g. "Grains.Abstractions").</summary>
    public IReadOnlyDictionary<string, ProjectNode> Projects { get; }

    public static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Notary.Actors.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"Notary.Actors.sln not found above {AppContext.BaseDirectory}.");
    }

    public static ProjectGraph Load()
    {
        var root = FindRoot();
        var src = Path.Combine(root, "src");
        var files = Directory.EnumerateFiles(src, "*.csproj", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .ToList();
        var projects = new Dictionary<string, ProjectNode>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var document = XDocument.Load(file);
            var directory = Path.GetDirectoryName(file)!;
            var references = document.Descendants()
                .Where(e => e.Name.LocalName == "ProjectReference")
                .Select(e => (string?)e.Attribute("Include") ?? throw new InvalidOperationException($"{file}: a ProjectReference without Include."))
                .Select(include => Path.GetFullPath(Path.Combine(directory, include.Replace('\\', Path.DirectorySeparatorChar))))
                .ToList();
            var packages = document.Descendants()
                .Where(e => e.Name.LocalName == "PackageReference")
                .Select(e => (string?)e.Attribute("Include") ?? string.Empty)
                .ToList();
            projects.Add(Path.GetFileNameWithoutExtension(file), new ProjectNode(Path.GetFileNameWithoutExtension(file), file, references, packages));
        }

        return new ProjectGraph(root, projects);
    }

    /// <summary>The name of the project a reference points to: its file name, whether or not it lies under src/.</summary>
    public static string NameOf(string referencePath) => Path.GetFileNameWithoutExtension(referencePath);

    /// <summary>Every project reachable from <paramref name="start"/> through references, transitively (not including it).</summary>
    public IReadOnlySet<string> Reachable(string start)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([start]);
        while (pending.TryPop(out var current))
        {
            if (!Projects.TryGetValue(current, out var node))
            {
                continue;
            }

            foreach (var reference in node.References.Select(NameOf))
            {
                if (seen.Add(reference))
                {
                    pending.Push(reference);
                }
            }
        }

        return seen;
    }
}

public sealed record ProjectNode(string Name, string Path, IReadOnlyList<string> References, IReadOnlyList<string> Packages);
