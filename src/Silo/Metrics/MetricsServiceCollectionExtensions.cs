using Microsoft.Extensions.DependencyInjection.Extensions;
using Notary.Grains.Abstractions.Ports;
using Notary.Watcher;
using Prometheus;

namespace Notary.Silo.Metrics;

public static class MetricsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PrometheusNotaryMetrics"/> as <see cref="INotaryMetrics"/>, with a
    /// <see cref="CollectorRegistry"/> of this host's own (plus the process and .NET runtime
    /// figures of <see cref="DotNetStats"/>): prometheus-net's static default registry is shared
    /// by every host in the process, and two hosts registering the same series there collide.
    /// </summary>
    public static IServiceCollection AddNotaryMetrics(this IServiceCollection services)
    {
        services.TryAddSingleton(_ =>
        {
            var registry = Prometheus.Metrics.NewCustomRegistry();
            DotNetStats.Register(registry);
            return registry;
        });
        services.TryAddSingleton<PrometheusNotaryMetrics>();
        services.TryAddSingleton<INotaryMetrics>(sp => sp.GetRequiredService<PrometheusNotaryMetrics>());
        return services;
    }

    /// <summary>
    /// Serves this host's registry in the Prometheus text format at <paramref name="pattern"/>,
    /// with whether this silo's watcher leads read at each scrape (no watcher: 0).
    /// </summary>
    public static IEndpointConventionBuilder MapNotaryMetrics(this IEndpointRouteBuilder endpoints, string pattern = "/metrics")
    {
        var services = endpoints.ServiceProvider;
        var registry = services.GetRequiredService<CollectorRegistry>();

        // Resolved at the first scrape, when the host runs (the watcher is a hosted service by
        // then): resolving it while the app is built would validate options before the host starts.
        var watcher = new Lazy<LeaderElectedWatcher?>(services.GetService<LeaderElectedWatcher>);
        services.GetRequiredService<PrometheusNotaryMetrics>().WatchLeadership(registry, () => watcher.Value?.IsLeading == true);
        return endpoints.MapMetrics(pattern, registry);
    }
}
