using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>Persisted state of a metadata Secret: the stores that use it.</summary>
[GenerateSerializer, Alias("notary.MetadataSecretState")]
public sealed class MetadataSecretState
{
    [Id(0)] public HashSet<SubscriberRef> Subscribers { get; set; } = [];
}
