using Notary.DevCluster;
using Notary.Silo;

namespace Notary.EndToEnd.Tests.Aws;

/// <summary>
/// An API server with Notary's CRDs and no Notary: what a silo started with <c>run</c> finds in a
/// real cluster. kubectl and child silos reach it through its kubeconfig.
/// </summary>
public sealed class StandaloneCluster : IAsyncDisposable
{
    private StandaloneCluster(DevClusterServer server, string root)
    {
        Server = server;
        Root = root;
        Kubeconfig = server.WriteKubeconfig(Path.Combine(root, "kubeconfig"));
    }

    public DevClusterServer Server { get; }

    /// <summary>A folder of its own for files the test writes.</summary>
    public string Root { get; }

    public string Kubeconfig { get; }

    public static async Task<StandaloneCluster> StartAsync()
    {
        var root = Directory.CreateTempSubdirectory("notary-e2e-cluster-").FullName;
        var server = await DevClusterServer.StartAsync(new DevClusterOptions { CrdDirectories = [NotaryHost.CrdDirectory] });
        return new StandaloneCluster(server, root);
    }

    /// <summary>kubectl that must succeed.</summary>
    public Task<string> OkAsync(params string[] args) => DevFixture.KubectlOkAsync(Kubeconfig, Path.Combine(Root, "kube-cache"), args);

    public Task<string> ApplyAsync(string yaml)
    {
        var path = Path.Combine(Root, Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(path, yaml);
        return OkAsync("apply", "-f", path);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }
}
