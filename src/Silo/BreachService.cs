using Notary.Grains.Abstractions;

namespace Notary.Silo;

/// <summary>
/// What the breach API asks of the cluster: start a breach, read one, lift a quarantine. The
/// HTTP layer depends on this rather than on Orleans so that it can be tested with a fake.
/// </summary>
public interface IBreachService
{
    /// <summary>Starts the breach (or answers the one already reported with the same id); a dry run answers the impact and keeps nothing.</summary>
    Task<BreachReport> StartAsync(BreachRequest request);

    /// <summary>Null when no breach has this id.</summary>
    Task<BreachReport?> GetAsync(string id);

    /// <summary>Lifts a quarantine; null when no breach has this id.</summary>
    Task<BreachReport?> LiftAsync(string id, string requestedBy);
}

/// <summary>The breach service of a silo: one <see cref="IBreachGrain"/> per breach, keyed by <see cref="BreachIds.For"/>.</summary>
public sealed class GrainBreachService(IGrainFactory grains) : IBreachService
{
    public Task<BreachReport> StartAsync(BreachRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return grains.GetGrain<IBreachGrain>(BreachIds.For(request.Certificate, request.Mode, request.Reason)).StartAsync(request);
    }

    public Task<BreachReport?> GetAsync(string id) => grains.GetGrain<IBreachGrain>(id).GetAsync();

    public Task<BreachReport?> LiftAsync(string id, string requestedBy) => grains.GetGrain<IBreachGrain>(id).LiftAsync(requestedBy);
}
