using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Notary.Dev;
using Notary.Pki.Tests.Support;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Notary's dev mode, in process: DevCluster, one silo, the watcher; driven with real kubectl
/// through the kubeconfig dev mode writes. One per test collection. A derived fixture starts
/// what Notary should talk to first and adds configuration (e.g. the AWS backends), or overrides
/// <see cref="ConfigureServices"/> for other services (a fake, a log sink).
/// </summary>
public class DevFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "notary-e2e-" + Guid.NewGuid().ToString("N")[..8]);

    public DevEnvironment Dev { get; private set; } = null!;

    public string Kubeconfig => Dev.KubeconfigPath;

    public string Root => _root;

    public virtual async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        try
        {
            var configuration = await StartDependenciesAsync();
            Dev = await StartOnFreePortsAsync(configuration);
        }
        catch
        {
            // No server (moto_server is a child process) may outlive a fixture that failed to start.
            await StopDependenciesAsync();
            throw;
        }
    }

    /// <summary>
    /// Free ports are found before they are bound, so another process can take one in between (a
    /// CI run failed on "address already in use"): a start that lost that race, and cleaned up
    /// after itself (DevEnvironment.StartAsync does), is tried again on other free ports.
    /// </summary>
    private async Task<DevEnvironment> StartOnFreePortsAsync(IReadOnlyDictionary<string, string?> configuration)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await DevEnvironment.StartAsync(new DevModeOptions
                {
                    KubeconfigPath = Path.Combine(_root, "kubeconfig"),
                    ApiPort = FreePorts.Next(),
                    SiloPort = FreePorts.Next(),
                    Configuration = WithoutThrottling(configuration),
                    ConfigureServices = ConfigureServices,
                    NotaryConnection = NotaryConnection,
                });
            }
            catch (Exception ex) when (attempt < 3 && IsAddressInUse(ex))
            {
            }
        }
    }

    private static bool IsAddressInUse(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>How Notary reaches the dev cluster; null: as admin (see <see cref="DevModeOptions.NotaryConnection"/>).</summary>
    protected virtual Func<Notary.DevCluster.DevClusterServer, CancellationToken, Task<k8s.KubernetesClientConfiguration>>? NotaryConnection => null;

    /// <summary>Last changes to the host's services; a later registration wins.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public virtual async Task DisposeAsync()
    {
        if (Dev is not null)
        {
            await Dev.DisposeAsync();
        }

        await StopDependenciesAsync();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>
    /// The tests poll the breach API every 100 ms from one address, beyond the per-client default
    /// (30 per 10 s, which Silo.Tests' ApiHardeningTests proves): here the limit is raised, not off.
    /// </summary>
    private static Dictionary<string, string?> WithoutThrottling(IReadOnlyDictionary<string, string?> configuration)
    {
        var all = new Dictionary<string, string?>(configuration);
        all.TryAdd("Notary:Api:RateLimit:PermitsPerWindow", "100000");
        return all;
    }

    /// <summary>Starts what Notary talks to besides the dev cluster; returns Notary's extra configuration.</summary>
    protected virtual Task<IReadOnlyDictionary<string, string?>> StartDependenciesAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>());

    /// <summary>Stops what <see cref="StartDependenciesAsync"/> started, once Notary has stopped.</summary>
    protected virtual Task StopDependenciesAsync() => Task.CompletedTask;

    /// <summary>Runs kubectl against the dev cluster.</summary>
    public Task<ToolResult> KubectlAsync(params string[] args) => RunKubectlAsync(Kubeconfig, Path.Combine(_root, "kube-cache"), args);

    /// <summary>kubectl that must succeed.</summary>
    public Task<string> OkAsync(params string[] args) => KubectlOkAsync(Kubeconfig, Path.Combine(_root, "kube-cache"), args);

    /// <summary>Runs kubectl against any cluster.</summary>
    public static Task<ToolResult> RunKubectlAsync(string kubeconfig, string cacheDirectory, params string[] args) =>
        ToolRunner.RunAsync("kubectl", args, timeout: TimeSpan.FromSeconds(90), environment: new Dictionary<string, string>
        {
            ["KUBECONFIG"] = kubeconfig,
            ["KUBECACHEDIR"] = cacheDirectory,
        });

    /// <summary>kubectl against any cluster, that must succeed.</summary>
    public static async Task<string> KubectlOkAsync(string kubeconfig, string cacheDirectory, params string[] args)
    {
        var result = await RunKubectlAsync(kubeconfig, cacheDirectory, args);
        Assert.True(result.ExitCode == 0, $"kubectl {string.Join(' ', args)}: {result}");
        return result.StdOut;
    }

    /// <summary>The data of a Secret, decoded.</summary>
    public async Task<Dictionary<string, byte[]>> SecretDataAsync(string ns, string name)
    {
        using var json = JsonDocument.Parse(await OkAsync("get", "secret", name, "-n", ns, "-o", "json"));
        return json.RootElement.GetProperty("data").EnumerateObject().ToDictionary(p => p.Name, p => Convert.FromBase64String(p.Value.GetString()!));
    }

    /// <summary>Writes a file under the fixture's folder and returns its path.</summary>
    public string Write(string name, byte[] content)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    public string WriteText(string name, string content) => Write(name, System.Text.Encoding.UTF8.GetBytes(content));
}

[CollectionDefinition(Name)]
public sealed class DevCollection : ICollectionFixture<DevFixture>
{
    public const string Name = "dev";
}
