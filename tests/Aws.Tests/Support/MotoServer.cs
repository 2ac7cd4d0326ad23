using System.Diagnostics;
using Amazon.Runtime;

namespace Notary.Aws.Tests.Support;

/// <summary>
/// A real <c>moto_server</c> (moto 5, in the machine's Python) on 127.0.0.1 and a free port:
/// ACM, ACM Private CA, Secrets Manager and STS with the real wire protocol. Usable as an xunit
/// fixture (<see cref="IAsyncLifetime"/>) or on its own through <see cref="StartAsync"/>. Moto
/// keeps one state per server, so tests sharing a server use unique names instead of resets.
/// The process tree is killed on dispose.
/// </summary>
public sealed class MotoServer : IAsyncLifetime, IAsyncDisposable
{
    public const string Region = "us-west-2";

    /// <summary>Moto accepts any key; this one is recognisable in captured Authorization headers.</summary>
    public const string AccessKey = "AKIAMOTOTESTKEY00001";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly RecentLines _output = new();
    private Process? _process;

    /// <summary>For xunit: a server with moto's defaults, started by <see cref="InitializeAsync"/>.</summary>
    public MotoServer() : this(new Dictionary<string, string>()) { }

    /// <param name="environment">Extra environment for moto_server, e.g. MOTO_ACM_VALIDATION_WAIT=0.</param>
    public MotoServer(IReadOnlyDictionary<string, string> environment) => _environment = environment;

    /// <summary>The server's base URL, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Url { get; private set; } = null!;

    public int Port => Url.Port;

    /// <summary>Credentials moto accepts (it checks none).</summary>
    public static AWSCredentials Credentials { get; } = new BasicAWSCredentials(AccessKey, "moto-test-secret-key");

    /// <summary>What moto_server printed last (for failure messages).</summary>
    public string RecentOutput => _output.ToString();

    /// <summary>Starts a server and waits until it answers HTTP.</summary>
    public static async Task<MotoServer> StartAsync(IReadOnlyDictionary<string, string>? environment = null)
    {
        var server = new MotoServer(environment ?? new Dictionary<string, string>());
        await server.InitializeAsync();
        return server;
    }

    /// <summary>Client options for this server, with short retries suitable for tests.</summary>
    public AwsClientOptions ClientOptions(Uri? serviceUrl = null) => new()
    {
        Region = Region,
        ServiceUrl = (serviceUrl ?? Url).AbsoluteUri,
        RequestTimeout = TimeSpan.FromSeconds(10),
        MaxAttempts = 5,
        BaseDelay = TimeSpan.FromMilliseconds(10),
        MaxDelay = TimeSpan.FromMilliseconds(100),
    };

    public async Task InitializeAsync()
    {
        // A free port can be taken between probing and binding: a server that exits at once is
        // tried again on another port.
        for (var attempt = 1; ; attempt++)
        {
            if (await StartOnceAsync(FreePorts.Next()))
            {
                return;
            }

            var output = RecentOutput;
            Kill();
            if (attempt == 3)
            {
                throw new InvalidOperationException($"moto_server exited at start three times:\n{output}");
            }
        }
    }

    public Task DisposeAsync()
    {
        Kill();
        return Task.CompletedTask;
    }

    ValueTask IAsyncDisposable.DisposeAsync()
    {
        Kill();
        return ValueTask.CompletedTask;
    }

    /// <summary>False when the server exited before answering (e.g. its port was taken).</summary>
    private async Task<bool> StartOnceAsync(int port)
    {
        var start = new ProcessStartInfo("moto_server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in _environment)
        {
            start.Environment[name] = value;
        }

        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("moto_server did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("moto_server is not on PATH (it ships with the machine's Python, package moto[server]; scripts/test.sh checks for it).", ex);
        }

        // Moto logs every request; drain both streams so it never blocks on a full pipe.
        _process.OutputDataReceived += (_, e) => _output.Add(e.Data);
        _process.ErrorDataReceived += (_, e) => _output.Add(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        Url = new Uri($"http://127.0.0.1:{port}/");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                return false;
            }

            try
            {
                // Any HTTP answer means the server is serving.
                using var response = await http.GetAsync(new Uri(Url, "moto-api/"));
                return true;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                if (deadline.Elapsed > StartTimeout)
                {
                    throw new TimeoutException($"moto_server did not answer on {Url} within {StartTimeout}:\n{RecentOutput}");
                }

                await Task.Delay(100);
            }
        }
    }

    private void Kill()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        _process = null;
    }
}
