using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>
/// Where the watcher delivers what it saw, once per (uid, generation), mapped to the grains'
/// terms. <see cref="GrainForwarder"/> calls the grains; tests record. A call that throws is
/// retried with backoff, so implementations must be idempotent.
/// </summary>
public interface IResourceEventSink
{
    Task ApplyCertificateAsync(ResourceKey resource, CertificateSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken);

    /// <summary>
    /// The Certificate carries the annotation notary.dev/renew with <paramref name="token"/>
    /// (forwarded after its spec, and again whenever the value changes): renew now, once per token.
    /// </summary>
    Task RenewCertificateAsync(ResourceKey resource, string token, CancellationToken cancellationToken);

    Task ApplyKeystoreAsync(ResourceKey resource, KeystoreSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken);

    Task ApplyTruststoreAsync(ResourceKey resource, TruststoreSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken);

    /// <summary>The resource was deleted; <paramref name="origin"/> names the incarnation (uid) that went away.</summary>
    Task DeleteAsync(ResourceKind kind, ResourceKey resource, ResourceVersionInfo origin, CancellationToken cancellationToken);

    /// <summary>A metadata Secret that some Keystore or Truststore names was created, changed or deleted.</summary>
    Task MetadataSecretChangedAsync(ResourceKey secret, CancellationToken cancellationToken);

    /// <summary>A CertificatePolicy (cluster-scoped, by name) was created or changed.</summary>
    Task ApplyCertificatePolicyAsync(string name, CertificatePolicySpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken);

    /// <summary>A CertificatePolicy was deleted.</summary>
    Task DeleteCertificatePolicyAsync(string name, CancellationToken cancellationToken);

    /// <summary>After a full list: the CertificatePolicies that exist (uid by name); any other one held is deleted.</summary>
    Task CertificatePoliciesListedAsync(IReadOnlyDictionary<string, string> existing, CancellationToken cancellationToken);

    /// <summary>A Secret that Notary wrote for a Keystore or Truststore (by its labels) was deleted.</summary>
    Task StoredSecretDeletedAsync(ResourceKind kind, ResourceKey store, CancellationToken cancellationToken);

    /// <summary>
    /// A ConfigMap or Secret that the Truststore names in spec.sources was created, changed or
    /// deleted: the Truststore reads its sources again. No-op by default, for sinks that only follow the other resources.
    /// </summary>
    Task TrustSourceChangedAsync(ResourceKey truststore, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// A Breach was created or changed (or is forwarded again): its grain acts on it, or adopts
    /// what the API server records. No-op by default, for sinks that only follow the other resources.
    /// </summary>
    Task ApplyBreachAsync(ResourceKey breach, BreachRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The Breach incarnation <paramref name="uid"/> is being deleted: lift a quarantine, clear the grain; returns once done,
    /// throws when the lift failed (retried). <paramref name="spec"/> (when known) lets a grain without state lift.
    /// </summary>
    Task DeleteBreachAsync(ResourceKey breach, string uid, BreachRequest? spec, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// An Issuer or ClusterIssuer (grain key as <see cref="IssuerKeys"/>) was created or changed, or
    /// is forwarded again. No-op by default, for sinks that only follow the other resources.
    /// </summary>
    Task ApplyIssuerAsync(string issuerKey, IssuerSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The Issuer or ClusterIssuer is gone (or being deleted): its Certificates wait.</summary>
    Task DeleteIssuerAsync(string issuerKey, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// After a full list of Issuers or ClusterIssuers (<paramref name="kind"/>): the grain keys
    /// that exist; any other issuer grain of that kind that holds a spec is deleted (an issuer
    /// deleted while no watcher ran). No-op by default, for sinks that only follow the other resources.
    /// </summary>
    Task IssuersListedAsync(string kind, IReadOnlySet<string> existing, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The Secret a <c>ca</c> issuer names was created, changed or deleted: the issuer reads it again.</summary>
    Task CaSecretChangedAsync(string issuerKey, CancellationToken cancellationToken) => Task.CompletedTask;
}
