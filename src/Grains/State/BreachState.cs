using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>Persisted state of a breach: the request and the progress of every item.</summary>
[GenerateSerializer, Alias("notary.BreachState")]
public sealed class BreachState
{
    [Id(0)] public BreachReport? Report { get; set; }
}
