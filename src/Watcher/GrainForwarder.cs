using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>The production sink: each resource's grain (keyed "namespace/name") receives its change.</summary>
public sealed class GrainForwarder(IGrainFactory grains) : IResourceEventSink
{
    public Task ApplyCertificateAsync(ResourceKey resource, CertificateSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        grains.GetGrain<ICertificateGrain>(resource.ToString()).ApplyAsync(spec, origin);

    public Task RenewCertificateAsync(ResourceKey resource, string token, CancellationToken cancellationToken) =>
        grains.GetGrain<ICertificateGrain>(resource.ToString()).RenewAsync(token);

    public Task ApplyKeystoreAsync(ResourceKey resource, KeystoreSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        grains.GetGrain<IKeystoreGrain>(resource.ToString()).ApplyAsync(spec, origin);

    public Task ApplyTruststoreAsync(ResourceKey resource, TruststoreSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        grains.GetGrain<ITruststoreGrain>(resource.ToString()).ApplyAsync(spec, origin);

    public Task DeleteAsync(ResourceKind kind, ResourceKey resource, ResourceVersionInfo origin, CancellationToken cancellationToken) => kind switch
    {
        ResourceKind.Certificate => grains.GetGrain<ICertificateGrain>(resource.ToString()).DeleteAsync(),
        ResourceKind.Keystore => grains.GetGrain<IKeystoreGrain>(resource.ToString()).DeleteAsync(),
        ResourceKind.Truststore => grains.GetGrain<ITruststoreGrain>(resource.ToString()).DeleteAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a Notary resource kind"),
    };

    public Task MetadataSecretChangedAsync(ResourceKey secret, CancellationToken cancellationToken) =>
        grains.GetGrain<IMetadataSecretGrain>(secret.ToString()).ChangedAsync();

    public Task ApplyCertificatePolicyAsync(string name, CertificatePolicySpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        grains.GetGrain<ICertificatePolicyGrain>(ICertificatePolicyGrain.ClusterKey).ApplyAsync(name, spec, origin);

    public Task DeleteCertificatePolicyAsync(string name, CancellationToken cancellationToken) =>
        grains.GetGrain<ICertificatePolicyGrain>(ICertificatePolicyGrain.ClusterKey).DeleteAsync(name);

    public Task CertificatePoliciesListedAsync(IReadOnlyDictionary<string, string> existing, CancellationToken cancellationToken) =>
        grains.GetGrain<ICertificatePolicyGrain>(ICertificatePolicyGrain.ClusterKey).PruneAsync(existing);

    public Task StoredSecretDeletedAsync(ResourceKind kind, ResourceKey store, CancellationToken cancellationToken) => kind switch
    {
        ResourceKind.Keystore => grains.GetGrain<IKeystoreGrain>(store.ToString()).OnStoredSecretDeletedAsync(),
        ResourceKind.Truststore => grains.GetGrain<ITruststoreGrain>(store.ToString()).OnStoredSecretDeletedAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "only stores are kept in Secrets"),
    };

    /// <summary>
    /// The store reconciles as for a changed metadata Secret: it reads every input again (its
    /// sources among them) and rebuilds only when what it would hold changed.
    /// </summary>
    public Task TrustSourceChangedAsync(ResourceKey truststore, CancellationToken cancellationToken) =>
        grains.GetGrain<ITruststoreGrain>(truststore.ToString()).OnMetadataChangedAsync();

    public Task ApplyBreachAsync(ResourceKey breach, BreachRequest request, CancellationToken cancellationToken) =>
        grains.GetGrain<IBreachGrain>(BreachIds.KeyOf(breach)).StartAsync(request);

    public Task DeleteBreachAsync(ResourceKey breach, string uid, BreachRequest? spec, CancellationToken cancellationToken) =>
        grains.GetGrain<IBreachGrain>(BreachIds.KeyOf(breach)).DeleteAsync(uid, spec);

    public Task ApplyIssuerAsync(string issuerKey, IssuerSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        grains.GetGrain<IIssuerGrain>(issuerKey).ApplyAsync(spec, origin);

    public Task DeleteIssuerAsync(string issuerKey, CancellationToken cancellationToken) =>
        grains.GetGrain<IIssuerGrain>(issuerKey).DeleteAsync();

    public async Task IssuersListedAsync(string kind, IReadOnlySet<string> existing, CancellationToken cancellationToken)
    {
        // The registry lists the issuer grains that hold a spec; those the list did not have were
        // deleted while no watcher ran. Deleting unregisters them (and is idempotent).
        foreach (var issuerKey in await grains.GetGrain<IIssuerRegistryGrain>(IIssuerRegistryGrain.ClusterKey).ListAsync(kind))
        {
            if (!existing.Contains(issuerKey))
            {
                cancellationToken.ThrowIfCancellationRequested();
                await grains.GetGrain<IIssuerGrain>(issuerKey).DeleteAsync();
            }
        }
    }

    public Task CaSecretChangedAsync(string issuerKey, CancellationToken cancellationToken) =>
        grains.GetGrain<IIssuerGrain>(issuerKey).OnCaSecretChangedAsync();
}
