using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Notary.Pki.Tests.Support;

namespace Notary.EndToEnd.Tests.Surface;

/// <summary>
/// Dev mode as a user starts it, with its default silo settings: no Orleans gateway listens (the
/// old default port 30000 refuses connections) and the process listens on exactly the ports it
/// needs: the in-memory API server's, the HTTP API's and the silo's.
/// </summary>
[Trait("Category", "Slow")]
public sealed class NoGatewayTests : IDisposable
{
    private static readonly string Dev = Path.Combine(AppContext.BaseDirectory, "Notary.Dev.dll");
    private readonly string _root = Directory.CreateTempSubdirectory("notary-no-gateway-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Dev_mode_listens_only_on_the_API_server_the_HTTP_API_and_the_silo_port_and_nothing_on_30000()
    {
        var (kubePort, apiPort, siloPort) = (FreePorts.Next(), FreePorts.Next(), FreePorts.Next());
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _root };
        foreach (var arg in new[] { Dev, "--kubeconfig", Path.Combine(_root, "kubeconfig"), "--api-port", Text(apiPort), "--kube-port", Text(kubePort) })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Notary__Cluster__SiloPort"] = Text(siloPort);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
            {
                while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line && !line.Contains("Press Ctrl-C", StringComparison.Ordinal))
                {
                }
            }

            if (process.HasExited)
            {
                Assert.Fail($"dev mode exited: {await stderr}");
            }

            var listening = ListeningSockets.Of(process.Id);
            Assert.Equal(new[] { apiPort, kubePort, siloPort }.Order(), listening.Select(l => l.Port).Distinct().Order());
            // Dev mode stays on loopback.
            Assert.All(listening, l => Assert.True(l.Address is "127.0.0.1" or "::1" or "::ffff:127.0.0.1", $"{l.Address}:{l.Port} is not loopback"));

            // The port Orleans' gateway used to listen on by default refuses a connection.
            using var client = new TcpClient();
            var refused = await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync("127.0.0.1", 30000));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
        finally
        {
            await ToolRunner.RunAsync("kill", "-TERM", Text(process.Id));
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
