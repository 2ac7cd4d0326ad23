using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws.Acm;

public static class AcmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the ACM issuer (named "acm") with <see cref="AcmIssuerOptions"/> bound from
    /// <c>Notary:Issuer:Acm</c> and validated on start.
    /// </summary>
    public static IServiceCollection AddNotaryAcmIssuer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AcmIssuerOptions>()
            .Bind(configuration.GetSection(AcmIssuerOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AcmIssuerOptions>, AcmIssuerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AwsHttp>();
        services.TryAddSingleton<IAcmApi>(sp => new AcmApi(AwsClients.CreateAcm(
            sp.GetRequiredService<IOptions<AcmIssuerOptions>>().Value.ToClientOptions(),
            sp.GetRequiredService<AwsHttp>().Client,
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>())));
        services.AddSingleton<ICertificateIssuer>(sp => new AcmIssuer(
            sp.GetRequiredService<IAcmApi>(),
            sp.GetRequiredService<IOptions<AcmIssuerOptions>>(),
            sp.GetRequiredService<ILogger<AcmIssuer>>()));
        return services;
    }

    /// <summary>
    /// Registers the <see cref="IAcmIssuerFactory"/> that <c>acm</c> Issuer and ClusterIssuer
    /// resources use, whatever the default issuer is (an acm Issuer may exist when the default is
    /// the built-in CA). Shared settings come from <c>Notary:Issuer:Acm</c> (named
    /// <see cref="AcmIssuerOptions.PerIssuer"/>, validated on start without requiring a region);
    /// credentials from the SDK's default chain (IRSA on EKS).
    /// </summary>
    public static IServiceCollection AddNotaryAcmIssuerFactory(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AcmIssuerOptions>(AcmIssuerOptions.PerIssuer)
            .Bind(configuration.GetSection(AcmIssuerOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AcmIssuerOptions>, AcmIssuerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AwsHttp>();
        services.TryAddSingleton<IAcmIssuerFactory>(sp => new AcmIssuerFactory(
            sp.GetRequiredService<AwsHttp>().Client,
            sp.GetRequiredService<IOptionsMonitor<AcmIssuerOptions>>().Get(AcmIssuerOptions.PerIssuer),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
