using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Notary.Pki;

namespace Notary.Grains;

/// <summary>
/// One Truststore: the service's own certificate, its upstream and downstream certificates and
/// their CA certificates as trusted entries. References without a namespace are resolved through
/// the tag index and watched there, so a truststore named before its certificates exist becomes
/// Ready on its own once they are issued.
/// </summary>
public sealed class TruststoreGrain(
    [PersistentState("truststore", GrainStorage.Name)] IPersistentState<StoreState<TruststoreSpec>> state,
    IServiceMetadataSource metadataSource,
    ISecretStore secretStore,
    IStatusWriter statusWriter,
    IEventRecorder events,
    INotaryMetrics metrics,
    IWorkloadRestarter restarter,
    StoreWriteGate gate,
    TimeProvider time,
    ILogger<TruststoreGrain> logger)
    : StoreGrain<TruststoreSpec>(state, metadataSource, secretStore, statusWriter, events, metrics, restarter, gate, time, logger, ResourceKind.Truststore), ITruststoreGrain
{
    protected override string? Format(TruststoreSpec spec) => spec.Format;

    protected override string? MetadataSecretName(TruststoreSpec spec) => spec.MetadataSecret;

    protected override bool SameSpec(TruststoreSpec a, TruststoreSpec b) =>
        a with { Upstream = [], Downstream = [] } == b with { Upstream = [], Downstream = [] }
        && a.Upstream.SequenceEqual(b.Upstream) && a.Downstream.SequenceEqual(b.Downstream);

    protected override async Task<(StoreBuild? Build, Problem? Problem)> BuildAsync(TruststoreSpec spec, StoreFormat format, ServiceMetadata metadata)
    {
        var lookups = await WatchTagsAsync(TrustResolution.TagsToLookUp(spec));
        var (references, problem) = TrustResolution.Resolve(Resource.Namespace, spec, lookups);
        // Subscribe to whatever resolved, even when something did not: the store hears of all of them.
        await SyncCertificatesAsync(references.Select(r => r.Certificate.ToString()).ToHashSet(StringComparer.Ordinal));
        if (problem is not null)
        {
            return (null, problem);
        }

        var snapshots = await SnapshotsAsync(references.Select(r => r.Certificate));
        problem = TrustResolution.Check(references, snapshots, State.BuiltFrom.Keys.ToHashSet(StringComparer.Ordinal));
        if (problem is not null)
        {
            return (null, problem);
        }

        var builtFrom = snapshots.Values.ToDictionary(s => s.Resource.ToString(), s => s.Revision, StringComparer.Ordinal);
        // A quarantined certificate (breach) leaves every truststore but its service's own, which
        // trusting itself changes nothing for others; it returns when the quarantine is lifted.
        var ownKey = references[0].Certificate;
        var excluded = snapshots.Values.Where(s => s.Quarantined && s.Resource != ownKey).Select(s => s.Resource.ToString()).ToHashSet(StringComparer.Ordinal);
        // Make-before-break: the certificates truststores trust beside the current ones (compared
        // by serial, so that a keystore switch that changes nothing here rebuilds nothing), and
        // the rolls this store acknowledges once it holds their new certificate.
        var alsoTrusted = snapshots.Values.Where(s => !excluded.Contains(s.Resource.ToString()))
            .SelectMany(s => (s.AlsoTrusted ?? []).Select(m => $"{s.Resource}#{m.SerialNumber}")).ToHashSet(StringComparer.Ordinal);
        var rolling = snapshots.Values.Where(s => s.Rolling).ToDictionary(s => s.Resource.ToString(), s => s.Revision, StringComparer.Ordinal);
        return (new StoreBuild(builtFrom, () =>
        {
            var (own, upstream, downstream) = TrustResolution.Sources(references, snapshots);
            bool Kept(TrustSource source) => !excluded.Contains($"{source.Namespace}/{source.Name}");
            return StoreBuilder.Truststore(Resource, spec.Fqdn, format, metadata, TruststorePolicy.Select(own, [.. upstream.Where(Kept)], [.. downstream.Where(Kept)]));
        }) { Excluded = excluded, AlsoTrusted = alsoTrusted, Rolling = rolling }, null);
    }

    protected override Task OnHoldsAsync(IReadOnlyDictionary<string, long> rolling)
    {
        foreach (var (certificate, revision) in rolling)
        {
            // One-way: the certificate grain never waits on a truststore, nor this one on it.
            _ = GrainFactory.GetGrain<ICertificateGrain>(certificate).AcknowledgeTrustAsync(Self, revision);
        }

        return Task.CompletedTask;
    }

    protected override Task ReleaseAsync() => WatchTagsAsync(new HashSet<string>());

    /// <summary>Watches the desired tags (resolving them), unwatches the others.</summary>
    private async Task<IReadOnlyDictionary<string, IReadOnlyList<TagRegistration>>> WatchTagsAsync(IReadOnlySet<string> desired)
    {
        var removed = State.Tags.Where(t => !desired.Contains(t)).ToList();
        var resolving = desired.Select(async tag => (tag, registrations: await GrainFactory.GetGrain<ICertificateTagGrain>(tag).ResolveAndWatchAsync(Self))).ToList();
        await Task.WhenAll(removed.Select(t => GrainFactory.GetGrain<ICertificateTagGrain>(t).UnwatchAsync(Self)));
        var results = await Task.WhenAll(resolving);
        if (removed.Count > 0 || desired.Any(t => !State.Tags.Contains(t)))
        {
            State.Tags = new HashSet<string>(desired, StringComparer.Ordinal);
            await SaveAsync();
        }

        return results.ToDictionary(r => r.tag, r => r.registrations, StringComparer.Ordinal);
    }
}
