using k8s;
using Microsoft.Extensions.Options;
using Notary.Adapters.Kubernetes;
using Notary.Aws;
using Notary.Aws.Acm;
using Notary.Grains;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Issuers;
using Notary.Grains.Protection;
using Notary.Grains.Restarts;
using Notary.Silo.Alerts;
using Notary.Silo.Metrics;
using Notary.Silo.Tls;
using Notary.Watcher;
using Orleans.Dashboard;

namespace Notary.Silo;

/// <summary>What differs between the ways Notary runs: where the API server is, and the ports.</summary>
public sealed record NotaryHostSettings
{
    /// <summary>How to reach the Kubernetes API.</summary>
    public required KubernetesClientConfiguration Kubernetes { get; init; }

    /// <summary>The HTTP API (health, metrics, breach API) listens on this port.</summary>
    public int ApiPort { get; init; } = 8080;

    /// <summary>The address the HTTP API binds: loopback in dev mode, every interface in a pod.</summary>
    public string ApiAddress { get; init; } = "127.0.0.1";

    /// <summary>
    /// Orleans' silo-to-silo port (Notary:Cluster:SiloPort), mutual TLS with certificates from
    /// Notary's CA. There is no gateway port: nothing in Notary is an Orleans client.
    /// </summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>Whether the HTTP API serves HTTPS with a certificate from Notary's CA (run mode: Notary:Tls:Api, default true); dev mode serves plain HTTP on loopback.</summary>
    public bool ApiTls { get; init; }

    /// <summary>Extra configuration (tests), applied after appsettings and environment variables.</summary>
    public IReadOnlyDictionary<string, string?> Configuration { get; init; } = new Dictionary<string, string?>();

    /// <summary>Last changes to the services (tests: a fake breach service, a log sink); a later registration wins.</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }
}

/// <summary>
/// Builds the host: Orleans with the grains, the Kubernetes adapters behind the grains' ports,
/// the leader-elected watcher, the built-in CA and the HTTP API. Configuration follows .NET
/// conventions: appsettings.json, then environment variables such as Notary__Kubernetes__Namespace.
/// </summary>
public static class NotaryHost
{
    /// <summary>Serves the Orleans dashboard at <see cref="DashboardPath"/> when true (default false).</summary>
    public const string DashboardEnabledKey = "Notary:Dashboard:Enabled";

    /// <summary>The dashboard's own port on 127.0.0.1 (default <see cref="DefaultDashboardPort"/>): only kubectl port-forward reaches it.</summary>
    public const string DashboardPortKey = "Notary:Dashboard:Port";

    public const int DefaultDashboardPort = 8081;

    /// <summary>Where the Orleans dashboard is served on its loopback port.</summary>
    public const string DashboardPath = "/dashboard";

    /// <summary>Writes console logs as JSON lines when true (default false).</summary>
    public const string JsonLogsKey = "Notary:Logging:Json";

    public static WebApplication Build(NotaryHostSettings settings, string[]? args = null)
    {
        // Settings beside the binary (appsettings.json), wherever the process was started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args ?? [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings.Configuration);
        var dashboard = builder.Configuration.GetValue<bool>(DashboardEnabledKey);
        var dashboardPort = builder.Configuration.GetValue(DashboardPortKey, DefaultDashboardPort);

        // Notary's own TLS: its certificates are issued before Orleans and Kestrel start (registered first).
        var tls = NotaryTls.Register(builder.Services, builder.Configuration, settings.ApiTls);
        NotaryTls.Listen(builder.WebHost, settings, tls.Api, dashboard ? dashboardPort : null);
        if (builder.Configuration.GetValue<bool>(JsonLogsKey))
        {
            // One JSON object per line on stdout, for log collectors; same provider, other formatter.
            builder.Logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }

        var cluster = NotaryClusterOptions.From(builder.Configuration);
        builder.UseOrleans(silo =>
        {
            cluster.Apply(silo, settings.SiloPort);
            SiloTls.Use(silo, tls.Silo.Holder, TimeProvider.System);
            if (dashboard)
            {
                silo.AddDashboard();
            }
        });

        var services = builder.Services;
        services.AddOptions<NotaryClusterOptions>().Configure(o =>
        {
            o.Provider = cluster.Provider;
            o.RedisConnectionString = cluster.RedisConnectionString;
            o.RedisAllowInsecure = cluster.RedisAllowInsecure;
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
            o.AdvertisedAddress = cluster.AdvertisedAddress;
            o.InPod = cluster.InPod;
            o.PodServiceId = cluster.PodServiceId;
            o.PodClusterId = cluster.PodClusterId;
        }).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NotaryClusterOptions>, NotaryClusterOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        // Stated rather than left to the framework's default: the chart's terminationGracePeriodSeconds
        // must exceed it, so that a silo hands over its grains and its Lease before it is killed.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        services.AddSingleton<IKubernetes>(_ => new Kubernetes(settings.Kubernetes));
        var backends = BackendOptions.From(builder.Configuration);
        services.AddOptions<BackendOptions>().Configure(o =>
        {
            o.IssuerType = backends.IssuerType;
            o.StoreType = backends.StoreType;
        }).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BackendOptions>, BackendOptionsValidator>();
        // The host alone wires adapters to ports: the Kubernetes adapters always, then exactly one store.
        services.AddNotaryKubernetes(builder.Configuration);
        if (backends.StoreType == BackendOptions.SecretsManagerStore)
        {
            services.AddNotarySecretsManagerStore(builder.Configuration);
        }
        else
        {
            services.AddNotaryKubernetesSecretStore();
        }

        // Private keys in grain state are encrypted under data keys from a Secret of Notary's
        // namespace (AddNotaryKubernetes), wrapped by AWS KMS when Notary:State:KmsKeyId is set.
        services.AddNotaryStateProtection();
        if (KmsStateKeyOptions.IsEnabled(builder.Configuration))
        {
            services.AddNotaryKmsStateKeys(builder.Configuration);
        }

        services.AddNotaryWatcher(builder.Configuration);
        services.AddSingleton<ICertificateIssuer>(sp => new BuiltInIssuer(sp.GetRequiredService<ICertificateAuthoritySource>(), sp.GetRequiredService<TimeProvider>()));
        if (backends.IssuerType == BackendOptions.Acm)
        {
            services.AddNotaryAcmIssuer(builder.Configuration);
        }

        // acm Issuers and ClusterIssuers may exist whatever the default issuer is.
        services.AddNotaryAcmIssuerFactory(builder.Configuration);

        var defaultIssuer = backends.IssuerType == BackendOptions.Acm ? AcmIssuer.DefaultName : BuiltInIssuer.DefaultName;
        services.AddSingleton<IIssuerResolver>(sp => new IssuerResolver(sp.GetServices<ICertificateIssuer>(), defaultIssuer));
        services.AddOptions<LifecycleOptions>().Bind(builder.Configuration.GetSection(LifecycleOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LifecycleOptions>, LifecycleOptionsValidator>();
        services.AddOptions<PolicyOptions>().Bind(builder.Configuration.GetSection(PolicyOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PolicyOptions>, PolicyOptionsValidator>();
        services.AddOptions<RotationOptions>().Bind(builder.Configuration.GetSection(RotationOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RotationOptions>, RotationOptionsValidator>();
        services.AddOptions<StoreWriteOptions>().Bind(builder.Configuration.GetSection(StoreWriteOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StoreWriteOptions>, StoreWriteOptionsValidator>();
        services.AddSingleton<StoreWriteGate>();
        services.AddNotaryProbes(builder.Configuration);
        services.AddNotaryBreachApi();
        services.AddNotaryApiThrottling(builder.Configuration);

        // Lifecycle: workload restarts go through one restart grain per workload (its finder and
        // patcher come with the Kubernetes adapters above); alerts and metrics.
        services.AddNotaryWorkloadRestarts(builder.Configuration);
        services.AddNotaryAlerts(builder.Configuration);
        services.AddNotaryMetrics();

        // Last, so that a test's registration of a service replaces the host's.
        settings.ConfigureServices?.Invoke(services);

        var app = builder.Build();
        if (dashboard)
        {
            // The dashboard answers only on its loopback port, and that port serves nothing else.
            app.UseDashboardPortOnly(dashboardPort, DashboardPath);
        }

        // Probes exist in every environment, not only in Development.
        app.MapNotaryProbes();
        app.MapNotaryMetrics();
        // Before the breach API's handlers: a throttled request costs no TokenReview (ApiThrottling).
        app.UseRateLimiter();
        app.MapBreachApi();
        if (dashboard)
        {
            // No authentication of its own: it listens on 127.0.0.1 only; in a pod, reach it
            // with kubectl port-forward (README).
            app.MapOrleansDashboard(routePrefix: DashboardPath);
        }

        return app;
    }

    /// <summary>How long a stopping host waits for Orleans and the watcher (HostOptions.ShutdownTimeout).</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The CRD manifests shipped beside the binary (copied from charts/notary/crds at build).</summary>
    public static string CrdDirectory => Path.Combine(AppContext.BaseDirectory, "crds");
}
