using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

/// <summary>
/// A store ready to be built: the certificate revisions it uses, and the encoding, left to run
/// only when the store actually changes (encryption is the expensive part).
/// </summary>
public sealed record StoreBuild(IReadOnlyDictionary<string, long> BuiltFrom, Func<(StoreWrite Write, IReadOnlyList<string> Entries)> Encode)
{
    /// <summary>Certificates the store leaves out (quarantined): a change here rebuilds like a new revision.</summary>
    public IReadOnlySet<string> Excluded { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// How the contents are chosen besides the revisions (a truststore's trust mode): a store
    /// built with another key is rebuilt even when no revision changed. Null for a keystore.
    /// </summary>
    public string? Key { get; init; }

    /// <summary>
    /// Set when this is the part of the store that can be built while the store has a problem
    /// (a truststore stuck on a reference still drops a quarantined certificate): it is written,
    /// and the store stays Ready=False with this problem.
    /// </summary>
    public Problem? Problem { get; init; }

    /// <summary>Runs once the store is written, before the state is saved (the truststore's TrustsIssuers condition).</summary>
    public Action? OnStored { get; init; }

    /// <summary>Further certificates trusted during a roll or overlap ("namespace/name#serial"): a change here rebuilds like a new revision.</summary>
    public IReadOnlySet<string> AlsoTrusted { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Dropping previous certificates (<see cref="AlsoTrusted"/> shrinking, nothing else changed)
    /// may wait: another certificate of the store still rolls, whose switch drops its own soon
    /// after (a truststore's coalesced rebuild, see StoreGrain.Coalescing.cs).
    /// </summary>
    public bool DefersDrops { get; init; }

    /// <summary>Certificates in a make-before-break roll (or, for a keystore, waiting for keystores to serve the switch) and the revision this store holds: acknowledged to them once stored.</summary>
    public IReadOnlyDictionary<string, long> Rolling { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);
}
