using System.Security.Cryptography;
using System.Text;

namespace Notary.Grains.Abstractions;

/// <summary>What incident tooling asks for when a certificate is compromised: rotate it, or quarantine it until lifted.</summary>
public enum BreachMode
{
    /// <summary>Re-key and re-issue, rebuild every store that has it, restart the workloads.</summary>
    Rotate = 0,
    /// <summary>Take it out of every truststore (until lifted) and restart the workloads.</summary>
    Quarantine = 1,
}

/// <summary>A breach report as the HTTP API received it, with who reported it.</summary>
[GenerateSerializer, Immutable, Alias("notary.BreachRequest")]
public sealed record BreachRequest(
    [property: Id(0)] ResourceKey Certificate,
    [property: Id(1)] BreachMode Mode,
    [property: Id(2)] string Reason,
    [property: Id(3)] bool DryRun,
    [property: Id(4)] string RequestedBy);

/// <summary>Progress of one thing a breach changes.</summary>
public static class BreachItemStatus
{
    public const string Pending = "Pending";
    public const string InProgress = "InProgress";
    public const string Completed = "Completed";
    public const string Failed = "Failed";
}

/// <summary>Where a whole breach stands.</summary>
public static class BreachPhase
{
    /// <summary>A dry run: the impact only, nothing changed and nothing kept.</summary>
    public const string DryRun = "DryRun";
    public const string InProgress = "InProgress";
    public const string Completed = "Completed";
    /// <summary>Finished, with at least one item Failed.</summary>
    public const string Failed = "Failed";
    /// <summary>A quarantine that was lifted.</summary>
    public const string Lifted = "Lifted";
}

/// <summary>
/// One item of a breach: the Certificate (Kind Certificate), a Keystore or Truststore, or a
/// workload (Deployment, StatefulSet, DaemonSet) to restart.
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.BreachItem")]
public sealed record BreachItem(
    [property: Id(0)] string Kind,
    [property: Id(1)] string Namespace,
    [property: Id(2)] string Name,
    [property: Id(3)] string Status,
    [property: Id(4)] string? Reason = null);

/// <summary>A breach and its progress, as GET /v1/breaches/{id} shows it.</summary>
[GenerateSerializer, Immutable, Alias("notary.BreachReport")]
public sealed record BreachReport
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required ResourceKey Certificate { get; init; }
    [Id(2)] public required BreachMode Mode { get; init; }
    [Id(3)] public required string Reason { get; init; }
    [Id(4)] public required string Phase { get; init; }
    [Id(5)] public required DateTimeOffset Created { get; init; }
    [Id(6)] public IReadOnlyList<BreachItem> Items { get; init; } = [];
    [Id(7)] public string? Message { get; init; }
    [Id(8)] public string RequestedBy { get; init; } = string.Empty;
    [Id(9)] public DateTimeOffset? Finished { get; init; }

    /// <summary>Nothing more will change (a lift in progress has the phase Lifted but no finish time yet).</summary>
    public bool IsFinished => Phase == BreachPhase.DryRun || Finished is not null;
}

/// <summary>
/// One breach, keyed by its id (<see cref="BreachIds.For"/>): the same report twice is the same
/// breach, so it never rotates twice.
/// </summary>
[Alias("notary.IBreachGrain")]
public interface IBreachGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts the breach (returns at once; the work goes on in the grain), or answers the
    /// existing report when this breach was already reported. A dry run computes the impact,
    /// changes nothing and keeps nothing.
    /// </summary>
    Task<BreachReport> StartAsync(BreachRequest request);

    /// <summary>Null when no such breach was reported. Answers while the breach is in progress.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<BreachReport?> GetAsync();

    /// <summary>Lifts a quarantine: the certificate returns to every truststore. Null when no such breach.</summary>
    Task<BreachReport?> LiftAsync(string requestedBy);
}

/// <summary>Breach ids: deterministic, so a repeated report finds the first one.</summary>
public static class BreachIds
{
    public static string For(ResourceKey certificate, BreachMode mode, string reason)
    {
        var seed = $"{certificate}\n{mode}\n{reason.Trim()}";
        return "b-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(seed)))[..20];
    }

    public static bool IsValid(string id) =>
        id.Length == 22 && id.StartsWith("b-", StringComparison.Ordinal) && id[2..].All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
