using Xunit.Abstractions;

namespace Notary.EndToEnd.Tests.Cli;

/// <summary>
/// <c>kubectl notary</c> as an operator runs it: packed, installed with <c>dotnet tool install</c>,
/// found by kubectl as a plugin, against dev mode; each command's output and exit code.
/// </summary>
[Collection(KubectlNotaryCollection.Name)]
[Trait("Category", "Slow")]
public sealed partial class KubectlNotaryTests(KubectlNotaryFixture fx, ITestOutputHelper output)
{
    private async Task<Notary.Pki.Tests.Support.ToolResult> NotaryAsync(params string[] args)
    {
        var result = await fx.NotaryAsync(args);
        output.WriteLine($"$ kubectl notary {string.Join(' ', args)}\n{result}");
        return result;
    }

    [Fact]
    public async Task Kubectl_finds_the_installed_tool_as_a_plugin_and_every_command_has_help()
    {
        var plugins = await KubectlPluginListAsync();
        Assert.Contains("kubectl-notary", plugins, StringComparison.Ordinal);

        var help = await NotaryAsync("--help");

        Assert.True(help.ExitCode == 0, help.ToString());
        foreach (var command in new[] { "breach", "--kubeconfig", "--context", "--namespace" })
        {
            Assert.Contains(command, help.StdOut, StringComparison.Ordinal);
        }

        var breachHelp = await NotaryAsync("breach", "report", "--help");
        Assert.True(breachHelp.ExitCode == 0, breachHelp.ToString());
        Assert.Contains("--mode", breachHelp.StdOut, StringComparison.Ordinal);

        // Read as a kubectl plugin, never as the assembly System.CommandLine would name it.
        Assert.Contains("Usage:\n  kubectl notary [command] [options]", help.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("Usage:\n  kubectl notary breach report <NAMESPACE/NAME> [options]", breachHelp.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("Notary.Cli", help.StdOut + breachHelp.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_command_exits_2_with_the_reason_on_stderr()
    {
        var result = await NotaryAsync("frobnicate");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("frobnicate", result.StdErr, StringComparison.Ordinal);
        Assert.Empty(result.StdOut);
    }

    private async Task<string> KubectlPluginListAsync()
    {
        var dir = await KubectlNotaryTool.DirectoryAsync();
        var result = await Notary.Pki.Tests.Support.ToolRunner.RunAsync("kubectl", ["plugin", "list"], environment: new Dictionary<string, string>
        {
            ["PATH"] = dir + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
            ["KUBECONFIG"] = fx.Kubeconfig,
        });
        output.WriteLine($"$ kubectl plugin list\n{result}");
        return result.StdOut;
    }
}
