using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Notary.Pki.Tests.Support;
using Notary.Silo;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Notary's dev mode, in process: DevCluster, one silo, the watcher; driven with real kubectl
/// through the kubeconfig dev mode writes. One per test collection; a collection that needs
/// other services (a fake, a log sink) derives and overrides <see cref="ConfigureServices"/>.
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
        Dev = await DevEnvironment.StartAsync(new DevModeOptions
        {
            KubeconfigPath = Path.Combine(_root, "kubeconfig"),
            ApiPort = FreePort(),
            SiloPort = FreePort(),
            GatewayPort = FreePort(),
            ConfigureServices = ConfigureServices,
        });
    }

    /// <summary>Last changes to the host's services; a later registration wins.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public virtual async Task DisposeAsync()
    {
        await Dev.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>Runs kubectl against the dev cluster.</summary>
    public Task<ToolResult> KubectlAsync(params string[] args) =>
        ToolRunner.RunAsync("kubectl", args, timeout: TimeSpan.FromSeconds(90), environment: new Dictionary<string, string>
        {
            ["KUBECONFIG"] = Kubeconfig,
            ["KUBECACHEDIR"] = Path.Combine(_root, "kube-cache"),
        });

    /// <summary>kubectl that must succeed.</summary>
    public async Task<string> OkAsync(params string[] args)
    {
        var result = await KubectlAsync(args);
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

    /// <summary>A port free on 127.0.0.1 now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class DevCollection : ICollectionFixture<DevFixture>
{
    public const string Name = "dev";
}
