using Notary.DevCluster;
using Notary.Silo;

namespace Notary.Dev;

/// <summary>Options of <c>dev</c> mode.</summary>
public sealed record DevModeOptions
{
    /// <summary>Where to write the kubeconfig for kubectl.</summary>
    public string KubeconfigPath { get; init; } = Path.Combine(".notary", "dev", "kubeconfig");

    public int ApiPort { get; init; } = 8080;

    /// <summary>The in-memory API server's port; 0 picks a free one.</summary>
    public int KubePort { get; init; }

    /// <summary>The silo's port (mutual TLS like in production; nothing else connects to one silo). No gateway listens.</summary>
    public int SiloPort { get; init; } = 11111;

    public IReadOnlyDictionary<string, string?> Configuration { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// How Notary's host reaches the dev cluster once it runs; null (the default): with the admin token.
    /// Tests use it to run Notary under its chart's ServiceAccount and RBAC.
    /// </summary>
    public Func<DevClusterServer, CancellationToken, Task<k8s.KubernetesClientConfiguration>>? NotaryConnection { get; init; }

    /// <summary>Passed to <see cref="NotaryHostSettings.ConfigureServices"/>.</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }
}

/// <summary>
/// The embedded default: an in-memory Kubernetes API server (DevCluster) with the CRDs
/// installed, one silo with localhost clustering, in-memory grain storage and reminders, the
/// watcher, the built-in CA and the Kubernetes Secret store, and a kubeconfig for kubectl.
/// </summary>
public sealed class DevEnvironment : IAsyncDisposable
{
    private DevEnvironment(DevClusterServer cluster, WebApplication app, string kubeconfigPath, int apiPort)
    {
        Cluster = cluster;
        App = app;
        KubeconfigPath = kubeconfigPath;
        ApiUrl = new Uri($"http://127.0.0.1:{apiPort}");
    }

    public DevClusterServer Cluster { get; }

    public WebApplication App { get; }

    public string KubeconfigPath { get; }

    /// <summary>Notary's HTTP API (health, breach API), e.g. http://127.0.0.1:8080.</summary>
    public Uri ApiUrl { get; }

    public static async Task<DevEnvironment> StartAsync(DevModeOptions options, CancellationToken cancellationToken = default)
    {
        var cluster = await DevClusterServer.StartAsync(new DevClusterOptions { Port = options.KubePort, CrdDirectories = [NotaryHost.CrdDirectory] }, cancellationToken);
        WebApplication? app = null;
        try
        {
            app = NotaryHost.Build(new NotaryHostSettings
            {
                Kubernetes = options.NotaryConnection is null ? cluster.ClientConfiguration() : await options.NotaryConnection(cluster, cancellationToken),
                ApiPort = options.ApiPort,
                SiloPort = options.SiloPort,
                Configuration = options.Configuration,
                ConfigureServices = options.ConfigureServices,
            });
            await app.StartAsync(cancellationToken);
            // Only once everything runs: a failed start must not replace the kubeconfig of a
            // dev mode that is still running.
            var kubeconfig = WriteKubeconfig(cluster, Path.GetFullPath(options.KubeconfigPath));
            return new DevEnvironment(cluster, app, kubeconfig, options.ApiPort);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes the kubeconfig atomically, readable by its owner only (it holds the admin token).</summary>
    private static string WriteKubeconfig(DevClusterServer cluster, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        cluster.WriteKubeconfig(temporary);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, path, overwrite: true);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
