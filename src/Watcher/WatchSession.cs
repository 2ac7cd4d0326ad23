using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Watcher;

/// <summary>
/// One term of watching: list+watch of Breaches, Issuers, Certificates, Keystores, Truststores (all namespaces),
/// CertificatePolicies and ClusterIssuers (cluster-scoped), the metadata and CA Secrets they name and the ConfigMaps/Secrets Truststores name as trust sources (metadata only), each forwarded to <see cref="IResourceEventSink"/>, until
/// cancelled. Breaches and issuers come first (see <see cref="RunAsync"/>). The leader runs one per term of leadership; what it forwarded is forgotten with it,
/// so a new leader forwards everything once (the grains ignore what they already have).
/// </summary>
public sealed class WatchSession
{
    private readonly Controller<Certificate> _certificates;
    private readonly Controller<Keystore> _keystores;
    private readonly Controller<Truststore> _truststores;
    private readonly Controller<V1Secret> _secrets;
    private readonly Controller<V1ConfigMap>? _configMaps;
    private readonly Controller<CertificatePolicy>? _policies;
    private readonly Controller<Breach>? _breaches;
    private readonly BreachReconciler? _breachReconciler;
    private readonly Controller<Issuer>? _issuers;
    private readonly Controller<ClusterIssuer>? _clusterIssuers;
    private readonly IssuerReconciler<Issuer>? _issuerReconciler;
    private readonly IssuerReconciler<ClusterIssuer>? _clusterIssuerReconciler;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>
    /// How long the session waits for the first list of Breaches to be forwarded before it
    /// forwards the other resources anyway (a Breach whose grain keeps failing must not stop
    /// Notary for good; a Warning says so).
    /// </summary>
    public static readonly TimeSpan BreachGate = TimeSpan.FromMinutes(2);

    public WatchSession(
        IKubernetes client,
        IResourceEventSink sink,
        ResourceFinalizers finalizers,
        IEventRecorder events,
        NotaryWatcherOptions options,
        TimeProvider time,
        ILoggerFactory loggers,
        string notaryNamespace = "notary")
        : this(
            new CustomResourceSource<Certificate>(client, NotaryResources.CertificatePlural, options.WatchTimeout),
            new CustomResourceSource<Keystore>(client, NotaryResources.KeystorePlural, options.WatchTimeout),
            new CustomResourceSource<Truststore>(client, NotaryResources.TruststorePlural, options.WatchTimeout),
            MetadataOnly.Secrets(client, options.WatchTimeout),
            sink,
            finalizers,
            events,
            options,
            time,
            loggers,
            new CustomResourceSource<CertificatePolicy>(client, CertificatePolicy.KubePluralName, options.WatchTimeout),
            new CustomResourceSource<Breach>(client, NotaryResources.BreachPlural, options.WatchTimeout),
            MetadataOnly.ConfigMaps(client, options.WatchTimeout),
            new CustomResourceSource<Issuer>(client, Issuer.KubePluralName, options.WatchTimeout),
            new CustomResourceSource<ClusterIssuer>(client, ClusterIssuer.KubePluralName, options.WatchTimeout),
            notaryNamespace)
    {
    }

    /// <summary>
    /// A session over the given sources: the API server's in production, in-memory lists in the
    /// scale benchmark (bench/Bench), so that it measures this very relist and forwarding.
    /// Without <paramref name="policies"/> no CertificatePolicy is watched (the benchmark), nor
    /// issuers without <paramref name="issuers"/> and <paramref name="clusterIssuers"/>.
    /// <paramref name="notaryNamespace"/> is where ClusterIssuers' CA Secrets live.
    /// </summary>
    internal WatchSession(
        IResourceSource<Certificate> certificates,
        IResourceSource<Keystore> keystores,
        IResourceSource<Truststore> truststores,
        IResourceSource<V1Secret> secrets,
        IResourceEventSink sink,
        ResourceFinalizers finalizers,
        IEventRecorder events,
        NotaryWatcherOptions options,
        TimeProvider time,
        ILoggerFactory loggers,
        IResourceSource<CertificatePolicy>? policies = null,
        IResourceSource<Breach>? breaches = null,
        IResourceSource<V1ConfigMap>? configMaps = null,
        IResourceSource<Issuer>? issuers = null,
        IResourceSource<ClusterIssuer>? clusterIssuers = null,
        string notaryNamespace = "notary")
    {
        var logger = loggers.CreateLogger<WatchSession>();
        _time = time;
        _logger = logger;
        var index = new MetadataSecretIndex();
        var trustSources = new TrustSourceIndex();
        var caSecrets = new CaSecretIndex();

        Controller<TResource> Custom<TResource>(IResourceSource<TResource> source, NotaryKind<TResource> kind, Func<IReconciler<TResource>, IReconciler<TResource>>? wrap = null)
            where TResource : class, IKubernetesObject<V1ObjectMeta>
        {
            var informer = new Informer<TResource>(source, options, time, logger);
            IReconciler<TResource> reconciler = new ResourceReconciler<TResource>(kind, sink, finalizers, events, index, logger);
            return new Controller<TResource>(informer, wrap is null ? reconciler : wrap(reconciler), options, time, logger);
        }

        _certificates = Custom(certificates, new NotaryKind<Certificate>(
            ResourceKind.Certificate,
            ApplyCertificateAsync,
            Trigger: RenewTokenOf));
        _keystores = Custom(keystores, new NotaryKind<Keystore>(
            ResourceKind.Keystore,
            (s, key, o, origin, ct) => s.ApplyKeystoreAsync(key, ResourceMapping.ToSpec(o.Spec), origin, ct),
            o => o.Spec.MetadataSecret));
        _truststores = Custom(truststores, new NotaryKind<Truststore>(
            ResourceKind.Truststore,
            (s, key, o, origin, ct) => s.ApplyTruststoreAsync(key, ResourceMapping.ToSpec(o.Spec), origin, ct),
            o => o.Spec.MetadataSecret),
            reconciler => new TrustSourceObservingReconciler(reconciler, trustSources));
        _secrets = new Controller<V1Secret>(
            new Informer<V1Secret>(secrets, options, time, logger),
            new BothReconcilers<V1Secret>(
                new MetadataSecretReconciler(sink, index, logger, caSecrets),
                new TrustSourceReconciler<V1Secret>(TrustSourceKinds.Secret, sink, trustSources, logger)),
            options,
            time,
            logger);
        if (configMaps is not null)
        {
            // Truststore trust sources: which ConfigMaps changed (metadata only, see MetadataOnlySource).
            _configMaps = new Controller<V1ConfigMap>(
                new Informer<V1ConfigMap>(configMaps, options, time, logger),
                new TrustSourceReconciler<V1ConfigMap>(TrustSourceKinds.ConfigMap, sink, trustSources, logger),
                options,
                time,
                logger);
        }

        if (policies is not null)
        {
            _policies = new Controller<CertificatePolicy>(new Informer<CertificatePolicy>(policies, options, time, logger), new CertificatePolicyReconciler(sink, logger), options, time, logger);
        }

        if (breaches is not null)
        {
            _breachReconciler = new BreachReconciler(sink, finalizers, logger);
            _breaches = new Controller<Breach>(new Informer<Breach>(breaches, options, time, logger), _breachReconciler, options, time, logger);
        }

        if (issuers is not null)
        {
            // Informer keys are "namespace/name"; an Issuer's CA Secret is in its own namespace.
            _issuerReconciler = new IssuerReconciler<Issuer>(
                sink, caSecrets, IssuerKinds.Issuer, key => IssuerKeys.Namespaced(ResourceKey.Parse(key).Namespace, ResourceKey.Parse(key).Name), null, logger);
            _issuers = new Controller<Issuer>(new Informer<Issuer>(issuers, options, time, logger), _issuerReconciler, options, time, logger);
        }

        if (clusterIssuers is not null)
        {
            // Cluster-scoped: the key is "/NAME"; a ClusterIssuer's CA Secret is in Notary's namespace.
            _clusterIssuerReconciler = new IssuerReconciler<ClusterIssuer>(
                sink, caSecrets, IssuerKinds.ClusterIssuer, key => IssuerKeys.Cluster(key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..]), notaryNamespace, logger);
            _clusterIssuers = new Controller<ClusterIssuer>(new Informer<ClusterIssuer>(clusterIssuers, options, time, logger), _clusterIssuerReconciler, options, time, logger);
        }
    }

    /// <summary>
    /// When the Certificate carries the annotation notary.dev/renew, the operator's request to
    /// renew now, then the spec. Forwarded again on a new annotation value although the generation
    /// stays; the grain acts once per value, so a resync or a new term forwarding it again is harmless.
    /// The request goes first so that a certificate not yet known (created with the annotation, a
    /// restore, a loss of grain state) records it as covered by its first issuance: after the spec
    /// (the built-in issuer issues at once) it would be issued a second time.
    /// </summary>
    private static async Task ApplyCertificateAsync(IResourceEventSink sink, ResourceKey key, Certificate certificate, ResourceVersionInfo origin, CancellationToken cancellationToken)
    {
        if (RenewTokenOf(certificate) is { } token)
        {
            await sink.RenewCertificateAsync(key, token, cancellationToken).ConfigureAwait(false);
        }

        await sink.ApplyCertificateAsync(key, ResourceMapping.ToSpec(certificate.Spec), origin, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The value of the annotation notary.dev/renew; null when absent or empty.</summary>
    internal static string? RenewTokenOf(Certificate certificate) =>
        certificate.Metadata?.Annotations is { } annotations && annotations.TryGetValue(RenewAnnotation.Name, out var token) && !string.IsNullOrEmpty(token)
            ? token
            : null;

    private IEnumerable<Informer<CertificatePolicy>> PolicyInformers => _policies is null ? [] : [_policies.Informer];

    private IEnumerable<Informer<Breach>> BreachInformers => _breaches is null ? [] : [_breaches.Informer];

    private IEnumerable<Informer<V1ConfigMap>> ConfigMapInformers => _configMaps is null ? [] : [_configMaps.Informer];

    private IEnumerable<(string Name, Task Synced, string? ResourceVersion)> IssuerInformers =>
        [.. _issuers is null ? [] : new[] { (_issuers.Informer.Name, _issuers.Informer.Synced, _issuers.Informer.ResourceVersion) },
         .. _clusterIssuers is null ? [] : new[] { (_clusterIssuers.Informer.Name, _clusterIssuers.Informer.Synced, _clusterIssuers.Informer.ResourceVersion) }];

    /// <summary>Completes once each resource type has been listed for the first time.</summary>
    public Task Synced => Task.WhenAll(
        [_certificates.Informer.Synced, _keystores.Informer.Synced, _truststores.Informer.Synced, _secrets.Informer.Synced, .. PolicyInformers.Select(i => i.Synced), .. BreachInformers.Select(i => i.Synced), .. ConfigMapInformers.Select(i => i.Synced), .. IssuerInformers.Select(i => i.Synced)]);

    /// <summary>The last resourceVersion each loop saw, by resource ("certificates.notary.dev", "secrets" ...); null while relisting.</summary>
    public IReadOnlyDictionary<string, string?> ResourceVersions => new Dictionary<string, string?>
    {
        [_certificates.Informer.Name] = _certificates.Informer.ResourceVersion,
        [_keystores.Informer.Name] = _keystores.Informer.ResourceVersion,
        [_truststores.Informer.Name] = _truststores.Informer.ResourceVersion,
        [_secrets.Informer.Name] = _secrets.Informer.ResourceVersion,
    }.Concat(PolicyInformers.Select(i => KeyValuePair.Create(i.Name, i.ResourceVersion)))
        .Concat(BreachInformers.Select(i => KeyValuePair.Create(i.Name, i.ResourceVersion)))
        .Concat(ConfigMapInformers.Select(i => KeyValuePair.Create(i.Name, i.ResourceVersion)))
        .Concat(IssuerInformers.Select(i => KeyValuePair.Create(i.Name, i.ResourceVersion))).ToDictionary();

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled; never throws for an API failure.
    /// Breaches (and Issuers and ClusterIssuers, with them) are listed and forwarded before anything else is: quarantine is derived from the
    /// Breaches that exist, and after a loss of grain state (Redis wiped, every silo restarted) the
    /// certificates remember no quarantine until their Breaches are forwarded again. Were the
    /// Certificates and Truststores forwarded first, truststores would be rebuilt with a
    /// quarantined certificate back in and served so until the Breaches caught up. So the other
    /// resources wait until every Breach of the first list has been forwarded (at most
    /// <see cref="BreachGate"/>, then a Warning).
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var breaches = _breaches?.RunAsync(cancellationToken) ?? Task.CompletedTask;
        // Issuers are listed with the Breaches: a Certificate forwarded before its issuer would
        // ask an issuer grain that has not seen its spec yet (and wait IssuerNotReady for nothing).
        var issuers = Task.WhenAll(
            _issuers?.RunAsync(cancellationToken) ?? Task.CompletedTask,
            _clusterIssuers?.RunAsync(cancellationToken) ?? Task.CompletedTask);
        var issuersForwarded = Task.WhenAll(
            _issuerReconciler?.InitialListForwarded ?? Task.CompletedTask,
            _clusterIssuerReconciler?.InitialListForwarded ?? Task.CompletedTask);
        var breachesForwarded = _breachReconciler?.InitialListForwarded ?? Task.CompletedTask;

        using (var gate = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var delay = Task.Delay(BreachGate, _time, gate.Token);
            var both = Task.WhenAll(breachesForwarded, issuersForwarded);
            await Task.WhenAny(both, delay, breaches, issuers).ConfigureAwait(false);
            await gate.CancelAsync().ConfigureAwait(false);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAll(breaches, issuers).ConfigureAwait(false);
            return;
        }

        if (!breachesForwarded.IsCompleted)
        {
            Log.BreachGateTimedOut(_logger, BreachGate);
        }

        if (!issuersForwarded.IsCompleted)
        {
            Log.IssuerGateTimedOut(_logger, BreachGate);
        }

        await Task.WhenAll(
            breaches,
            issuers,
            _certificates.RunAsync(cancellationToken),
            _keystores.RunAsync(cancellationToken),
            _truststores.RunAsync(cancellationToken),
            _secrets.RunAsync(cancellationToken),
            _policies?.RunAsync(cancellationToken) ?? Task.CompletedTask,
            _configMaps?.RunAsync(cancellationToken) ?? Task.CompletedTask).ConfigureAwait(false);
    }
}
