using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains;

/// <summary>
/// A store ready to be built: the certificate revisions it uses, and the encoding, left to run
/// only when the store actually changes (encryption is the expensive part).
/// </summary>
public sealed record StoreBuild(IReadOnlyDictionary<string, long> BuiltFrom, Func<(StoreWrite Write, IReadOnlyList<string> Entries)> Encode)
{
    /// <summary>Certificates the store leaves out (quarantined): a change here rebuilds like a new revision.</summary>
    public IReadOnlySet<string> Excluded { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Further certificates trusted during a roll or overlap ("namespace/name#serial"): a change here rebuilds like a new revision.</summary>
    public IReadOnlySet<string> AlsoTrusted { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Certificates in a make-before-break roll and the revision this store holds: acknowledged to them once stored.</summary>
    public IReadOnlyDictionary<string, long> Rolling { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);
}
