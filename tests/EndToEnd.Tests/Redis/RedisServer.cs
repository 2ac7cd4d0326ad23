using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Notary.Aws.Tests.Support;

namespace Notary.EndToEnd.Tests.Redis;

/// <summary>
/// A real <c>redis-server</c> on 127.0.0.1 and a free port, in memory only (no RDB snapshots, no
/// append-only file), as a child process; disposing kills it.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly RecentLines _output = new();

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The StackExchange.Redis connection string.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var port = FreePorts.Next();
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed: apt-get install -y redis-server (scripts/test.sh does it).", ex);
        }

        var server = new RedisServer(process, port);
        process.OutputDataReceived += (_, e) => server._output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => server._output.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Ready once it answers PING.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {process.ExitCode}: {server.Output}");
            }

            if (await server.PingAsync())
            {
                return server;
            }

            if (DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                throw new TimeoutException($"redis-server did not answer PING on port {port}: {server.Output}");
            }

            await Task.Delay(100);
        }
    }

    public string Output => _output.ToString();

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
            // Exited already.
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
