namespace Notary.Grains.Abstractions.Ports;

/// <summary>
/// Port: publishes a breach's progress as the status of its Breach object (the record that
/// survives the loss of grain state). Only the incarnation with the given uid is written.
/// </summary>
public interface IBreachStatusWriter
{
    Task WriteBreachStatusAsync(ResourceKey breach, string uid, BreachReport report, CancellationToken cancellationToken);
}

/// <summary>A Breach object as the API server holds it: spec, uid and status.</summary>
[GenerateSerializer, Immutable, Alias("notary.BreachObject")]
public sealed record BreachObject(
    [property: Id(0)] ResourceKey Breach,
    [property: Id(1)] string Uid,
    [property: Id(2)] BreachReport Report,
    [property: Id(3)] bool Deleting = false);

/// <summary>
/// Port: the HTTP API's Breach objects in the API server. The API creates a Breach on the
/// caller's behalf (with Notary's own rights, after SubjectAccessReview said the caller may),
/// reads its status, deletes it; the watcher then acts on it like on any other Breach.
/// </summary>
public interface IBreachObjects
{
    /// <summary>Creates the Breach and writes status.requestedBy; answers what was created (phase Pending).</summary>
    Task<BreachObject> CreateAsync(ResourceKey breach, BreachRequest request, CancellationToken cancellationToken);

    /// <summary>Null when there is no such Breach.</summary>
    Task<BreachObject?> GetAsync(ResourceKey breach, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the Breach (its finalizer lifts a quarantine first) if it is still the incarnation
    /// <paramref name="uid"/> (a uid precondition; null: any); false when there is none, or another one.
    /// </summary>
    Task<bool> DeleteAsync(ResourceKey breach, string? uid, CancellationToken cancellationToken);
}
