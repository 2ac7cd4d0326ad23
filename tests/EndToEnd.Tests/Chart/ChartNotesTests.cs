namespace Notary.EndToEnd.Tests.Chart;

/// <summary>
/// What helm prints after an install (templates/NOTES.txt), rendered by the real helm with a
/// client-side dry run: the warning that the silos cannot run without Redis shows when the values
/// leave Redis unset, and only then.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ChartNotesTests
{
    private const string Warning =
        "WARNING: no Redis is configured (cluster.redis.connectionString or cluster.redis.existingSecret.name):\n" +
        "the silos need it for membership, reminders and grain state.";

    internal static async Task<string> NotesAsync(params string[] values)
    {
        var result = await Helm.RunAsync(["install", "notary", Helm.ChartDirectory, "--namespace", "notary", "--dry-run=client", .. values]);
        Assert.True(result.ExitCode == 0, $"helm install --dry-run=client: {result}");
        var notes = result.StdOut.IndexOf("NOTES:", StringComparison.Ordinal);
        Assert.True(notes >= 0, $"helm printed no NOTES: {result}");
        return result.StdOut[notes..].ReplaceLineEndings("\n");
    }

    [Fact]
    public async Task Values_without_Redis_make_helm_warn_that_the_silos_need_it()
    {
        var notes = await NotesAsync();
        Assert.Contains(Warning, notes, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cluster.redis.connectionString=\"redis-master.redis:6380,password=p,ssl=true\"")]
    [InlineData("cluster.redis.existingSecret.name=\"notary-redis\"")]
    public async Task Values_with_Redis_print_no_warning(string value)
    {
        var notes = await NotesAsync("--set-json", value);
        Assert.Contains("Check it:", notes, StringComparison.Ordinal);
        Assert.DoesNotContain("WARNING", notes, StringComparison.Ordinal);
        Assert.DoesNotContain("no Redis", notes, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_HTTP_for_the_API_makes_helm_warn_loudly_and_HTTPS_does_not()
    {
        var redis = "cluster.redis.connectionString=\"redis-master.redis:6380,password=p,ssl=true\"";
        var plain = await NotesAsync("--set-json", redis, "--set", "tls.api=false");
        Assert.Contains("WARNING: THE HTTP API SERVES PLAIN HTTP (tls.api=false)", plain, StringComparison.Ordinal);
        Assert.Contains("bearer tokens", plain, StringComparison.Ordinal);

        var tls = await NotesAsync("--set-json", redis);
        Assert.DoesNotContain("PLAIN HTTP", tls, StringComparison.Ordinal);
    }
}
