using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Silo.Alerts;

public static class AlertsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="WebhookAlertSink"/> as <see cref="IAlertSink"/> and as the hosted
    /// service that delivers, with <see cref="NotaryAlertOptions"/> bound from <c>Notary:Alerts</c>
    /// and validated on start, and its HttpClient: no redirects followed (a POST must not turn into
    /// a GET elsewhere), and none of IHttpClientFactory's request logging, which would print the
    /// webhook URL and any token in it.
    /// </summary>
    public static IServiceCollection AddNotaryAlerts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<NotaryAlertOptions>()
            .Bind(configuration.GetSection(NotaryAlertOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NotaryAlertOptions>, NotaryAlertOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(WebhookAlertSink.HttpClientName, client =>
            {
                // The sink bounds each attempt itself (RequestTimeout); this only stops HttpClient's own 100 s default from interfering.
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("notary-alerts/1");
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .RemoveAllLoggers();
        services.TryAddSingleton<WebhookAlertSink>();
        services.TryAddSingleton<IAlertSink>(sp => sp.GetRequiredService<WebhookAlertSink>());
        services.AddHostedService(sp => sp.GetRequiredService<WebhookAlertSink>());
        return services;
    }
}
