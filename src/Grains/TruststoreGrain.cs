using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Notary.Grains.Protection;
using Notary.Pki;

namespace Notary.Grains;

/// <summary>
/// One Truststore: the leaf certificates of the service and of its upstream and downstream
/// services (Pinned, the default), or those and their CA certificates (Issuers). References
/// without a namespace are resolved through the tag index, watched there, and bound to the
/// Certificate they first resolve to (status.references), so a truststore named before its
/// certificates exist becomes Ready on its own once they are issued, and a same-named
/// Certificate created later elsewhere never takes a binding's place.
/// </summary>
public sealed class TruststoreGrain(
    [PersistentState("truststore", GrainStorage.Name)] IPersistentState<StoreState<TruststoreSpec>> state,
    IServiceMetadataSource metadataSource,
    ITrustSourceReader sourceReader,
    ISecretStore secretStore,
    IStatusWriter statusWriter,
    IEventRecorder events,
    INotaryMetrics metrics,
    IWorkloadRestarter restarter,
    StoreWriteGate gate,
    TimeProvider time,
    StateProtector protector,
    ILogger<TruststoreGrain> logger)
    : StoreGrain<TruststoreSpec>(state, metadataSource, secretStore, statusWriter, events, metrics, restarter, gate, time, protector, logger, ResourceKind.Truststore), ITruststoreGrain
{
    protected override string? Format(TruststoreSpec spec) => spec.Format;

    protected override bool CoalescesNotifications => true;

    protected override string? MetadataSecretName(TruststoreSpec spec) => spec.MetadataSecret;

    protected override bool SameSpec(TruststoreSpec a, TruststoreSpec b) =>
        a with { Upstream = [], Downstream = [], Sources = [] } == b with { Upstream = [], Downstream = [], Sources = [] }
        && a.Upstream.SequenceEqual(b.Upstream) && a.Downstream.SequenceEqual(b.Downstream) && a.Sources.SequenceEqual(b.Sources);

    protected override async Task<(StoreBuild? Build, Problem? Problem)> BuildAsync(TruststoreSpec spec, StoreFormat format, ServiceMetadata metadata)
    {
        var (mode, problem) = TrustResolution.ParseTrust(spec.Trust);
        if (problem is not null)
        {
            return (null, problem);
        }

        var sources = await ReadSourcesAsync(spec);
        var lookups = await WatchTagsAsync(TrustResolution.TagsToLookUp(spec));
        var resolution = TrustResolution.Resolve(Resource.Namespace, spec, lookups, State.Bindings);
        await KeepBindingsAsync(resolution);
        var references = resolution.Resolved;
        var keys = references.Select(r => r.Certificate.ToString()).ToHashSet(StringComparer.Ordinal);
        // Subscribe to whatever resolved, even when something did not, and stay subscribed to
        // what the stored store holds until it is replaced: a quarantine of one of those must
        // still reach a store that cannot be built (see LastContentsAsync).
        await SyncCertificatesAsync(keys.Union(State.BuiltFrom.Keys).ToHashSet(StringComparer.Ordinal));
        problem = resolution.Problem ?? sources.Problem;
        if (problem is not null)
        {
            return await LastContentsAsync(spec, format, metadata, mode, problem);
        }

        var snapshots = await SnapshotsAsync(references.Select(r => r.Certificate));
        problem = TrustResolution.Check(references, snapshots, State.BuiltFrom.Keys.ToHashSet(StringComparer.Ordinal));
        if (problem is not null)
        {
            return await LastContentsAsync(spec, format, metadata, mode, problem);
        }

        // Built as the spec says: the certificates only the stored store held are dropped.
        await SyncCertificatesAsync(keys);

        var builtFrom = snapshots.Values.ToDictionary(s => s.Resource.ToString(), s => s.Revision, StringComparer.Ordinal);
        // A quarantined certificate (breach) leaves every truststore but its service's own, which
        // trusting itself changes nothing for others; it returns when the quarantine is lifted.
        var ownKey = references[0].Certificate;
        var excluded = Quarantined(snapshots.Values, ownKey);
        var (own, upstream, downstream) = TrustResolution.Sources(references, snapshots);
        bool Kept(TrustSource source) => !excluded.Contains($"{source.Namespace}/{source.Name}");
        var fromSources = sources.Entries.ToDictionary(e => e.Alias, e => e.CertificatePem, StringComparer.Ordinal);
        return (Build(spec, format, metadata, mode, builtFrom, excluded, snapshots.Values, own, [.. upstream.Where(Kept), .. downstream.Where(Kept)], fromSources, null), null);
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

    /// <summary>
    /// The store cannot be built as its spec says (a reference does not resolve, a certificate
    /// was deleted, ...), so it keeps its last contents, except that a certificate quarantined
    /// (or released) since must leave (or return) all the same: the certificates the stored store
    /// was built from are built again with the current quarantines, and the store stays
    /// Ready=False with its problem. Certificates of those that no longer have an issued
    /// certificate (deleted) cannot be built again and are left out of that rebuild.
    /// </summary>
    private async Task<(StoreBuild? Build, Problem? Problem)> LastContentsAsync(TruststoreSpec spec, StoreFormat format, ServiceMetadata metadata, TrustMode mode, Problem problem)
    {
        if (State.Stored is null || State.BuiltFrom.Count == 0)
        {
            return (null, problem);
        }

        var ownKey = new ResourceKey(Resource.Namespace, spec.CertName);
        var snapshots = await SnapshotsAsync(State.BuiltFrom.Keys.Select(ResourceKey.Parse));
        var excluded = Quarantined(snapshots.Values, ownKey);
        // Rebuilt when a quarantine changed, and when every certificate it was built from can
        // still be built and one of them changed (a peer's renewal roll, a rotate, the end of an
        // overlap): a store stuck on one reference must not keep a rotated-away certificate, nor
        // miss a peer's new one until that peer's keystore switches without it. A certificate
        // that can no longer be built (deleted, or its spec changed and not re-issued yet) keeps
        // the store's last contents, the peer's currently served one included.
        var allBuildable = snapshots.Values.All(s => s.Exists && s.Material is not null);
        var peersChanged = allBuildable && (
            !snapshots.Values.All(s => State.BuiltFrom.TryGetValue(s.Resource.ToString(), out var built) && built == s.Revision)
            || !AlsoTrustedKeys(snapshots.Values.Where(s => !excluded.Contains(s.Resource.ToString()))).SetEquals(State.AlsoTrusted ?? []));
        if (excluded.SetEquals(State.Excluded) && !peersChanged)
        {
            return (null, problem);
        }

        var usable = snapshots.Values
            .Where(s => s.Exists && s.Material is not null)
            .OrderBy(s => s.Resource == ownKey ? 0 : 1).ThenBy(s => s.Resource.ToString(), StringComparer.Ordinal)
            .Select(TrustResolution.ToSource)
            .Where(s => !excluded.Contains($"{s.Namespace}/{s.Name}"))
            .ToList();
        if (usable.Count == 0)
        {
            return (null, problem);
        }

        var builtFrom = snapshots.Values.Where(s => s.Exists && s.Material is not null).ToDictionary(s => s.Resource.ToString(), s => s.Revision, StringComparer.Ordinal);
        var note = excluded.Count == 0
            ? " The last contents were rebuilt with the current certificates of the services it held."
            : $" The last contents were rebuilt without the quarantined {string.Join(", ", excluded.Order(StringComparer.Ordinal))}.";
        var stillNotReady = problem with { Message = problem.Message + note };
        return (Build(spec, format, metadata, mode, builtFrom, excluded, snapshots.Values.Where(s => s.Exists && s.Material is not null), usable[0], usable.Skip(1).ToList(), State.SourceEntries ?? new Dictionary<string, string>(StringComparer.Ordinal), stillNotReady), null);
    }

    /// <summary>The further certificates the snapshots have truststores trust during a roll, as "namespace/name#serial" (what <see cref="StoreState{TSpec}.AlsoTrusted"/> records).</summary>
    private static HashSet<string> AlsoTrustedKeys(IEnumerable<CertificateSnapshot> snapshots) =>
        snapshots.SelectMany(s => (s.AlsoTrusted ?? []).Select(m => $"{s.Resource}#{m.SerialNumber}")).ToHashSet(StringComparer.Ordinal);

    private StoreBuild Build(
        TruststoreSpec spec, StoreFormat format, ServiceMetadata metadata, TrustMode mode,
        Dictionary<string, long> builtFrom, HashSet<string> excluded, IEnumerable<CertificateSnapshot> built, TrustSource own, IReadOnlyList<TrustSource> peers,
        Dictionary<string, string> fromSources, Problem? problem)
    {
        // Make-before-break: the certificates truststores trust beside the current ones (compared
        // by serial, so that a keystore switch that changes nothing here rebuilds nothing), and
        // the rolls this store acknowledges once it holds their new certificate.
        var kept = built.Where(s => !excluded.Contains(s.Resource.ToString())).ToList();
        var alsoTrusted = AlsoTrustedKeys(kept);
        var rolling = kept.Where(s => s.Rolling).ToDictionary(s => s.Resource.ToString(), s => s.Revision, StringComparer.Ordinal);
        // A CA rotation's CAs: Issuers mode trusts them (TrustResolution.ToSource), so their
        // fingerprints are part of its build key; Pinned trusts leaves only and is not rebuilt.
        var issuerCas = mode == TrustMode.Issuers ? CaFingerprints.Distinct(kept.SelectMany(s => s.IssuerCas ?? [])) : [];
        IReadOnlyList<string> caSubjects = [];
        // A source never puts back a certificate a quarantine holds out (see Withheld).
        var withheld = TrustSourceResolution.Withheld(fromSources, QuarantinedPems(built, excluded));
        var trustedSources = fromSources.Where(pair => !withheld.ContainsKey(pair.Key)).ToDictionary(StringComparer.Ordinal);
        return new StoreBuild(builtFrom, () =>
        {
            var entries = TruststorePolicy.Select(own, peers, [], mode);
            caSubjects = TruststorePolicy.IssuerSubjects(entries);
            return StoreBuilder.Truststore(Resource, spec.Fqdn, format, metadata, TrustSourceResolution.Append(entries, trustedSources));
        })
        {
            Excluded = excluded,
            AlsoTrusted = alsoTrusted,
            Rolling = rolling,
            DefersDrops = rolling.Count > 0,
            Key = TrustSourceResolution.BuildKey(issuerCas.Count == 0 ? mode.ToString() : $"{mode}+cas:{string.Join(",", issuerCas)}", fromSources),
            Problem = problem,
            OnStored = () =>
            {
                SetTrustsIssuers(mode, caSubjects);
                SetWithheld(withheld);
                State.SourceEntries = fromSources.Count == 0 ? null : new Dictionary<string, string>(fromSources, StringComparer.Ordinal);
                State.IssuerCas = issuerCas.Count == 0 ? null : [.. issuerCas];
            },
        };
    }

    /// <summary>
    /// Reads every trust source of the spec (a ConfigMap or Secret in this Truststore's own
    /// namespace, the machine's root bundle; inline ones need no read) and resolves them.
    /// </summary>
    private async Task<(IReadOnlyList<SourceEntry> Entries, Problem? Problem)> ReadSourcesAsync(TruststoreSpec spec)
    {
        if (spec.Sources.Count == 0)
        {
            return ([], null);
        }

        var read = new List<(TrustSourceSpec, TrustSourceContent)>(spec.Sources.Count);
        foreach (var source in spec.Sources)
        {
            var content = source.Kind switch
            {
                TrustSourceKinds.Inline => new TrustSourceContent(TrustSourceReadOutcome.Found, source.Inline ?? string.Empty),
                TrustSourceKinds.ConfigMap or TrustSourceKinds.Secret or TrustSourceKinds.DefaultCAs => await sourceReader.ReadAsync(Resource.Namespace, source, CancellationToken.None),
                _ => new TrustSourceContent(TrustSourceReadOutcome.Found, null),
            };
            read.Add((source, content));
        }

        return TrustSourceResolution.Resolve(Resource.Namespace, read);
    }

    /// <summary>Issuers mode says in its status what it trusts wholesale; Pinned has no such condition.</summary>
    private void SetTrustsIssuers(TrustMode mode, IReadOnlyList<string> caSubjects)
    {
        if (mode == TrustMode.Issuers)
        {
            ConditionList.Set(State.Conditions, Conditions.TrustsIssuers, Conditions.True, Reasons.IssuersMode,
                TrustResolution.TrustsIssuersMessage(caSubjects), Now, State.Origin?.Generation ?? 0);
        }
        else
        {
            ConditionList.Remove(State.Conditions, Conditions.TrustsIssuers);
        }
    }

    /// <summary>The current and still-trusted certificates of the quarantined peers, by certificate.</summary>
    private static Dictionary<string, IReadOnlyList<string>> QuarantinedPems(IEnumerable<CertificateSnapshot> snapshots, HashSet<string> excluded) =>
        snapshots.Where(s => excluded.Contains(s.Resource.ToString()) && s.Material is not null)
            .ToDictionary(
                s => s.Resource.ToString(),
                s => (IReadOnlyList<string>)[s.Material!.CertificatePem, .. (s.AlsoTrusted ?? []).Select(m => m.CertificatePem)],
                StringComparer.Ordinal);

    /// <summary>Says which source certificates a quarantine withholds; no condition when none is.</summary>
    private void SetWithheld(IReadOnlyDictionary<string, string> withheld)
    {
        if (withheld.Count == 0)
        {
            ConditionList.Remove(State.Conditions, Conditions.SourceCertificatesWithheld);
            return;
        }

        var items = withheld.OrderBy(w => w.Key, StringComparer.Ordinal).Select(w => $"{w.Key} (the certificate of {w.Value})");
        ConditionList.Set(State.Conditions, Conditions.SourceCertificatesWithheld, Conditions.True, Reasons.QuarantinedCertificate,
            $"Left out of this truststore while a Breach quarantines them: {string.Join(", ", items)}. They return when the quarantine is lifted.",
            Now, State.Origin?.Generation ?? 0);
    }

    private static HashSet<string> Quarantined(IEnumerable<CertificateSnapshot> snapshots, ResourceKey ownKey) =>
        snapshots.Where(s => s.Quarantined && s.Resource != ownKey).Select(s => s.Resource.ToString()).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Records the bindings the resolution keeps, and reports once, by a Warning Event, each
    /// same-named Certificate a binding ignores.
    /// </summary>
    private async Task KeepBindingsAsync(Resolution resolution)
    {
        var shadows = resolution.Shadowed.ToDictionary(s => s.Key, StringComparer.Ordinal);
        var fresh = shadows.Values.Where(s => !State.ShadowsReported.Contains(s.Key)).ToList();
        if (State.Bindings.SequenceEqual(resolution.Bindings) && fresh.Count == 0 && State.ShadowsReported.SetEquals(shadows.Keys))
        {
            return;
        }

        State.Bindings = [.. resolution.Bindings];
        State.ShadowsReported = new HashSet<string>(shadows.Keys, StringComparer.Ordinal);
        await SaveAsync();
        foreach (var shadow in fresh)
        {
            await WarnAsync(Reasons.ReferenceBound, shadow.Message);
        }
    }

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
