using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Silo;

/// <summary>
/// What the breach API asks of the cluster: the impact of a report (dry run), a Breach created
/// on the caller's behalf, a Breach's progress, a Breach deleted. The HTTP layer depends on this
/// rather than on Orleans and the API server so that it can be tested with a fake.
/// </summary>
public interface IBreachService
{
    /// <summary>The impact of the report; nothing is created or changed.</summary>
    Task<BreachReport> ImpactAsync(BreachRequest request, CancellationToken cancellationToken);

    /// <summary>Creates a new Breach object (always a new one: an identical report is a new breach); answers it, phase Pending.</summary>
    Task<BreachReport> CreateAsync(BreachRequest request, CancellationToken cancellationToken);

    /// <summary>The Breach's status; null when there is no such Breach.</summary>
    Task<BreachReport?> GetAsync(ResourceKey breach, CancellationToken cancellationToken);

    /// <summary>Deletes the Breach (its finalizer lifts a quarantine); answers it as it was, null when there is none.</summary>
    Task<BreachReport?> DeleteAsync(ResourceKey breach, CancellationToken cancellationToken);
}

/// <summary>
/// The breach service of a silo: Breach objects in the API server (<see cref="IBreachObjects"/>),
/// acted on by the watcher like any Breach; a dry run asks a breach grain for the impact.
/// </summary>
public sealed class GrainBreachService(IGrainFactory grains, IBreachObjects objects) : IBreachService
{
    /// <summary>The key of the grain that answers dry runs of a namespace: a Breach name cannot start with a dot, so no Breach has it.</summary>
    public static string DryRunKey(string @namespace) => $"{@namespace}/.dry-run";

    public Task<BreachReport> ImpactAsync(BreachRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return grains.GetGrain<IBreachGrain>(DryRunKey(request.Certificate.Namespace)).StartAsync(request with { DryRun = true, Uid = null, Recorded = null });
    }

    public async Task<BreachReport> CreateAsync(BreachRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // The answer shows the impact (what the breach will change); the watcher then acts on the Breach.
        var impact = await ImpactAsync(request, cancellationToken);
        var breach = new ResourceKey(request.Certificate.Namespace, BreachIds.NewName(request.Certificate.Name));
        var created = await objects.CreateAsync(breach, request, cancellationToken);
        return created.Report with { Items = impact.Items, Message = impact.Phase == BreachPhase.Failed ? impact.Message : null };
    }

    public async Task<BreachReport?> GetAsync(ResourceKey breach, CancellationToken cancellationToken) =>
        (await objects.GetAsync(breach, cancellationToken))?.Report;

    public async Task<BreachReport?> DeleteAsync(ResourceKey breach, CancellationToken cancellationToken)
    {
        var found = await objects.GetAsync(breach, cancellationToken);
        if (found is null || !await objects.DeleteAsync(breach, found.Uid, cancellationToken))
        {
            return null;
        }

        return found.Report;
    }
}
