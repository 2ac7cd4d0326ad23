using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Notary.CustomResources;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="NotaryKubernetesOptions"/> from <c>Notary:Kubernetes</c>, validated on
    /// start. The watcher and the Kubernetes adapters both read it (Notary's namespace, the
    /// field manager), so both registrations call this; calling it twice binds the same section twice.
    /// </summary>
    public static IServiceCollection AddNotaryKubernetesOptions(this IServiceCollection services, IConfiguration configuration)
    {
        // Bound from the configuration the host passes, so that a host (or a test) need not register IConfiguration.
        services.AddOptions<NotaryKubernetesOptions>()
            .Bind(configuration.GetSection(NotaryKubernetesOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NotaryKubernetesOptions>, NotaryKubernetesOptionsValidator>());
        return services;
    }
}
