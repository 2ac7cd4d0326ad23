using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Notary.Bench.Scale;

/// <summary>
/// A <c>redis-server</c> child process on 127.0.0.1 and a free port, in memory only (no RDB
/// snapshot, no append-only file): the cluster's membership, reminders and grain state, which
/// outlive the silo restart. Disposing kills it.
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConnectionMultiplexer _connection;

    private RedisProcess(Process process, ConnectionMultiplexer connection, string connectionString)
    {
        _process = process;
        _connection = connection;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public static async Task<RedisProcess> StartAsync(CancellationToken cancellationToken)
    {
        var port = FreePorts.Next();

        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed (apt-get install -y redis-server).", ex);
        }

        // Its output is not needed, but an unread pipe would block it once full.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var connectionString = $"127.0.0.1:{port}";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                var connection = await ConnectionMultiplexer.ConnectAsync($"{connectionString},abortConnect=true,connectTimeout=1000,allowAdmin=true").ConfigureAwait(false);
                return new RedisProcess(process, connection, connectionString);
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Redis' used_memory: what the cluster's persisted state costs there.</summary>
    public async Task<long> UsedMemoryAsync()
    {
        var server = _connection.GetServer(_connection.GetEndPoints()[0]);
        var info = await server.InfoAsync("memory").ConfigureAwait(false);
        var used = info.SelectMany(group => group).First(pair => pair.Key == "used_memory").Value;
        return long.Parse(used, CultureInfo.InvariantCulture);
    }

    /// <summary>The number of keys in the database (grain states, reminders, membership).</summary>
    public Task<long> KeysAsync() => _connection.GetServer(_connection.GetEndPoints()[0]).DatabaseSizeAsync();

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync().ConfigureAwait(false);
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Exited already.
        }

        _process.Dispose();
    }
}
