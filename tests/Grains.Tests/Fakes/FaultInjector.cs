using System.Collections.Concurrent;

namespace Notary.Grains.Tests.Fakes;

/// <summary>Makes the next N calls of a grain method ("IMetadataSecretGrain.SubscribeAsync") throw, as a timed-out call would.</summary>
public sealed class FaultInjector : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<string, int> _failures = new(StringComparer.Ordinal);

    public void FailNext(string method, int times = 1) => _failures[method] = times;

    public void Clear() => _failures.Clear();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var name = $"{context.InterfaceMethod.DeclaringType?.Name}.{context.InterfaceMethod.Name}";
        if (_failures.TryGetValue(name, out var left) && left > 0 && _failures.TryUpdate(name, left - 1, left))
        {
            throw new TimeoutException($"injected failure of {name}");
        }

        await context.Invoke();
    }
}
