using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Notary.DevCluster;
using Notary.Kubernetes.Tests.Support;

namespace Notary.Kubernetes.Tests.Adapters;

/// <summary>One DevCluster (with the chart's CRDs) and a KubernetesClient per test collection; a fresh namespace per test.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public DevClusterServer Server { get; private set; } = null!;

    public IKubernetes Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await DevClusterServer.StartAsync(new DevClusterOptions { CrdDirectories = [Crds.Directory] });
        Client = new k8s.Kubernetes(Server.ClientConfiguration());
    }

    public async Task DisposeAsync()
    {
        (Client as IDisposable)?.Dispose();
        await Server.DisposeAsync();
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
