using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Notary.Adapters.Kubernetes;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains;
using Notary.Grains.Abstractions;
using Notary.Grains.Issuers;
using Notary.Grains.Protection;
using Notary.Grains.Tests.Fakes;
using Notary.Silo;
using Notary.Silo.Metrics;
using Notary.Watcher;

namespace Notary.Bench.Scale;

/// <summary>What outlives a silo restart in the scale scenario: the ledger, the CA and the counting ports.</summary>
public sealed class ScaleWorld : IDisposable
{
    public ScaleWorld(int count)
    {
        Ledger = new CertificateLedger(count);
        Issuer = new BuiltInIssuer(Authority, TimeProvider.System);
    }

    public CertificateLedger Ledger { get; }

    public FixedAuthority Authority { get; } = new();

    public CountingEvents Events { get; } = new();

    public CountingAlerts Alerts { get; } = new();

    /// <summary>
    /// The built-in issuer as the product's default: certificates are signed through the built-in
    /// root's issuer grain, which records each (what production does). Issuances are counted by
    /// their Issued Events (one counter across both silos: the restarted one must not issue).
    /// </summary>
    public BuiltInIssuer Issuer { get; }

    public void Dispose() => Authority.Dispose();
}

/// <summary>
/// One Notary silo as the product configures it for production (<see cref="NotaryClusterOptions"/>
/// with provider redis: Redis membership, reminders and grain state; the product's Prometheus
/// metrics), with in-memory ports for the secret store, status writer, events and metadata. The
/// watcher runs as <see cref="WatchSession"/> over in-memory lists, forwarding to the grains
/// through <see cref="GrainForwarder"/> as in production.
/// </summary>
public sealed class ScaleSilo : IAsyncDisposable
{
    // One data key for every silo of the process: they share grain state in Redis.
    private static readonly EphemeralDataKeySource DataKeys = new("scale");

    private readonly IHost _host;

    private ScaleSilo(IHost host) => _host = host;

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public IServiceProvider Services => _host.Services;

    /// <summary>How long an idle activation stays resident (Orleans' GrainCollectionOptions, as the product configures it).</summary>
    public TimeSpan CollectionAge => _host.Services.GetRequiredService<IOptions<Orleans.Configuration.GrainCollectionOptions>>().Value.CollectionAge;

    public static async Task<ScaleSilo> StartAsync(string redisConnectionString, ScaleWorld world, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // The product's default logging (issue 20; before, warnings only): see ProductLogging.
        ProductLogging.Apply(builder.Logging);
        var cluster = new NotaryClusterOptions
        {
            Provider = NotaryClusterOptions.Redis,
            RedisConnectionString = redisConnectionString,
            ClusterId = "scale",
            ServiceId = "scale",
        };
        var validation = new NotaryClusterOptionsValidator().Validate(null, cluster);
        if (validation.Failed)
        {
            throw new InvalidOperationException(validation.FailureMessage);
        }

        builder.UseOrleans(silo => cluster.Apply(silo, FreePorts.Next()));
        var services = builder.Services;
        // The product's Prometheus metrics, registered first so that they stand behind INotaryMetrics.
        services.AddNotaryMetrics();
        services.AddNotaryGrainPorts(new GrainPorts
        {
            DataKeys = DataKeys,
            Status = new LedgerStatusWriter(world.Ledger),
            Events = world.Events,
            Alerts = world.Alerts,
            Authority = world.Authority,
            Issuers = new IssuerResolver([world.Issuer], BuiltInIssuer.DefaultName),
        });
        services.AddOptions<LifecycleOptions>();

        var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        return new ScaleSilo(host);
    }

    /// <summary>
    /// A watcher session (one leader term) over <paramref name="count"/> in-memory Certificates.
    /// The objects already carry Notary's finalizer, so the session never calls the API server;
    /// its Kubernetes client points nowhere, and a call would fail (and show as a stalled run).
    /// </summary>
    public WatchSession NewWatchSession(int count, CertificateLedger ledger, int workers, out IDisposable resources)
    {
        var nowhere = new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = "http://127.0.0.1:9" });
        var kubernetesOptions = Options.Create(new NotaryKubernetesOptions());
        var events = new KubernetesEventRecorder(nowhere, kubernetesOptions, TimeProvider.System, NullLogger<KubernetesEventRecorder>.Instance);
        resources = new Disposables(nowhere, events);
        var options = new NotaryWatcherOptions
        {
            Workers = workers,
            // The periodic resync (10 min) would forward everything again in the middle of a
            // long run's measurement; the resync measured here is the restart's relist.
            ResyncPeriod = TimeSpan.FromDays(1),
        };
        return new WatchSession(
            new InMemoryCertificates(count),
            new NoResources<Keystore>($"{NotaryResources.KeystorePlural}.{NotaryResources.Group}"),
            new NoResources<Truststore>($"{NotaryResources.TruststorePlural}.{NotaryResources.Group}"),
            new NoResources<k8s.Models.V1Secret>("secrets"),
            new LedgerSink(new GrainForwarder(Grains), ledger),
            new ResourceFinalizers(nowhere, kubernetesOptions, NullLogger<ResourceFinalizers>.Instance),
            events,
            options,
            TimeProvider.System,
            _host.Services.GetRequiredService<ILoggerFactory>());
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
    }

    private sealed class Disposables(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}

/// <summary>The production sink, telling the ledger when a certificate's apply returned (issued or resynced, reminder registered).</summary>
internal sealed class LedgerSink(GrainForwarder inner, CertificateLedger ledger) : IResourceEventSink
{
    public async Task ApplyCertificateAsync(ResourceKey resource, Notary.Grains.Abstractions.CertificateSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken)
    {
        await inner.ApplyCertificateAsync(resource, spec, origin, cancellationToken).ConfigureAwait(false);
        ledger.ApplyReturned(resource);
    }

    public Task RenewCertificateAsync(ResourceKey resource, string token, CancellationToken cancellationToken) =>
        inner.RenewCertificateAsync(resource, token, cancellationToken);

    public Task ApplyKeystoreAsync(ResourceKey resource, Notary.Grains.Abstractions.KeystoreSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        inner.ApplyKeystoreAsync(resource, spec, origin, cancellationToken);

    public Task ApplyTruststoreAsync(ResourceKey resource, Notary.Grains.Abstractions.TruststoreSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        inner.ApplyTruststoreAsync(resource, spec, origin, cancellationToken);

    public Task DeleteAsync(ResourceKind kind, ResourceKey resource, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        throw new InvalidOperationException($"The scale scenario deletes nothing, yet {kind} {resource} was deleted.");

    public Task MetadataSecretChangedAsync(ResourceKey secret, CancellationToken cancellationToken) =>
        inner.MetadataSecretChangedAsync(secret, cancellationToken);

    public Task StoredSecretDeletedAsync(ResourceKind kind, ResourceKey store, CancellationToken cancellationToken) =>
        inner.StoredSecretDeletedAsync(kind, store, cancellationToken);

    public Task ApplyCertificatePolicyAsync(string name, Notary.Grains.Abstractions.CertificatePolicySpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        inner.ApplyCertificatePolicyAsync(name, spec, origin, cancellationToken);

    public Task DeleteCertificatePolicyAsync(string name, CancellationToken cancellationToken) =>
        inner.DeleteCertificatePolicyAsync(name, cancellationToken);

    public Task CertificatePoliciesListedAsync(IReadOnlyDictionary<string, string> existing, CancellationToken cancellationToken) =>
        inner.CertificatePoliciesListedAsync(existing, cancellationToken);
}
