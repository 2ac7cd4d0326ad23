using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using k8s;
using k8s.Models;

namespace Notary.DevCluster.Tests;

/// <summary>One DevCluster per test collection, with the chart's CRDs installed, a kubeconfig and a client.</summary>
public class DevClusterFixture : IAsyncLifetime
{
    public DevClusterServer Server { get; private set; } = null!;

    public Kubernetes Client { get; private set; } = null!;

    public string WorkDir { get; } = Directory.CreateTempSubdirectory("devcluster-tests-").FullName;

    public string Kubeconfig { get; private set; } = "";

    public static string RepoPath(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Notary.Actors.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repository root not found"), relative);
    }

    public async Task InitializeAsync()
    {
        Server = await DevClusterServer.StartAsync(new DevClusterOptions
        {
            CrdDirectories = [RepoPath("charts/notary/crds")],
            BookmarkInterval = TimeSpan.FromMilliseconds(300),
        });
        Kubeconfig = Server.WriteKubeconfig(Path.Combine(WorkDir, "kubeconfig"));
        Client = new Kubernetes(Server.ClientConfiguration());
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(WorkDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A fresh namespace for one test.</summary>
    public async Task<string> NamespaceAsync()
    {
        var name = "t-" + Guid.NewGuid().ToString("N")[..10];
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    public string WriteFile(string name, string content)
    {
        var path = Path.Combine(WorkDir, Guid.NewGuid().ToString("N")[..8] + "-" + name);
        File.WriteAllText(path, content);
        return path;
    }

    private ProcessStartInfo StartInfo(IEnumerable<string> args, string? kubeconfig)
    {
        var psi = new ProcessStartInfo("/usr/bin/kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--kubeconfig");
        psi.ArgumentList.Add(kubeconfig ?? Kubeconfig);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["KUBECACHEDIR"] = Path.Combine(WorkDir, "cache");
        psi.Environment.Remove("KUBECONFIG");
        return psi;
    }

    /// <summary>Runs real kubectl to completion (30 s at most).</summary>
    public async Task<KubectlResult> KubectlAsync(params string[] args) => await KubectlWithAsync(null, args);

    public async Task<KubectlResult> KubectlWithAsync(string? kubeconfig, params string[] args)
    {
        using var process = Process.Start(StartInfo(args, kubeconfig))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("kubectl " + string.Join(' ', args) + " did not finish");
        }

        return new KubectlResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts kubectl in the background; its stdout arrives line by line.</summary>
    public KubectlProcess StartKubectl(params string[] args) => new(Process.Start(StartInfo(args, null))!);

    /// <summary>Waits until a condition holds, polling (never a fixed sleep as the assertion).</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(50);
        }
    }
}

public sealed record KubectlResult(int ExitCode, string Stdout, string Stderr)
{
    public KubectlResult Ok()
    {
        Assert.True(ExitCode == 0, $"kubectl failed ({ExitCode}): {Stderr}\n{Stdout}");
        return this;
    }

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>A kubectl process running in the background (get --watch, delete waiting on finalizers).</summary>
public sealed class KubectlProcess : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stderr = new();

    public KubectlProcess(Process process)
    {
        _process = process;
        _process.StandardInput.Close();
        _ = Task.Run(async () =>
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                await _lines.Writer.WriteAsync(line);
            }

            _lines.Writer.TryComplete();
        });
        _ = Task.Run(async () =>
        {
            var text = await _process.StandardError.ReadToEndAsync();
            lock (_stderr)
            {
                _stderr.Append(text);
            }
        });
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The next stdout line, or null when the process closed stdout.</summary>
    public async Task<string?> NextLineAsync(int seconds = 10)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            return await _lines.Reader.WaitToReadAsync(timeout.Token) && _lines.Reader.TryRead(out var line) ? line : null;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no output from kubectl; stderr: " + Stderr);
        }
    }

    public async Task<int> WaitForExitAsync(int seconds = 20)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public bool HasExited => _process.HasExited;

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}

[CollectionDefinition("kubectl")]
public sealed class KubectlCollection : ICollectionFixture<KubectlFixture>;

[CollectionDefinition("client")]
public sealed class ClientCollection : ICollectionFixture<ClientFixture>;

[CollectionDefinition("faults")]
public sealed class FaultsCollection : ICollectionFixture<FaultsFixture>;

public sealed class KubectlFixture : DevClusterFixture;

public sealed class ClientFixture : DevClusterFixture;

public sealed class FaultsFixture : DevClusterFixture;
