namespace Notary.Grains.Abstractions;

/// <summary>What incident tooling asks for when a certificate is compromised: rotate it, or quarantine it until lifted.</summary>
public enum BreachMode
{
    /// <summary>Re-key and re-issue, rebuild every store that has it, restart the workloads.</summary>
    Rotate = 0,
    /// <summary>Take it out of every truststore (until lifted) and restart the workloads.</summary>
    Quarantine = 1,
}

/// <summary>
/// A Breach as the watcher forwards it (or the HTTP API asks for a dry run): the spec, who
/// reported it, the incarnation (<see cref="Uid"/>: a Breach deleted and created again under the
/// same name is another breach) and the status the API server holds (<see cref="Recorded"/>):
/// the record that survives the loss of grain state, so that a finished rotate never runs again.
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.BreachRequest")]
public sealed record BreachRequest(
    [property: Id(0)] ResourceKey Certificate,
    [property: Id(1)] BreachMode Mode,
    [property: Id(2)] string Reason,
    [property: Id(3)] bool DryRun,
    [property: Id(4)] string RequestedBy,
    [property: Id(5)] string? Uid = null,
    [property: Id(6)] BreachReport? Recorded = null);

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
    /// <summary>Created, not yet acted on (the HTTP API's answer before the watcher forwards it).</summary>
    public const string Pending = "Pending";
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
    /// <summary>The Breach object's uid: the incarnation this report belongs to.</summary>
    [Id(10)] public string? Uid { get; init; }

    /// <summary>Nothing more will change (a lift in progress has the phase Lifted but no finish time yet).</summary>
    public bool IsFinished => Phase == BreachPhase.DryRun || Finished is not null;
}

/// <summary>
/// One Breach object, keyed "namespace/name" (<see cref="BreachIds.KeyOf"/>); its uid tells a
/// re-created Breach of the same name apart. The watcher forwards every Breach, whoever created it.
/// </summary>
[Alias("notary.IBreachGrain")]
public interface IBreachGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts the breach (returns at once; the work goes on in the grain) or answers the one in
    /// progress for the same uid. A report the API server records as finished is adopted, not
    /// run again: a rotate stays done, a quarantine holds the certificate out again. A dry run
    /// computes the impact, changes nothing and keeps nothing.
    /// </summary>
    Task<BreachReport> StartAsync(BreachRequest request);

    /// <summary>Null when the grain holds no breach. Answers while the breach is in progress.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<BreachReport?> GetAsync();

    /// <summary>
    /// The Breach <paramref name="uid"/> is being deleted (its finalizer): a quarantine is lifted
    /// (the certificate returns to every truststore unless another quarantine holds it), and only
    /// then is the grain's state cleared. Answers once done; the watcher then removes the finalizer.
    /// A lift that fails throws (the state stays; the finalizer stays and the watcher retries).
    /// <paramref name="spec"/> is the Breach's spec: a grain that lost its state still releases its hold.
    /// </summary>
    [ResponseTimeout("00:05:00")]
    Task<BreachReport?> DeleteAsync(string uid, BreachRequest? spec = null);
}

/// <summary>
/// Breach ids of the HTTP API: <c>NAMESPACE.NAME</c> of the Breach object. A namespace is a DNS
/// label, so it has no dot: the id's first dot splits it, and the namespace is known, and the
/// caller authorised in it, before anything is looked up.
/// </summary>
public static class BreachIds
{
    public static string For(ResourceKey breach) => $"{breach.Namespace}.{breach.Name}";

    /// <summary>
    /// A name for a Breach the HTTP API creates: the certificate's name (cut to 40) and 8 random
    /// hex digits, so that an identical report is a new Breach, never the old one found again.
    /// </summary>
    public static string NewName(string certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var suffix = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
        var stem = certificate.Length > 40 ? certificate[..40].TrimEnd('-', '.') : certificate;
        return $"{stem}-{suffix}";
    }

    /// <summary>The grain key of a Breach object.</summary>
    public static string KeyOf(ResourceKey breach) => breach.ToString();

    /// <summary>The Breach an id names; false when it cannot be one (checked for Kubernetes' name rules by the caller).</summary>
    public static bool TryParse(string? id, out ResourceKey breach)
    {
        breach = default;
        var dot = id?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        if (dot <= 0 || dot == id!.Length - 1)
        {
            return false;
        }

        breach = new ResourceKey(id[..dot], id[(dot + 1)..]);
        return true;
    }
}
