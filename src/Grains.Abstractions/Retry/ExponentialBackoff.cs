namespace Notary.Grains.Abstractions.Retry;

/// <summary>
/// The one backoff policy of Notary: capped exponential backoff, as a pure function. The delay
/// after n doublings is min(<see cref="First"/> × 2ⁿ, <see cref="Cap"/>). Callers that spread
/// many clients apart apply jitter to that ceiling with a random fraction they draw themselves,
/// so that the policy stays deterministic and table-testable. Every retry in Notary (grain
/// continuations and store retries, renewal attempts, the watcher's requeues and reconnects,
/// the AWS and webhook clients, ACM polling) computes its delay here, each with its own first
/// delay and cap.
/// </summary>
/// <param name="First">The delay before any doubling (n = 0): the first retry's.</param>
/// <param name="Cap">No delay is longer.</param>
/// <param name="MaxDoublings">Doublings beyond this count add nothing (the ceiling is reached long before; keeps the arithmetic finite).</param>
public sealed record ExponentialBackoff(TimeSpan First, TimeSpan Cap, int MaxDoublings = 30)
{
    /// <summary>min(First × 2ⁿ, Cap) for n = <paramref name="doublings"/>; a negative count counts as none.</summary>
    public TimeSpan Delay(int doublings)
    {
        var ticks = First.Ticks * Math.Pow(2, Math.Clamp(doublings, 0, Math.Max(MaxDoublings, 0)));
        return ticks >= Cap.Ticks ? Cap : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>The delay after <paramref name="failures"/> consecutive failures: <see cref="First"/> after the first, doubling after each further one.</summary>
    public TimeSpan AfterFailures(int failures) => Delay(failures - 1);

    /// <summary>
    /// "Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): a point between
    /// zero and the ceiling, <paramref name="fraction"/> (in [0, 1]) of the way.
    /// </summary>
    public TimeSpan FullJitter(int doublings, double fraction) =>
        TimeSpan.FromTicks((long)(Delay(doublings).Ticks * Math.Clamp(fraction, 0, 1)));

    /// <summary>
    /// "Equal jitter": the lower half of the ceiling always, the upper half
    /// <paramref name="fraction"/> (in [0, 1]) of the way; waits at least half the ceiling.
    /// </summary>
    public TimeSpan EqualJitter(int doublings, double fraction)
    {
        var half = Delay(doublings).Ticks / 2.0;
        return TimeSpan.FromTicks((long)(half + (half * Math.Clamp(fraction, 0, 1))));
    }
}
