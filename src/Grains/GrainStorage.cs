using Microsoft.Extensions.Options;
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
