using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace Notary.Silo.Tls;

/// <summary>The host's wiring of Notary's own TLS: certificates, the API's listener, the dashboard's.</summary>
public static class NotaryTls
{
    /// <summary>
    /// Registers the options, the certificate holders and <see cref="NotaryCertificates"/>. Call
    /// before UseOrleans: hosted services start in registration order, and the silo must find its
    /// certificate issued.
    /// </summary>
    public static (SiloCertificate Silo, ApiCertificate Api) Register(IServiceCollection services, IConfiguration configuration, bool apiTls)
    {
        var options = configuration.GetSection(NotaryTlsOptions.SectionName).Get<NotaryTlsOptions>() ?? new NotaryTlsOptions();
        var silo = new SiloCertificate();
        var api = new ApiCertificate(apiTls && options.Api);
        services.AddOptions<NotaryTlsOptions>().Bind(configuration.GetSection(NotaryTlsOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NotaryTlsOptions>, NotaryTlsOptionsValidator>();
        services.AddOptions<BuiltInCaOptions>().Bind(configuration.GetSection(BuiltInCaOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BuiltInCaOptions>, BuiltInCaOptionsValidator>();
        services.AddSingleton(silo);
        services.AddSingleton(api);
        services.AddSingleton<CaPublisher>();
        services.AddSingleton<NotaryCertificates>();
        services.AddHostedService(sp => sp.GetRequiredService<NotaryCertificates>());
        return (silo, api);
    }

    /// <summary>
    /// The HTTP API on <see cref="NotaryHostSettings.ApiAddress"/>:<see cref="NotaryHostSettings.ApiPort"/>
    /// (HTTPS with the API certificate, chosen per handshake so that a renewal needs no restart,
    /// when <paramref name="api"/> is enabled), and the dashboard's plain HTTP port on 127.0.0.1.
    /// </summary>
    public static void Listen(IWebHostBuilder webHost, NotaryHostSettings settings, ApiCertificate api, int? dashboardPort)
    {
        var address = settings.ApiAddress == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(settings.ApiAddress, out var parsed) ? parsed
            : throw new InvalidOperationException($"Notary:Api:Address \"{settings.ApiAddress}\" is not an IP address: use 0.0.0.0 (every interface, in a pod) or 127.0.0.1.");
        if (dashboardPort == settings.ApiPort)
        {
            throw new InvalidOperationException($"Notary:Dashboard:Port {dashboardPort} is the HTTP API's port: choose another, e.g. Notary__Dashboard__Port={NotaryHost.DefaultDashboardPort}.");
        }

        webHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, settings.ApiPort, listen =>
            {
                if (api.Enabled)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificateSelector = (_, _) => api.Holder.Certificate,
                    });
                }
            });
            if (dashboardPort is { } port)
            {
                kestrel.Listen(IPAddress.Loopback, port);
            }
        });
    }

    /// <summary>
    /// Serves <paramref name="path"/> only to connections on <paramref name="port"/> (the loopback
    /// dashboard port) and nothing else there. The connection's local port decides, not the Host
    /// header, which a caller chooses.
    /// </summary>
    public static IApplicationBuilder UseDashboardPortOnly(this IApplicationBuilder app, int port, string path) =>
        app.Use(async (context, next) =>
        {
            var onDashboardPort = context.Connection.LocalPort == port;
            if (onDashboardPort != context.Request.Path.StartsWithSegments(path, StringComparison.OrdinalIgnoreCase))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(context);
        });
}
