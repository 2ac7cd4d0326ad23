namespace Notary.DevCluster;

/// <summary>How a <see cref="DevClusterServer"/> listens and what it installs at start.</summary>
public sealed class DevClusterOptions
{
    /// <summary>TCP port to listen on; 0 picks a free port (kept across <see cref="DevClusterFaults.RestartAsync"/>).</summary>
    public int Port { get; set; }

    /// <summary>Address to bind; tests and dev mode stay on the loopback address.</summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>Serve HTTPS with the server's own CA (as a real cluster does); false serves plain HTTP.</summary>
    public bool Https { get; set; } = true;

    /// <summary>Folders whose CustomResourceDefinition manifests (*.yaml, *.yml, *.json) are installed at start.</summary>
    public IReadOnlyList<string> CrdDirectories { get; set; } = [];

    /// <summary>Bearer token of the cluster administrator (in group system:masters). Random by default.</summary>
    public string AdminToken { get; set; } = NewToken();

    /// <summary>Watch events kept per resource for resuming a watch; older resourceVersions get 410 Gone.</summary>
    public int WatchHistoryLimit { get; set; } = 1000;

    /// <summary>How often a watch with allowWatchBookmarks=true gets a BOOKMARK (a real server: about a minute).</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Events buffered per open watch; a watcher that falls further behind is closed, as a real server does.</summary>
    public int WatchBufferSize { get; set; } = 1000;

    /// <summary>Namespaces that exist at start (each gets its "default" ServiceAccount).</summary>
    public IReadOnlyList<string> InitialNamespaces { get; set; } = ["default", "kube-system", "kube-public", "notary"];

    internal static string NewToken() =>
        Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
}
