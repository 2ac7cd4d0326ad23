using Notary.Grains.Abstractions;
using Notary.Grains.Retry;

namespace Notary.Grains;

// What the store follows and who follows it: subscriptions to its certificates and its metadata
// Secret, snapshots of the certificates, and the reload of opted-in workloads after a change.
public abstract partial class StoreGrain<TSpec>
    where TSpec : class
{
    /// <summary>
    /// New certificates in the store (a renewal, a re-issue): workloads that use its Secret and
    /// opted in with <c>notary.dev/reload: "true"</c> get a rolling restart. A breach restarts
    /// every workload itself; the restarter coalesces the two.
    /// </summary>
    private async Task ReloadOptedInAsync()
    {
        try
        {
            using var step = PortCall.Start(time);
            await restarter.RestartAsync(Resource.Namespace, [Resource.Name], onlyOptedIn: true, $"{kind} {Resource} was rebuilt with new certificates", step.Token);
        }
        catch (Exception ex)
        {
            // The store is written; a failed reload is reported in the log and not retried (the
            // next rebuild reloads again).
            Log.ReloadFailed(logger, kind.ToString(), Resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>Subscribes to the desired certificates and unsubscribes from the others, in parallel.</summary>
    protected async Task SyncCertificatesAsync(IReadOnlySet<string> desired)
    {
        var added = desired.Where(k => !State.Certificates.Contains(k)).ToList();
        var removed = State.Certificates.Where(k => !desired.Contains(k)).ToList();
        if (added.Count == 0 && removed.Count == 0)
        {
            return;
        }

        await Task.WhenAll(
            added.Select(k => GrainFactory.GetGrain<ICertificateGrain>(k).SubscribeAsync(Self))
                .Concat(removed.Select(k => GrainFactory.GetGrain<ICertificateGrain>(k).UnsubscribeAsync(Self))));
        State.Certificates = new HashSet<string>(desired, StringComparer.Ordinal);
        await SaveAsync();
    }

    private async Task SyncMetadataAsync(string? desired)
    {
        if (State.MetadataSecret == desired)
        {
            return;
        }

        if (State.MetadataSecret is not null)
        {
            await GrainFactory.GetGrain<IMetadataSecretGrain>(State.MetadataSecret).UnsubscribeAsync(Self);
        }

        if (desired is not null)
        {
            await GrainFactory.GetGrain<IMetadataSecretGrain>(desired).SubscribeAsync(Self);
        }

        State.MetadataSecret = desired;
        await SaveAsync();
    }

    protected async Task<IReadOnlyDictionary<ResourceKey, CertificateSnapshot>> SnapshotsAsync(IEnumerable<ResourceKey> certificates)
    {
        var snapshots = await Task.WhenAll(certificates.Distinct().Select(k => GrainFactory.GetGrain<ICertificateGrain>(k.ToString()).GetSnapshotAsync()));
        return snapshots.ToDictionary(s => s.Resource);
    }
}
