using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>
/// A make-before-break roll in progress: the new certificate (<see cref="CertificateState.Material"/>)
/// is going into the dependent truststores while the keystore keeps serving
/// <see cref="CertificateState.Serving"/>. Persisted, with the "roll" reminder, so that a restarted
/// or moved grain resumes the roll where it was.
/// </summary>
[GenerateSerializer, Alias("notary.RollState")]
public sealed class RollState
{
    [Id(0)] public DateTimeOffset Started { get; set; }
    /// <summary>The latest the keystore switches (see <c>RollPolicy.Deadline</c>).</summary>
    [Id(1)] public DateTimeOffset Deadline { get; set; }
    [Id(2)] public bool DeadlineIsExpiry { get; set; }
    /// <summary>When the last dependent truststore acknowledged holding the new certificate.</summary>
    [Id(3)] public DateTimeOffset? AllWrittenAt { get; set; }
    /// <summary>The truststores (subscriber keys) that acknowledged holding the new certificate.</summary>
    [Id(4)] public HashSet<string> Acknowledged { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// A replaced certificate that dependents' truststores keep trusting (public parts only) until
/// <see cref="TrustedUntil"/>: its expiry, or the end of Rotation:Overlap.
/// </summary>
[GenerateSerializer, Alias("notary.TrustedPrevious")]
public sealed record TrustedPrevious(
    [property: Id(0)] string Arn,
    [property: Id(1)] string CertificatePem,
    [property: Id(2)] IReadOnlyList<string> ChainPem,
    [property: Id(3)] string SerialNumber,
    [property: Id(4)] DateTimeOffset NotAfter,
    [property: Id(5)] DateTimeOffset TrustedUntil)
{
    /// <summary>
    /// The keystores have not all confirmed serving a newer certificate yet: until they have,
    /// <see cref="TrustedUntil"/> is only the bound (the overlap counted from Rotation:MaxWait after
    /// the switch, or the expiry), and the overlap starts when the last keystore write is confirmed.
    /// False in state saved before this field (the overlap then counted from the switch).
    /// </summary>
    [Id(140)] public bool AwaitsKeystores { get; init; }

    public PublicMaterial ToPublic() => new(Arn, CertificatePem, ChainPem, SerialNumber, NotAfter);
}
