using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains;

/// <summary>
/// An issuance in progress: the issuer's ticket, and what it was started for. Persisted before
/// the issuer is asked to continue, so a restarted or moved grain continues the same issuance.
/// </summary>
[GenerateSerializer, Alias("notary.PendingIssuance")]
public sealed record PendingIssuance
{
    [Id(0)] public required string Ticket { get; init; }
    [Id(1)] public required IssuePurpose Purpose { get; init; }
    /// <summary>The spec the issuance was started for; a changed spec abandons it.</summary>
    [Id(2)] public required CertificateSpec For { get; init; }
    [Id(3)] public required ResourceVersionInfo Origin { get; init; }
    [Id(4)] public string Reason { get; init; } = Reasons.Issuing;
    [Id(5)] public string Message { get; init; } = string.Empty;
    [Id(6)] public IReadOnlyList<ValidationRecord> ValidationRecords { get; init; } = [];
    [Id(7)] public string EventReason { get; init; } = "Issued";
    [Id(8)] public string Why { get; init; } = string.Empty;
    /// <summary>How many times the ticket has been continued (the issuer backs off by it).</summary>
    [Id(9)] public int Steps { get; init; }
}
