using System.Collections.Concurrent;
using Orleans.Storage;

namespace Notary.Grains.Tests.Fakes;

/// <summary>Grain storage that counts the state writes of each grain, passing everything on to the real storage.</summary>
public sealed class CountingGrainStorage : IGrainStorage
{
    private readonly ConcurrentDictionary<GrainId, int> _writes = new();

    public IGrainStorage Inner { get; set; } = null!;

    public int Writes(GrainId grain) => _writes.GetValueOrDefault(grain);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _writes.AddOrUpdate(grainId, 1, (_, n) => n + 1);
        return Inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Inner.ClearStateAsync(stateName, grainId, grainState);
}
