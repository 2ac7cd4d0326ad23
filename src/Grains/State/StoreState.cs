using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains;

/// <summary>Persisted state of a Keystore or Truststore.</summary>
[GenerateSerializer, Alias("notary.StoreState`1")]
public sealed class StoreState<TSpec>
    where TSpec : class
{
    [Id(0)] public TSpec? Spec { get; set; }
    [Id(1)] public ResourceVersionInfo? Origin { get; set; }
    /// <summary>Certificate key to the revision the stored store was built from.</summary>
    [Id(2)] public Dictionary<string, long> BuiltFrom { get; set; } = new(StringComparer.Ordinal);
    [Id(3)] public StoredLocation? Stored { get; set; }
    [Id(4)] public List<string> Entries { get; set; } = [];
    [Id(5)] public List<StatusCondition> Conditions { get; set; } = [];
    /// <summary>Certificates this store is subscribed to.</summary>
    [Id(6)] public HashSet<string> Certificates { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Tags this store watches in the tag index.</summary>
    [Id(7)] public HashSet<string> Tags { get; set; } = new(StringComparer.Ordinal);
    /// <summary>The metadata Secret ("namespace/name") this store is subscribed to.</summary>
    [Id(8)] public string? MetadataSecret { get; set; }
    /// <summary>The generation the stored store was built for.</summary>
    [Id(9)] public long BuiltGeneration { get; set; }
    /// <summary>
    /// SHA-256 over a per-store random salt and the metadata the stored store was built with: a
    /// metadata notification that changes nothing (a resync) rebuilds nothing.
    /// </summary>
    [Id(10)] public string? MetadataFingerprint { get; set; }
    /// <summary>The fingerprint's salt in the clear: only in state saved before it was encrypted (<see cref="SealedMetadataSalt"/>); empty after.</summary>
    [Id(11)] public byte[] MetadataSalt { get; set; } = [];
    /// <summary>Certificates left out of the stored store because they are quarantined.</summary>
    [Id(12)] public HashSet<string> Excluded { get; set; } = new(StringComparer.Ordinal);
    /// <summary>
    /// A write failed and none succeeded since: the next attempt writes even an unchanged store.
    /// Persisted, because the activation that saw the failure may not be the one that retries.
    /// </summary>
    [Id(13)] public bool MustWrite { get; set; }
    /// <summary>The retry reminder is registered (see <c>StoreGrain.RetryReminder</c>): only then is it unregistered.</summary>
    [Id(14)] public bool RetryRegistered { get; set; }
    /// <summary>
    /// <see cref="StoreBuild.Key"/> of the stored store (a truststore's trust mode). Null in a
    /// truststore stored before trust modes existed: it is rebuilt (Pinned, without CA entries)
    /// at its next reconcile.
    /// </summary>
    [Id(15)] public string? BuiltKey { get; set; }
    /// <summary>Truststore references without a namespace and the Certificate each is bound to.</summary>
    [Id(16)] public List<BoundReference> Bindings { get; set; } = [];
    /// <summary>Same-named Certificates a binding ignores that were already reported by a Warning Event (<see cref="Policies.ShadowedReference.Key"/>).</summary>
    [Id(17)] public HashSet<string> ShadowsReported { get; set; } = new(StringComparer.Ordinal);
    /// <summary>
    /// The further certificates the stored truststore trusts beside the current ones during a
    /// make-before-break roll or overlap ("namespace/name#serial"): a change here rebuilds like a
    /// new revision. Null when none (keystores, and truststores outside a roll).
    /// </summary>
    [Id(20)] public HashSet<string>? AlsoTrusted { get; set; }
    /// <summary>
    /// The fingerprint's salt, encrypted (it keys an HMAC over the store passwords: in the clear
    /// beside the fingerprint it would let a reader of Redis test guesses of the passwords).
    /// </summary>
    [Id(21)] public Protection.ProtectedBytes? SealedMetadataSalt { get; set; }
    /// <summary>
    /// The certificates the stored truststore took from its trust sources (spec.sources), alias
    /// to PEM: what it keeps while a source is invalid (SourceInvalid), also when a quarantine
    /// rebuilds its last contents. Null when none (keystores, truststores without sources).
    /// </summary>
    [Id(22)] public Dictionary<string, string>? SourceEntries { get; set; }
    /// <summary>
    /// Fingerprints of the CA rotation's CAs the stored store trusts (a keystore's <c>ca.crt</c>,
    /// an Issuers-mode truststore): what <see cref="StoreStatus.IssuerCas"/> shows the rotation. Null when none.
    /// </summary>
    [Id(60)] public List<string>? IssuerCas { get; set; }
}
