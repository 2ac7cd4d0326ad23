using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>
/// One metadata Secret ("namespace/secretName"): the stores that use it subscribe, and the
/// watcher reports every change of the Secret here, so exactly those stores rebuild (a fixed
/// Secret makes its stores Ready without a manual retry).
/// </summary>
public sealed class MetadataSecretGrain(
    [PersistentState("metadata", GrainStorage.Name)] IPersistentState<MetadataSecretState> state) : Grain, IMetadataSecretGrain
{
    public async Task SubscribeAsync(SubscriberRef subscriber)
    {
        if (state.State.Subscribers.Add(subscriber))
        {
            await SaveAsync();
        }
    }

    public async Task UnsubscribeAsync(SubscriberRef subscriber)
    {
        if (state.State.Subscribers.Remove(subscriber))
        {
            await SaveAsync();
        }
    }

    public Task ChangedAsync()
    {
        foreach (var subscriber in state.State.Subscribers)
        {
            _ = Subscribers.Get(GrainFactory, subscriber).OnMetadataChangedAsync();
        }

        return Task.CompletedTask;
    }

    private Task SaveAsync() => Persistence.SaveAsync(state, DeactivateOnIdle);
}
