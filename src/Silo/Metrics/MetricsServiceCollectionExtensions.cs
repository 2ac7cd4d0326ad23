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
        var registry = endpoints.ServiceProvider.GetRequiredService<CollectorRegistry>();
        var watcher = endpoints.ServiceProvider.GetService<LeaderElectedWatcher>();
        endpoints.ServiceProvider.GetRequiredService<PrometheusNotaryMetrics>().WatchLeadership(registry, () => watcher?.IsLeading == true);
        return endpoints.MapMetrics(pattern, registry);
    }
}
