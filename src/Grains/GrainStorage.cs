using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Orleans.Serialization;
using Orleans.Storage;

namespace Notary.Grains;

/// <summary>Names of the storage providers the grains use; the silo configures them.</summary>
public static class GrainStorage
{
    /// <summary>Grain state: Redis in production, memory in dev mode and tests.</summary>
    public const string Name = "notary";

    /// <summary>
    /// Stores grain state with Orleans' own serializer instead of the default Newtonsoft JSON:
    /// the state types are [GenerateSerializer] records whose [Id]s make them version-tolerant,
    /// and JSON cannot round-trip them (init-only records, interface-typed collections).
    /// </summary>
    public static OptionsBuilder<T> UseNotarySerializer<T>(this OptionsBuilder<T> options)
        where T : class, IStorageProviderSerializerOptions =>
        options.Configure<Serializer>((o, serializer) => o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));
}

/// <summary>Persistence shared by the grains.</summary>
internal static class Persistence
{
    /// <summary>
    /// Persists the state. When the write fails, <paramref name="deactivate"/> drops the
    /// activation so the next call starts from what storage holds, not from in-memory changes
    /// that were never saved (a retried call would otherwise see them and skip its write).
    /// </summary>
    public static async Task SaveAsync<T>(IPersistentState<T> state, Action deactivate)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            deactivate();
            throw;
        }
    }
}

/// <summary>Turns a persisted <see cref="SubscriberRef"/> back into a grain reference.</summary>
internal static class Subscribers
{
    public static ICertificateSubscriber Get(IGrainFactory factory, SubscriberRef subscriber) => subscriber.Kind switch
    {
        ResourceKind.Keystore => factory.GetGrain<IKeystoreGrain>(subscriber.Key),
        ResourceKind.Truststore => factory.GetGrain<ITruststoreGrain>(subscriber.Key),
        _ => throw new ArgumentOutOfRangeException(nameof(subscriber), subscriber.Kind, "Only stores subscribe to certificates."),
    };
}
