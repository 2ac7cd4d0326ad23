using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Issuers;

namespace Notary.Kubernetes;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Kubernetes adapters for the grains' ports (status writer, Event recorder,
    /// Secret store, metadata source, built-in CA source, workload finder and patcher), the finalizer
    /// helper and the HTTP API's access reviewer (TokenReview, SubjectAccessReview), with
    /// <see cref="NotaryKubernetesOptions"/> bound from <c>Notary:Kubernetes</c>, validated on start. The host registers <see cref="k8s.IKubernetes"/> itself (from its kubeconfig or the
    /// in-cluster configuration). Safe to call more than once.
    /// </summary>
    public static IServiceCollection AddNotaryKubernetes(this IServiceCollection services, IConfiguration configuration)
    {
        // Bound from the configuration the host passes, so that a host (or a test) need not register IConfiguration.
        services.AddOptions<NotaryKubernetesOptions>()
            .Bind(configuration.GetSection(NotaryKubernetesOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NotaryKubernetesOptions>, NotaryKubernetesOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.TryAddSingleton<KubernetesStatusWriter>();
        services.TryAddSingleton<IStatusWriter>(sp => sp.GetRequiredService<KubernetesStatusWriter>());
        services.TryAddSingleton<KubernetesEventRecorder>();
        services.TryAddSingleton<IEventRecorder>(sp => sp.GetRequiredService<KubernetesEventRecorder>());
        services.TryAddSingleton<KubernetesSecretStore>();
        services.TryAddSingleton<ISecretStore>(sp => sp.GetRequiredService<KubernetesSecretStore>());
        services.TryAddSingleton<KubernetesMetadataSource>();
        services.TryAddSingleton<IServiceMetadataSource>(sp => sp.GetRequiredService<KubernetesMetadataSource>());
        services.TryAddSingleton<KubernetesCertificateAuthoritySource>();
        services.TryAddSingleton<ICertificateAuthoritySource>(sp => sp.GetRequiredService<KubernetesCertificateAuthoritySource>());
        services.TryAddSingleton<KubernetesWorkloads>();
        services.TryAddSingleton<IWorkloadFinder>(sp => sp.GetRequiredService<KubernetesWorkloads>());
        services.TryAddSingleton<IWorkloadPatcher>(sp => sp.GetRequiredService<KubernetesWorkloads>());
        services.TryAddSingleton<ResourceFinalizers>();
        services.TryAddSingleton<IAccessReviewer, KubernetesAccessReviewer>();
        return services;
    }
}
