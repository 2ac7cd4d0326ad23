namespace Notary.Grains.Policies;

/// <summary>Why a roll's keystore switch happened.</summary>
public enum SwitchCause
{
    /// <summary>Every dependent truststore holds the new certificate and the propagation delay passed.</summary>
    AllWritten,
    /// <summary><c>Rotation:MaxWait</c> ran out before every dependent truststore held it.</summary>
    MaxWait,
    /// <summary>The old certificate's expiry (less the propagation delay) came first.</summary>
    Expiry,
}

/// <summary>What a roll does now.</summary>
public abstract record RollStep
{
    private RollStep()
    {
    }

    /// <summary>Switch the keystore now; <see cref="LeftBehind"/> names the truststores that do not hold the new certificate.</summary>
    public sealed record Switch(SwitchCause Cause, IReadOnlyList<string> LeftBehind) : RollStep;

    /// <summary>Wait until <see cref="Until"/> (or an acknowledgement), showing <see cref="Phase"/> (a condition reason).</summary>
    public sealed record Wait(DateTimeOffset Until, string Phase, IReadOnlyList<string> Pending) : RollStep;
}

/// <summary>
/// A roll as the policy sees it: the time, its bounds (<see cref="Deadline"/>, which is the old
/// certificate's expiry bound when <see cref="DeadlineIsExpiry"/>), the dependent truststores and
/// those that acknowledged holding the new certificate, and when the last of them did
/// (<see cref="AllWrittenAt"/>, null while some have not).
/// </summary>
public sealed record RollSnapshot(
    DateTimeOffset Now,
    DateTimeOffset Deadline,
    bool DeadlineIsExpiry,
    DateTimeOffset? AllWrittenAt,
    IReadOnlyCollection<string> Truststores,
    IReadOnlySet<string> Acknowledged,
    TimeSpan PropagationDelay);

/// <summary>
/// Make-before-break renewal as pure decisions: when the keystore of a renewed certificate
/// switches to it, and how long the previous certificate stays trusted.
/// </summary>
public static class RollPolicy
{
    /// <summary>
    /// The latest the keystore may switch: <paramref name="maxWait"/> after the roll started, and
    /// never later than the old certificate's expiry less the propagation delay (pods must read
    /// the new keystore before the old certificate stops being valid). Never before the start.
    /// </summary>
    public static (DateTimeOffset At, bool IsExpiry) Deadline(DateTimeOffset started, DateTimeOffset oldNotAfter, TimeSpan maxWait, TimeSpan propagationDelay)
    {
        var byWait = started + maxWait;
        var byExpiry = oldNotAfter - propagationDelay;
        if (byExpiry < byWait)
        {
            return (byExpiry < started ? started : byExpiry, true);
        }

        return (byWait, false);
    }

    /// <summary>
    /// Switch once every dependent truststore holds the new certificate and the propagation delay
    /// has passed since the last one was written (at once when nothing depends on it: nothing to
    /// propagate), or at the deadline, whatever is left behind. Otherwise wait for the earlier of
    /// the two.
    /// </summary>
    public static RollStep Step(RollSnapshot roll)
    {
        var pending = roll.Truststores.Where(t => !roll.Acknowledged.Contains(t)).Order(StringComparer.Ordinal).ToList();
        if (pending.Count == 0)
        {
            var switchAt = roll.Truststores.Count == 0 ? roll.Now : (roll.AllWrittenAt ?? roll.Now) + roll.PropagationDelay;
            if (switchAt <= roll.Now)
            {
                return new RollStep.Switch(SwitchCause.AllWritten, []);
            }

            if (roll.Deadline <= roll.Now)
            {
                return new RollStep.Switch(roll.DeadlineIsExpiry ? SwitchCause.Expiry : SwitchCause.MaxWait, []);
            }

            return new RollStep.Wait(switchAt < roll.Deadline ? switchAt : roll.Deadline, Abstractions.Reasons.Propagating, []);
        }

        if (roll.Deadline <= roll.Now)
        {
            return new RollStep.Switch(roll.DeadlineIsExpiry ? SwitchCause.Expiry : SwitchCause.MaxWait, pending);
        }

        return new RollStep.Wait(roll.Deadline, Abstractions.Reasons.WaitingForTruststores, pending);
    }

    /// <summary>
    /// Until when the replaced certificate stays in dependents' truststores: its expiry, or the end
    /// of the configured overlap if sooner, counted from <paramref name="switchedAt"/> (the grain
    /// passes the moment every keystore confirmed writing the new certificate, not the moment it
    /// decided to switch). The overlap is never shorter than the propagation delay: pods read the
    /// switched keystore only after the kubelet's refresh and present the old certificate until
    /// then, so a peer must keep trusting it that long (Overlap 0 means "as short as is safe").
    /// </summary>
    public static DateTimeOffset TrustedUntil(DateTimeOffset switchedAt, DateTimeOffset oldNotAfter, TimeSpan? overlap, TimeSpan propagationDelay)
    {
        if (overlap is not { } o)
        {
            return oldNotAfter;
        }

        var end = switchedAt + (o < propagationDelay ? propagationDelay : o);
        return end < oldNotAfter ? end : oldNotAfter;
    }

    /// <summary>
    /// Until when the replaced certificate stays trusted at most while the keystores have not all
    /// confirmed serving the new one (the overlap counts from that confirmation, see
    /// <see cref="TrustedUntil"/>): a keystore that cannot be written does not keep it for ever,
    /// the overlap then counts from <paramref name="maxWait"/> after the switch, as a truststore
    /// that cannot be written holds a switch no longer than that. Without an overlap: its expiry.
    /// </summary>
    public static DateTimeOffset TrustedUntilAwaitingKeystores(DateTimeOffset switchedAt, DateTimeOffset oldNotAfter, TimeSpan? overlap, TimeSpan propagationDelay, TimeSpan maxWait) =>
        TrustedUntil(switchedAt + maxWait, oldNotAfter, overlap, propagationDelay);

    /// <summary>
    /// Until when a replaced certificate stays trusted once the last keystore confirmed serving
    /// the new one at <paramref name="confirmedAt"/>: the overlap counted from then, never later
    /// than the bound it had while it waited (<paramref name="bound"/>).
    /// </summary>
    public static DateTimeOffset TrustedUntilConfirmed(DateTimeOffset confirmedAt, DateTimeOffset bound, DateTimeOffset oldNotAfter, TimeSpan? overlap, TimeSpan propagationDelay)
    {
        var until = TrustedUntil(confirmedAt, oldNotAfter, overlap, propagationDelay);
        return until < bound ? until : bound;
    }

    /// <summary>
    /// How many replaced certificates stay trusted at most. Rolls completing in quick succession
    /// (flip-flopping spec changes, each re-issue a roll) would otherwise pile up leaves in the
    /// state and in every dependent truststore until each expires (a Secret is limited to 1 MiB).
    /// Three: the certificate served before the last switch, and two more for pods that read
    /// their keystore only at start and have not restarted since.
    /// </summary>
    public const int MaxPrevious = 3;

    /// <summary>
    /// Which previous certificates (indexes into <paramref name="trustedUntil"/>, oldest first, as
    /// they were replaced) stop being trusted now: those whose overlap ended, and the oldest
    /// beyond the newest <paramref name="keep"/>.
    /// </summary>
    public static IReadOnlyList<int> EndedOverlaps(DateTimeOffset now, IReadOnlyList<DateTimeOffset> trustedUntil, int keep)
    {
        var ended = new List<int>();
        var remaining = trustedUntil.Count(t => t > now);
        for (var i = 0; i < trustedUntil.Count; i++)
        {
            if (trustedUntil[i] <= now)
            {
                ended.Add(i);
            }
            else if (remaining > keep)
            {
                ended.Add(i);
                remaining--;
            }
        }

        return ended;
    }
}
