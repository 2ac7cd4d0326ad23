using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Watcher;

/// <summary>
/// One term of watching: list+watch of Certificates, Keystores, Truststores (all namespaces),
/// CertificatePolicies (cluster-scoped) and the metadata Secrets they name, each forwarded to <see cref="IResourceEventSink"/>, until
/// cancelled. The leader runs one per term of leadership; what it forwarded is forgotten with it,
/// so a new leader forwards everything once (the grains ignore what they already have).
/// </summary>
public sealed class WatchSession
{
    private readonly Controller<Certificate> _certificates;
    private readonly Controller<Keystore> _keystores;
    private readonly Controller<Truststore> _truststores;
    private readonly Controller<V1Secret> _secrets;
    private readonly Controller<CertificatePolicy>? _policies;

    public WatchSession(
        IKubernetes client,
        IResourceEventSink sink,
        ResourceFinalizers finalizers,
        IEventRecorder events,
        NotaryWatcherOptions options,
        TimeProvider time,
        ILoggerFactory loggers)
        : this(
            new CustomResourceSource<Certificate>(client, NotaryResources.CertificatePlural, options.WatchTimeout),
            new CustomResourceSource<Keystore>(client, NotaryResources.KeystorePlural, options.WatchTimeout),
            new CustomResourceSource<Truststore>(client, NotaryResources.TruststorePlural, options.WatchTimeout),
            new SecretSource(client, options.WatchTimeout),
            sink,
            finalizers,
            events,
            options,
            time,
            loggers,
            new CustomResourceSource<CertificatePolicy>(client, CertificatePolicy.KubePluralName, options.WatchTimeout))
    {
    }

    /// <summary>
    /// A session over the given sources: the API server's in production, in-memory lists in the
    /// scale benchmark (bench/Bench), so that it measures this very relist and forwarding.
    /// Without <paramref name="policies"/> no CertificatePolicy is watched (the benchmark).
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
        IResourceSource<CertificatePolicy>? policies = null)
    {
        var logger = loggers.CreateLogger<WatchSession>();
        var index = new MetadataSecretIndex();

        Controller<TResource> Custom<TResource>(IResourceSource<TResource> source, NotaryKind<TResource> kind)
            where TResource : class, IKubernetesObject<V1ObjectMeta>
        {
            var informer = new Informer<TResource>(source, options, time, logger);
            return new Controller<TResource>(informer, new ResourceReconciler<TResource>(kind, sink, finalizers, events, index, logger), options, time, logger);
        }

        _certificates = Custom(certificates, new NotaryKind<Certificate>(
            ResourceKind.Certificate,
            (s, key, o, origin, ct) => s.ApplyCertificateAsync(key, ResourceMapping.ToSpec(o.Spec), origin, ct)));
        _keystores = Custom(keystores, new NotaryKind<Keystore>(
            ResourceKind.Keystore,
            (s, key, o, origin, ct) => s.ApplyKeystoreAsync(key, ResourceMapping.ToSpec(o.Spec), origin, ct),
            o => o.Spec.MetadataSecret));
        _truststores = Custom(truststores, new NotaryKind<Truststore>(
            ResourceKind.Truststore,
            (s, key, o, origin, ct) => s.ApplyTruststoreAsync(key, ResourceMapping.ToSpec(o.Spec), origin, ct),
            o => o.Spec.MetadataSecret));
        _secrets = new Controller<V1Secret>(
            new Informer<V1Secret>(secrets, options, time, logger),
            new MetadataSecretReconciler(sink, index, logger),
            options,
            time,
            logger);
        if (policies is not null)
        {
            _policies = new Controller<CertificatePolicy>(new Informer<CertificatePolicy>(policies, options, time, logger), new CertificatePolicyReconciler(sink, logger), options, time, logger);
        }
    }

    private IEnumerable<Informer<CertificatePolicy>> PolicyInformers => _policies is null ? [] : [_policies.Informer];

    /// <summary>Completes once each resource type has been listed for the first time.</summary>
    public Task Synced => Task.WhenAll(
        [_certificates.Informer.Synced, _keystores.Informer.Synced, _truststores.Informer.Synced, _secrets.Informer.Synced, .. PolicyInformers.Select(i => i.Synced)]);

    /// <summary>The last resourceVersion each loop saw, by resource ("certificates.notary.dev", "secrets" ...); null while relisting.</summary>
    public IReadOnlyDictionary<string, string?> ResourceVersions => new Dictionary<string, string?>
    {
        [_certificates.Informer.Name] = _certificates.Informer.ResourceVersion,
        [_keystores.Informer.Name] = _keystores.Informer.ResourceVersion,
        [_truststores.Informer.Name] = _truststores.Informer.ResourceVersion,
        [_secrets.Informer.Name] = _secrets.Informer.ResourceVersion,
    }.Concat(PolicyInformers.Select(i => KeyValuePair.Create(i.Name, i.ResourceVersion))).ToDictionary();

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; never throws for an API failure.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Task.WhenAll(
        _certificates.RunAsync(cancellationToken),
        _keystores.RunAsync(cancellationToken),
        _truststores.RunAsync(cancellationToken),
        _secrets.RunAsync(cancellationToken),
        _policies?.RunAsync(cancellationToken) ?? Task.CompletedTask);
}
