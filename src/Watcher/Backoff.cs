using System.Security.Cryptography;

namespace Notary.Watcher;

/// <summary>
/// Capped exponential backoff with jitter: the n-th delay is a random value between half and all
/// of min(initial × 2ⁿ, max), so that many watchers reconnecting at once spread out.
/// </summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan max)
{
    private int _failures;

    public void Reset() => _failures = 0;

    public TimeSpan Next() => Delay(_failures++, initial, max);

    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max)
    {
        // Equal jitter: between half and all of the ceiling.
        return new Grains.Abstractions.Retry.ExponentialBackoff(initial, max, MaxDoublings: 40).EqualJitter(failures, RandomNumberGenerator.GetInt32(0, 1001) / 1000.0);
    }
}
