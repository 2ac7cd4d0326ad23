using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Notary.Adapters.Kubernetes.Tests.Support;
using Notary.CustomResources;
using Notary.DevCluster;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>One DevCluster (with the chart's CRDs) and a KubernetesClient per test collection; a fresh namespace per test.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public DevClusterServer Server { get; private set; } = null!;

    public IKubernetes Client { get; private set; } = null!;

    /// <summary>A kubeconfig for real kubectl, with the admin token.</summary>
    public string Kubeconfig { get; private set; } = "";

    private readonly string _workDir = Directory.CreateTempSubdirectory("notary-adapter-tests-").FullName;

    public async Task InitializeAsync()
    {
        Server = await DevClusterServer.StartAsync(new DevClusterOptions { CrdDirectories = [Crds.Directory] });
        Client = new k8s.Kubernetes(Server.ClientConfiguration());
        Kubeconfig = Server.WriteKubeconfig(Path.Combine(_workDir, "kubeconfig"));
    }

    public async Task DisposeAsync()
    {
        (Client as IDisposable)?.Dispose();
        await Server.DisposeAsync();
        Directory.Delete(_workDir, recursive: true);
    }

    /// <summary>Runs /usr/bin/kubectl against this cluster; throws with its stderr when it fails.</summary>
    public async Task<string> KubectlAsync(params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--kubeconfig");
        start.ArgumentList.Add(Kubeconfig);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"kubectl {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    public async Task<string> NamespaceAsync()
    {
        var name = "t-" + Guid.NewGuid().ToString("N")[..10];
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    public static IOptions<NotaryKubernetesOptions> Options(Action<NotaryKubernetesOptions>? change = null)
    {
        var options = new NotaryKubernetesOptions();
        change?.Invoke(options);
        return Microsoft.Extensions.Options.Options.Create(options);
    }

    public static NullLogger<T> Log<T>() => NullLogger<T>.Instance;
}

[CollectionDefinition(Name)]
public sealed class AdapterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "Kubernetes adapters against DevCluster";
}
