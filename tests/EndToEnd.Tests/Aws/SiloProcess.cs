using System.Diagnostics;
using System.Globalization;
using Notary.Aws.Tests.Support;

namespace Notary.EndToEnd.Tests.Aws;

/// <summary>
/// The production command as an operator runs it, as a child process:
/// <c>dotnet Notary.Silo.dll run --kubeconfig PATH --api-port N</c>, configured only through
/// environment variables, on free loopback ports. Its output is kept (bounded) for failure
/// messages. Disposing kills what is left of it.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private static readonly string Silo = Path.Combine(AppContext.BaseDirectory, "Notary.Silo.dll");

    private readonly Process _process;
    private readonly RecentLines _output = new(limit: 40_000, keep: 20_000);

    private SiloProcess(Process process, int apiPort)
    {
        _process = process;
        ApiPort = apiPort;
    }

    public int Id => _process.Id;

    /// <summary>The HTTP API's port on 127.0.0.1 (health, metrics).</summary>
    public int ApiPort { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the silo printed.</summary>
    public string RecentOutput => _output.ToString();

    /// <param name="kubeconfig">The cluster to run against.</param>
    /// <param name="configuration">Settings as configuration keys (Notary:Issuer:Type), passed as environment variables (Notary__Issuer__Type).</param>
    /// <param name="environment">Further environment variables; a null value removes one the test process has.</param>
    public static SiloProcess Start(string kubeconfig, IReadOnlyDictionary<string, string?> configuration, IReadOnlyDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var apiPort = FreePorts.Next();
        foreach (var argument in new[] { Silo, "run", "--kubeconfig", kubeconfig, "--api-port", apiPort.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["Notary__Api__Address"] = "127.0.0.1";
        start.Environment["Notary__Cluster__SiloPort"] = Port();
        // The API serves plain HTTP to these tests unless a test asks for TLS (ApiTlsTests).
        start.Environment["Notary__Tls__Api"] = "false";
        foreach (var (key, value) in configuration)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var silo = new SiloProcess(process, apiPort);
        process.OutputDataReceived += (_, e) => silo._output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => silo._output.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>
    /// Waits until the silo's HTTP endpoint answers <c>/healthz</c> (the process is up and listens);
    /// fails with the silo's output when it exits first or does not answer within <paramref name="timeout"/>.
    /// </summary>
    public async Task ListeningAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Silo process {_process.Id} exited ({_process.ExitCode}) before it listened on {ApiPort}:\n{RecentOutput}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{ApiPort}/healthz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Silo process {_process.Id} did not answer /healthz on {ApiPort} within {timeout}:\n{RecentOutput}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Kills the silo and everything it started, as a node failure would, and waits until it is gone.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited already.
        }

        if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"Silo process {_process.Id} did not exit after being killed.");
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string Port() => FreePorts.Next().ToString(CultureInfo.InvariantCulture);
}
