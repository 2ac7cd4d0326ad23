namespace Notary.Architecture.Tests;

/// <summary>
/// Small grains with one concern each: no file of src/Grains is over 500 lines. A grain that
/// grows past it is split by concern (partial files, or collaborators such as DurableRetry) rather
/// than let grow, as CertificateGrain (985 lines) and StoreGrain (622) once did.
/// </summary>
public sealed class GrainSizeTests
{
    private const int MaxLines = 500;

    [Fact]
    public void No_file_of_the_grains_is_over_500_lines()
    {
        var grains = Path.Combine(ProjectGraph.FindRoot(), "src", "Grains");
        var files = Directory.EnumerateFiles(grains, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.Contains(files, f => Path.GetFileName(f) == "CertificateGrain.cs");

        var over = files.Select(f => (File: Path.GetRelativePath(grains, f), Lines: File.ReadLines(f).Count()))
            .Where(f => f.Lines > MaxLines)
            .Select(f => $"{f.File} ({f.Lines} lines)")
            .ToList();

        Assert.True(over.Count == 0, $"Over {MaxLines} lines, split by concern: {string.Join(", ", over)}");
    }
}
