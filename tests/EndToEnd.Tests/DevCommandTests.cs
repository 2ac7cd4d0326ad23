using System.Diagnostics;
using Notary.Pki.Tests.Support;

namespace Notary.EndToEnd.Tests;

/// <summary>The README's first command as a user runs it: the real binary, its flags, its banner, its kubeconfig, its shutdown.</summary>
[Trait("Category", "Slow")]
public sealed class DevCommandTests : IDisposable
{
    private static readonly string Dev = Path.Combine(AppContext.BaseDirectory, "Notary.Dev.dll");
    private readonly string _root = Directory.CreateTempSubdirectory("notary-dev-cmd-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Help_and_bad_arguments()
    {
        var help = await ToolRunner.RunAsync("dotnet", Dev, "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--kubeconfig", help.StdOut, StringComparison.Ordinal);

        var bad = await ToolRunner.RunAsync("dotnet", Dev, "--api-port", "http");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--api-port \"http\" is not a port number", bad.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dev_mode_writes_a_private_kubeconfig_kubectl_can_use_and_stops_cleanly_on_SIGTERM()
    {
        var kubeconfig = Path.Combine(_root, "dev", "kubeconfig");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _root };
        foreach (var arg in new[] { Dev, "--kubeconfig", kubeconfig, "--api-port", FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Notary__Cluster__SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var banner = new List<string>();
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
            {
                while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    banner.Add(line);
                    if (line.Contains("Press Ctrl-C", StringComparison.Ordinal))
                    {
                        break;
                    }
                }
            }

            Assert.Contains(banner, l => l.Contains($"kubeconfig:      {kubeconfig}", StringComparison.Ordinal));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(kubeconfig));
            }
            var kubectl = await ToolRunner.RunAsync("kubectl", "--kubeconfig", kubeconfig, "get", "crd", "-o", "name");
            Assert.True(kubectl.ExitCode == 0, kubectl.ToString());
            Assert.Contains("customresourcedefinition.apiextensions.k8s.io/certificates.notary.dev", kubectl.StdOut, StringComparison.Ordinal);
        }
        finally
        {
            var term = await ToolRunner.RunAsync("kill", "-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(0, term.ExitCode);
        }

        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(exit.Token);
        Assert.True(process.ExitCode == 0, await stderr);
    }
}
