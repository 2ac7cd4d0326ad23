namespace Notary.Architecture.Tests;

/// <summary>
/// Reproducible restores: every project of the solution has its packages.lock.json (the build
/// writes them: Directory.Build.props RestorePackagesWithLockFile), and CI restores in locked
/// mode, so a package graph that differs from the committed one fails CI instead of being tested.
/// </summary>
public sealed class LockFileTests
{
    [Fact]
    public void Every_project_of_the_solution_has_a_lock_file_and_CI_restores_in_locked_mode()
    {
        var root = ProjectGraph.FindRoot();
        var projects = File.ReadLines(Path.Combine(root, "Notary.Actors.sln"))
            .Where(l => l.StartsWith("Project(", StringComparison.Ordinal) && l.Contains(".csproj", StringComparison.Ordinal))
            .Select(l => l.Split(',')[1].Trim().Trim('"').Replace('\\', Path.DirectorySeparatorChar))
            .ToList();
        Assert.True(projects.Count > 10, $"the solution lists {projects.Count} projects");

        var missing = projects.Where(p => !File.Exists(Path.Combine(root, Path.GetDirectoryName(p)!, "packages.lock.json"))).ToList();
        Assert.True(missing.Count == 0, $"No packages.lock.json beside: {string.Join(", ", missing)} (run dotnet restore and commit it)");

        Assert.Contains("<RestorePackagesWithLockFile>true</RestorePackagesWithLockFile>", File.ReadAllText(Path.Combine(root, "Directory.Build.props")), StringComparison.Ordinal);
        Assert.Contains("NOTARY_LOCKED_RESTORE=true", File.ReadAllText(Path.Combine(root, ".ci", "run")), StringComparison.Ordinal);
        Assert.Contains("--locked-mode", File.ReadAllText(Path.Combine(root, "scripts", "test.sh")), StringComparison.Ordinal);
        Assert.Contains("dotnet restore --locked-mode", File.ReadAllText(Path.Combine(root, "Dockerfile")), StringComparison.Ordinal);
    }
}
