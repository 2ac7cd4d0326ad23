namespace Notary.DevCluster;

/// <summary>Faults a test injects to prove that clients survive what real API servers do to them.</summary>
public sealed class DevClusterFaults
{
    private readonly DevClusterServer _server;

    internal DevClusterFaults(DevClusterServer server) => _server = server;

    /// <summary>Cuts every open watch stream abruptly (the connection is reset, no clean end of stream).</summary>
    public void DropWatches() => _server.Store.AbortWatches();

    /// <summary>Discards the watch history: a watch from any resourceVersion older than now gets 410 Gone (Expired).</summary>
    public void CompactHistory() => _server.Store.CompactHistory();

    /// <summary>Stops listening (open watches end, new connections fail), then listens again on the same port with the same storage.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => _server.RestartAsync(cancellationToken);

    /// <summary>Watch streams open now; lets a test wait until a client's watch is established.</summary>
    public int OpenWatches => _server.Store.OpenWatches;
}
