using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
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
    /// <remarks>
    /// The client also waits up to two minutes for a response, not Orleans' 30 seconds: a test's
    /// call may generate RSA-4096 keys, which on a loaded two-core machine take that long; a test
    /// that waits on a condition has its own, shorter bound.
    /// </remarks>
    public static InProcessTestClusterBuilder RetryingClientConnection(this InProcessTestClusterBuilder builder)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        builder.ConfigureClient(client => client.Services.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(2)));
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
