using Notary.EndToEnd.Tests.Support;
using Notary.Pki.Tests.Support;
using Xunit.Abstractions;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// The <c>breach</c> command as an on-call engineer runs it: the real binary against the dev host
/// (real tokens and RBAC, the fake breach service), its output and its exit codes.
/// </summary>
[Collection(BreachCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BreachCommandTests(BreachFixture fx, ITestOutputHelper output)
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "Notary.Cli.dll");

    /// <summary>Runs <c>breach ARGS</c> with <c>NOTARY_TOKEN</c> (the way the usage recommends) and the dev host's URL.</summary>
    private async Task<ToolResult> BreachAsync(string? token, params string[] args)
    {
        // "breach NAMESPACE/NAME ..." reads as "breach report NAMESPACE/NAME ...".
        string[] command = args.Length > 0 && args[0] is "status" or "lift" ? ["breach", .. args] : ["breach", "report", .. args];
        var result = await ToolRunner.RunAsync("dotnet", [Cli, .. command], timeout: TimeSpan.FromSeconds(60), environment: new Dictionary<string, string>
        {
            ["NOTARY_TOKEN"] = token ?? string.Empty,
            ["NOTARY_SERVER"] = fx.Dev.ApiUrl.ToString(),
        });
        output.WriteLine($"$ breach {string.Join(' ', args)}\n{result}");
        return result;
    }

    [Fact]
    public async Task A_dry_run_prints_the_impact_grouped_by_kind_and_exits_0()
    {
        var ns = await fx.NamespaceAsync();
        var (token, _) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get");

        var result = await BreachAsync(token, $"{ns}/web", "--mode", "rotate", "--reason", "leaked in CI logs", "--dry-run");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Dry run: a rotate breach of {ns}/web would change 5 items:", result.StdOut, StringComparison.Ordinal);
        Assert.Contains($"  Truststore (2)\n    {ns}/clients\n    {ns}/partners\n", result.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains($"  Deployment (1)\n    {ns}/api\n", result.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("nothing was changed", result.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("Following", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rotation_is_followed_to_the_end_and_each_items_final_status_printed()
    {
        var ns = await fx.NamespaceAsync();
        var (token, user) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get");

        var result = await BreachAsync(token, $"{ns}/web", "--mode", "rotate", "--reason", "key on a stolen laptop", "--timeout", "30s");

        Assert.True(result.ExitCode == 0, result.ToString());
        var id = System.Text.RegularExpressions.Regex.Match(result.StdOut, @"Breach (\S+) \(rotate of").Groups[1].Value;
        Assert.StartsWith($"{ns}.web-", id, StringComparison.Ordinal);
        Assert.Contains($"Breach {id} (rotate of {ns}/web, reported by {user}): InProgress, 5 items:", result.StdOut, StringComparison.Ordinal);
        Assert.Contains($"  Keystore (1)\n    {ns}/web-keystore", result.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains($"Breach {id}: Completed", result.StdOut, StringComparison.Ordinal);
        foreach (var item in new[] { $"Certificate {ns}/web", $"Keystore {ns}/web-keystore", $"Truststore {ns}/clients", $"Truststore {ns}/partners", $"Deployment {ns}/api" })
        {
            Assert.Contains($"  {item}: Completed", result.StdOut, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_failed_item_prints_its_reason_and_exits_1()
    {
        var ns = await fx.NamespaceAsync();
        var (token, _) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get");

        var result = await BreachAsync(token, $"{ns}/web", "--mode", "quarantine", "--reason", $"compromised {FakeBreachService.FailMarker}");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains(": Failed (1 item failed)", result.StdOut, StringComparison.Ordinal);
        Assert.Contains($"  Deployment {ns}/api: Failed: {FakeBreachService.FailureReason}", result.StdOut, StringComparison.Ordinal);
        Assert.Contains($"  Truststore {ns}/clients: Completed", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_quarantine_is_lifted_with_breach_lift_and_a_rotation_cannot_be()
    {
        var ns = await fx.NamespaceAsync();
        var (token, _) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get", "delete");
        var quarantine = await BreachAsync(token, $"{ns}/web", "--mode", "quarantine", "--reason", "suspicious issuance");
        Assert.True(quarantine.ExitCode == 0, quarantine.ToString());
        var id = System.Text.RegularExpressions.Regex.Match(quarantine.StdOut, @"Breach (\S+) \(quarantine of").Groups[1].Value;
        Assert.StartsWith($"{ns}.web-", id, StringComparison.Ordinal);

        var lift = await BreachAsync(token, "lift", id);

        Assert.True(lift.ExitCode == 0, lift.ToString());
        Assert.Contains($"Quarantine {id} lifted.", lift.StdOut, StringComparison.Ordinal);

        var rotation = await fx.PostAsync(fx.AdminToken, new { certificate = $"{ns}/api", mode = "rotate", reason = "r" });
        var refused = await BreachAsync(token, "lift", rotation.Json.GetProperty("id").GetString()!);
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains("(409)", refused.StdErr, StringComparison.Ordinal);
        Assert.Contains("only a quarantine can be lifted", refused.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusals_say_why_and_exit_1()
    {
        var ns = await fx.NamespaceAsync();
        var (bystander, user) = await fx.ServiceAccountAsync(ns, "bystander");

        var forbidden = await BreachAsync(bystander, $"{ns}/web", "--mode", "rotate", "--reason", "r");
        var garbage = await BreachAsync("not-a-token", $"{ns}/web", "--mode", "rotate", "--reason", "r");
        var unreachable = await BreachAsync(bystander, $"{ns}/web", "--mode", "rotate", "--reason", "r", "--server", $"http://127.0.0.1:{FreePorts.Next()}");

        Assert.True(forbidden.ExitCode == 1, forbidden.ToString());
        Assert.Contains($"Not allowed (403): {user} may not create breaches.notary.dev in namespace {ns}", forbidden.StdErr, StringComparison.Ordinal);
        Assert.True(garbage.ExitCode == 1, garbage.ToString());
        Assert.Contains("Notary did not accept the token (401)", garbage.StdErr, StringComparison.Ordinal);
        Assert.True(unreachable.ExitCode == 1, unreachable.ToString());
        Assert.Contains("Could not reach Notary", unreachable.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain(bystander, forbidden.Output + unreachable.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("token", new[] { "shop/web", "--reason", "r" }, "--mode is required")]
    [InlineData("token", new[] { "shop/web", "--mode", "revoke", "--reason", "r" }, "--mode \"revoke\" is not rotate or quarantine")]
    [InlineData("token", new[] { "shop/web", "--mode", "rotate" }, "--reason is required")]
    [InlineData("token", new[] { "web", "--mode", "rotate", "--reason", "r" }, "certificate must be NAMESPACE/NAME")]
    [InlineData("token", new[] { "shop/web", "--mode", "rotate", "--reason", "r", "--timeout", "soon" }, "--timeout \"soon\"")]
    [InlineData("token", new[] { "shop/web", "--mode", "rotate", "--reason", "r", "--server", "ftp://x" }, "--server \"ftp://x\"")]
    [InlineData("token", new[] { "lift", "b-123" }, "\"b-123\" is not a breach id")]
    [InlineData("token", new[] { "shop/web", "--mode", "rotate", "--reason", "r", "--server", "http://notary.notary.svc:8080" }, "plain http to another host")]
    [InlineData("token", new[] { "status", "shop.web-1a2b3c4d", "--server", "http://10.0.0.7:8080" }, "plain http to another host")]
    [InlineData("", new[] { "shop/web", "--mode", "rotate", "--reason", "r" }, "A Kubernetes bearer token is required")]
    public async Task Bad_arguments_exit_2_and_say_which(string token, string[] args, string expected)
    {
        var result = await BreachAsync(token, args);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.StdErr, StringComparison.Ordinal);
    }
}
