using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>
/// The keys of the issuer grains that hold a spec (see <see cref="IIssuerRegistryGrain"/>): what
/// the watcher compares with its first list of issuers, so that one deleted while no watcher ran
/// is deleted in its grain too. Saves only when the set changes.
/// </summary>
public sealed class IssuerRegistryGrain(
    [PersistentState("issuerRegistry", GrainStorage.Name)] IPersistentState<IssuerRegistryState> state) : Grain, IIssuerRegistryGrain
{
    public async Task RegisterAsync(string issuerKey)
    {
        if (state.State.Keys.Add(issuerKey))
        {
            await Persistence.SaveAsync(state, DeactivateOnIdle);
        }
    }

    public async Task UnregisterAsync(string issuerKey)
    {
        if (state.State.Keys.Remove(issuerKey))
        {
            await Persistence.SaveAsync(state, DeactivateOnIdle);
        }
    }

    public Task<IReadOnlyList<string>> ListAsync(string kind) =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Keys.Where(k => k.StartsWith(kind + "/", StringComparison.Ordinal)).Order(StringComparer.Ordinal)]);
}
