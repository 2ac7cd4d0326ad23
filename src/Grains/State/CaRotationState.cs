using Notary.Grains.Abstractions;
using Notary.Grains.Policies;

namespace Notary.Grains;

/// <summary>
/// Persisted state of an issuer's CA rotation (<see cref="CaRotationGrain"/>); with the
/// "ca-rotation" reminder, a restarted or moved grain resumes where it was. Holds CA certificates
/// (public), never a key.
/// </summary>
[GenerateSerializer, Alias("notary.CaRotationState")]
public sealed class CaRotationState
{
    [Id(0)] public string? IssuerKey { get; set; }
    /// <summary>The CAs being retired (PEM, the CA first, its issuers after it): the one replaced, and those of rotations this one replaced.</summary>
    [Id(1)] public List<string> OldCaPems { get; set; } = [];
    /// <summary>The CA the certificates move to; null when no rotation is in progress.</summary>
    [Id(2)] public string? NewCaPem { get; set; }
    [Id(3)] public CaRotationPhase Phase { get; set; }
    /// <summary>The issuer's certificates ("namespace/name") the rotation moves.</summary>
    [Id(4)] public HashSet<string> Certificates { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Certificates asked to re-issue from the new CA.</summary>
    [Id(5)] public HashSet<string> Requested { get; set; } = new(StringComparer.Ordinal);
    [Id(6)] public DateTimeOffset Started { get; set; }
    [Id(7)] public DateTimeOffset PhaseStarted { get; set; }
    /// <summary>When every store first held the new CA (the propagation delay counts from it).</summary>
    [Id(8)] public DateTimeOffset? AllTrustedAt { get; set; }
    [Id(9)] public bool ReminderRegistered { get; set; }
    /// <summary>Certificates with something of the old CA left, as last seen (for the status).</summary>
    [Id(10)] public int Remaining { get; set; }
    /// <summary>Certificates told to trust the rotation's CAs (<see cref="CaRotationGrain"/> tells each once).</summary>
    [Id(11)] public HashSet<string> CasSet { get; set; } = new(StringComparer.Ordinal);
    /// <summary>The issuer was deleted: no re-issues, the CAs stay trusted until no certificate names the issuer (or it comes back).</summary>
    [Id(12)] public bool Paused { get; set; }
    /// <summary>Cancelled: the next step takes the CAs out of the certificates and ends the rotation.</summary>
    [Id(13)] public bool Cancelled { get; set; }
    /// <summary>
    /// Certificates whose stores did not trust the new CA by Rotation:MaxWait (the rotation went on
    /// without them), at most <see cref="IssuerRotationStatus.LeftBehindShown"/> names; for the status.
    /// </summary>
    [Id(14)] public List<string> LeftBehind { get; set; } = [];
    /// <summary>How many certificates were left behind in all.</summary>
    [Id(15)] public int LeftBehindCount { get; set; }

    public bool Active => NewCaPem is not null;
}
