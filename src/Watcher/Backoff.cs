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
        var ceiling = Math.Min(max.Ticks, initial.Ticks * Math.Pow(2, Math.Clamp(failures, 0, 40)));
        var jitter = 0.5 + (RandomNumberGenerator.GetInt32(0, 1001) / 2000.0);
        return TimeSpan.FromTicks((long)(ceiling * jitter));
    }
}
