using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Notary.CustomResources;

namespace Notary.Watcher;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers the leader-elected watcher as a hosted service, forwarding to the grains
    /// (<see cref="GrainForwarder"/>, unless an <see cref="IResourceEventSink"/> is registered
    /// first), with <see cref="NotaryWatcherOptions"/> bound from <c>Notary:Watcher</c> and
    /// <see cref="NotaryKubernetesOptions"/> from <c>Notary:Kubernetes</c>, validated on start,
    /// and its finalizer helper. It wires no adapter: the host registers
    /// <see cref="k8s.IKubernetes"/>, the <see cref="Grains.Abstractions.Ports.IEventRecorder"/>
    /// it records cleanup Events with and, for the forwarder, Orleans.
    /// </summary>
    public static IServiceCollection AddNotaryWatcher(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddNotaryKubernetesOptions(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ResourceFinalizers>();
        services.AddOptions<NotaryWatcherOptions>()
            .Bind(configuration.GetSection(NotaryWatcherOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NotaryWatcherOptions>, NotaryWatcherOptionsValidator>());
        services.TryAddSingleton<IResourceEventSink, GrainForwarder>();
        services.TryAddSingleton<LeaderElectedWatcher>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, LeaderElectedWatcher>(sp => sp.GetRequiredService<LeaderElectedWatcher>()));
        return services;
    }
}
