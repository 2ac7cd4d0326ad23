using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers the AWS Secrets Manager store as the <see cref="ISecretStore"/> (the host calls
    /// this or AddNotaryKubernetesSecretStore, not both), with
    /// <see cref="SecretsManagerStoreOptions"/> bound from <c>Notary:Store:SecretsManager</c> and
    /// validated on start. Credentials come from the SDK's default chain (IRSA web identity on
    /// EKS). Safe to call more than once.
    /// </summary>
    public static IServiceCollection AddNotarySecretsManagerStore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SecretsManagerStoreOptions>()
            .Bind(configuration.GetSection(SecretsManagerStoreOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecretsManagerStoreOptions>, SecretsManagerStoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AwsHttp>();
        services.TryAddSingleton(sp => AwsClients.CreateSecretsManager(
            sp.GetRequiredService<IOptions<SecretsManagerStoreOptions>>().Value.ToClientOptions(),
            sp.GetRequiredService<AwsHttp>().Client,
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<SecretsManagerStore>();
        services.Replace(ServiceDescriptor.Singleton<ISecretStore>(sp => sp.GetRequiredService<SecretsManagerStore>()));
        return services;
    }

    /// <summary>
    /// Registers AWS KMS as the <see cref="IDataKeyWrapper"/> of the state data keys (the host
    /// calls this when <c>Notary:State:KmsKeyId</c> is set), with <see cref="KmsStateKeyOptions"/>
    /// bound from <c>Notary:State</c> and validated on start. Credentials come from the SDK's
    /// default chain (IRSA web identity on EKS). Safe to call more than once.
    /// </summary>
    public static IServiceCollection AddNotaryKmsStateKeys(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KmsStateKeyOptions>()
            .Bind(configuration.GetSection(KmsStateKeyOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KmsStateKeyOptions>, KmsStateKeyOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AwsHttp>();
        services.TryAddSingleton(sp => AwsClients.CreateKms(
            sp.GetRequiredService<IOptions<KmsStateKeyOptions>>().Value.Kms,
            sp.GetRequiredService<AwsHttp>().Client,
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDataKeyWrapper, KmsDataKeyWrapper>());
        return services;
    }
}

/// <summary>The HttpClient the AWS clients of a host share; disposed with the container.</summary>
public sealed class AwsHttp : IDisposable
{
    public HttpClient Client { get; } = AwsClients.CreateHttpClient();

    public void Dispose() => Client.Dispose();
}
