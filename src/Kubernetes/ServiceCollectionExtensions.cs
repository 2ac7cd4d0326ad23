using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Kubernetes adapters for the grains' ports (status writer, Event recorder,
    /// Secret store, metadata source, built-in CA source, state data keys (a Secret), workload finder and patcher, namespace labels, CertificatePolicy status, trust sources, Issuer status, ca issuers' Secrets) and the HTTP
    /// API's access reviewer (TokenReview, SubjectAccessReview), the Breach status writer and Breach objects, bound to their ports, and the Secret
    /// store (<see cref="KubernetesSecretStore"/>, which the host binds to ISecretStore when it is the
    /// configured store), with <see cref="NotaryKubernetesOptions"/> bound from <c>Notary:Kubernetes</c>,
    /// validated on start. The host registers <see cref="k8s.IKubernetes"/> itself (from its kubeconfig or the
    /// in-cluster configuration). Safe to call more than once.
    /// </summary>
    public static IServiceCollection AddNotaryKubernetes(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddNotaryKubernetesOptions(configuration);
        services.TryAddSingleton(TimeProvider.System);

        services.TryAddSingleton<KubernetesStatusWriter>();
        services.TryAddSingleton<IStatusWriter>(sp => sp.GetRequiredService<KubernetesStatusWriter>());
        services.TryAddSingleton<KubernetesEventRecorder>();
        services.TryAddSingleton<IEventRecorder>(sp => sp.GetRequiredService<KubernetesEventRecorder>());
        // Not bound to ISecretStore here: the host chooses the store (Kubernetes or Secrets Manager).
        services.TryAddSingleton<KubernetesSecretStore>();
        services.TryAddSingleton<KubernetesMetadataSource>();
        services.TryAddSingleton<IServiceMetadataSource>(sp => sp.GetRequiredService<KubernetesMetadataSource>());
        services.TryAddSingleton<KubernetesCertificateAuthoritySource>();
        services.TryAddSingleton<ICertificateAuthoritySource>(sp => sp.GetRequiredService<KubernetesCertificateAuthoritySource>());
        services.TryAddSingleton<KubernetesWorkloads>();
        services.TryAddSingleton<IWorkloadFinder>(sp => sp.GetRequiredService<KubernetesWorkloads>());
        services.TryAddSingleton<IWorkloadPatcher>(sp => sp.GetRequiredService<KubernetesWorkloads>());
        services.AddOptions<ApiAuthenticationOptions>()
            .Bind(configuration.GetSection(ApiAuthenticationOptions.SectionName))
            .PostConfigure(options => ApiAuthenticationOptions.AddListedAudiences(options, configuration.GetSection(ApiAuthenticationOptions.SectionName)))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApiAuthenticationOptions>, ApiAuthenticationOptionsValidator>());
        services.TryAddSingleton<IAccessReviewer, KubernetesAccessReviewer>();
        services.TryAddSingleton<KubernetesBreaches>();
        services.TryAddSingleton<IBreachStatusWriter>(sp => sp.GetRequiredService<KubernetesBreaches>());
        services.TryAddSingleton<IBreachObjects>(sp => sp.GetRequiredService<KubernetesBreaches>());
        services.TryAddSingleton<INamespaceLabelSource, KubernetesNamespaceLabels>();
        services.TryAddSingleton<ICertificatePolicyStatusWriter, KubernetesCertificatePolicyStatusWriter>();
        // Issuers and ClusterIssuers: their status, and the CA Secret a ca issuer names.
        services.TryAddSingleton<IIssuerStatusWriter, KubernetesIssuerStatusWriter>();
        services.TryAddSingleton<ICaSecretReader, KubernetesCaSecretReader>();
        // The state data keys: a Secret of Notary's namespace (KMS-wrapped when the host adds an IDataKeyWrapper).
        services.AddOptions<StateKeyOptions>().Bind(configuration.GetSection(StateKeyOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StateKeyOptions>, StateKeyOptionsValidator>());
        services.TryAddSingleton<IDataKeySource, KubernetesDataKeySource>();
        // Truststore trust sources: a ConfigMap or Secret of the Truststore's own namespace, or the machine's root bundle.
        services.AddOptions<TrustSourceOptions>().Bind(configuration.GetSection(TrustSourceOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TrustSourceOptions>, TrustSourceOptionsValidator>());
        services.TryAddSingleton<ITrustSourceReader, KubernetesTrustSourceReader>();
        return services;
    }

    /// <summary>
    /// Binds the Kubernetes Secret store (registered by <see cref="AddNotaryKubernetes"/>) as the
    /// <see cref="ISecretStore"/>: the default store. The host calls this or
    /// AddNotarySecretsManagerStore, not both.
    /// </summary>
    public static IServiceCollection AddNotaryKubernetesSecretStore(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<ISecretStore>(sp => sp.GetRequiredService<KubernetesSecretStore>()));
        return services;
    }
}
