using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>
/// Persisted state of one Issuer or ClusterIssuer. Never a CA private key: the CA is read again
/// (Secret, built-in root, ACM check) by each activation and kept in memory only.
/// </summary>
[GenerateSerializer, Alias("notary.IssuerState")]
public sealed class IssuerState
{
    /// <summary>The spec last applied; null before the first apply and after a delete.</summary>
    [Id(0)] public IssuerSpec? Spec { get; set; }

    [Id(1)] public ResourceVersionInfo? Origin { get; set; }

    /// <summary>The Ready condition (as written to the status).</summary>
    [Id(2)] public List<StatusCondition> Conditions { get; set; } = [];

    /// <summary>The public certificate (PEM, its issuers after it) of the CA that signs now.</summary>
    [Id(3)] public string? CaPem { get; set; }

    /// <summary>SHA-256 fingerprint (hex, upper case) of <see cref="CaPem"/>'s first certificate.</summary>
    [Id(4)] public string? CaFingerprint { get; set; }

    [Id(5)] public DateTimeOffset? CaNotAfter { get; set; }

    /// <summary>The replaced CA's public certificate while a CA rotation is in progress; null otherwise.</summary>
    [Id(6)] public string? PreviousCaPem { get; set; }

    /// <summary>The certificates this issuer issued ("namespace/name") and the fingerprint of the CA that signed each (the rotation's list).</summary>
    [Id(7)] public Dictionary<string, string> Issued { get; set; } = [];

    /// <summary>Certificates ("namespace/name") waiting for this issuer to become Ready.</summary>
    [Id(8)] public HashSet<string> Waiting { get; set; } = [];

    /// <summary>Whether the retry reminder (a transient failure to load the CA) is registered.</summary>
    [Id(9)] public bool RetryRegistered { get; set; }

    /// <summary>
    /// The built-in root (builtin spec) during a rotation: the fingerprint of the root that signs
    /// while the new one is held back (its key is still at hand, unlike a <c>ca</c> issuer's);
    /// null: new issuances wait, as for any issuer.
    /// </summary>
    [Id(100)] public string? HoldSignerFingerprint { get; set; }

    /// <summary>Whether the built-in root's check reminder is registered (builtin spec only).</summary>
    [Id(101)] public bool RootCheckRegistered { get; set; }
}
