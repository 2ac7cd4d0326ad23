using Orleans.TestingHost;

namespace Notary.Grains.Tests;

/// <summary>How every in-process test cluster's client connects.</summary>
internal static class TestClusterClient
{
    /// <summary>
    /// The client starts once the silos are deployed, but on a loaded machine a silo may not be
    /// listed as an active gateway yet ("Could not find any gateway"): the client tries again for
    /// up to a minute instead of failing the whole test class.
    /// </summary>
    public static InProcessTestClusterBuilder RetryingClientConnection(this InProcessTestClusterBuilder builder)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        builder.ConfigureClient(client => client.UseConnectionRetryFilter(async (exception, cancellationToken) =>
        {
            if (exception is not SiloUnavailableException || DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            return true;
        }));
        return builder;
    }
}
