using Notary.Grains.Abstractions;

namespace Notary.Grains.Policies.Tests;

/// <summary>
/// Make-before-break, table by table: when a renewed certificate's keystore switches, and how
/// long the replaced certificate stays trusted. Times are seconds after the roll started;
/// durations are literals (90 s delay, 24 h MaxWait: the defaults).
/// </summary>
public sealed class RollPolicyTests
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(90);

    private static DateTimeOffset At(double seconds) => Start + TimeSpan.FromSeconds(seconds);

    private static RollStep Step(double now, string[] truststores, string[] acknowledged, double? allWrittenAt = null, double deadline = 86400, bool deadlineIsExpiry = false) =>
        RollPolicy.Step(new RollSnapshot(At(now), At(deadline), deadlineIsExpiry, allWrittenAt is { } w ? At(w) : null, truststores, acknowledged.ToHashSet(StringComparer.Ordinal), Delay));

    [Theory]
    // started, old notAfter (seconds after start), maxWait (s) → deadline (s after start), bound by expiry?
    [InlineData(86400 * 30, 86400, 86400, false)]     // MaxWait first
    [InlineData(3600, 86400, 3510, true)]             // expiry less the 90 s delay first
    [InlineData(60, 86400, 0, true)]                  // already within the delay of expiry: at once
    [InlineData(-10, 86400, 0, true)]                 // already expired: at once
    [InlineData(86490, 86400, 86400, false)]          // equal: MaxWait
    public void The_deadline_is_MaxWait_after_the_start_never_past_the_old_expiry_less_the_delay(double oldNotAfter, double maxWait, double deadline, bool isExpiry)
    {
        var (at, byExpiry) = RollPolicy.Deadline(Start, At(oldNotAfter), TimeSpan.FromSeconds(maxWait), Delay);
        Assert.Equal(At(deadline), at);
        Assert.Equal(isExpiry, byExpiry);
    }

    [Fact]
    public void Waits_for_every_truststore_naming_the_missing_ones_in_order()
    {
        var wait = Assert.IsType<RollStep.Wait>(Step(10, ["ns/c", "ns/a", "ns/b"], ["ns/b"]));
        Assert.Equal(Reasons.WaitingForTruststores, wait.Phase);
        Assert.Equal(["ns/a", "ns/c"], wait.Pending);
        Assert.Equal(At(86400), wait.Until);
    }

    [Theory]
    // now, all written at → switch?
    [InlineData(100, 20, false)]   // 80 s after the last write
    [InlineData(110, 20, true)]    // exactly the delay after it
    [InlineData(500, 20, true)]
    public void Switches_the_propagation_delay_after_the_last_truststore_is_written(double now, double writtenAt, bool switches)
    {
        var step = Step(now, ["ns/a", "ns/b"], ["ns/a", "ns/b"], allWrittenAt: writtenAt);
        if (switches)
        {
            var @switch = Assert.IsType<RollStep.Switch>(step);
            Assert.Equal(SwitchCause.AllWritten, @switch.Cause);
            Assert.Empty(@switch.LeftBehind);
        }
        else
        {
            var wait = Assert.IsType<RollStep.Wait>(step);
            Assert.Equal(Reasons.Propagating, wait.Phase);
            Assert.Equal(At(110), wait.Until);
        }
    }

    [Fact]
    public void Without_dependent_truststores_it_switches_at_once() =>
        Assert.Equal(new RollStep.Switch(SwitchCause.AllWritten, []), Step(0, [], []));

    [Fact]
    public void An_acknowledgement_whose_time_was_not_recorded_counts_from_now() =>
        Assert.Equal(At(100) + Delay, Assert.IsType<RollStep.Wait>(Step(100, ["ns/a"], ["ns/a"])).Until);

    [Theory]
    [InlineData(false, SwitchCause.MaxWait)]
    [InlineData(true, SwitchCause.Expiry)]
    public void At_the_deadline_it_switches_naming_the_truststores_left_behind(bool isExpiry, SwitchCause cause)
    {
        Assert.IsType<RollStep.Wait>(Step(999, ["ns/a", "ns/b"], ["ns/a"], deadline: 1000, deadlineIsExpiry: isExpiry));
        var @switch = Assert.IsType<RollStep.Switch>(Step(1000, ["ns/a", "ns/b"], ["ns/a"], deadline: 1000, deadlineIsExpiry: isExpiry));
        Assert.Equal(cause, @switch.Cause);
        Assert.Equal(["ns/b"], @switch.LeftBehind);
    }

    [Fact]
    public void The_deadline_also_cuts_the_propagation_delay_short()
    {
        var wait = Assert.IsType<RollStep.Wait>(Step(950, ["ns/a"], ["ns/a"], allWrittenAt: 940, deadline: 1000));
        Assert.Equal(At(1000), wait.Until);
        var @switch = Assert.IsType<RollStep.Switch>(Step(1000, ["ns/a"], ["ns/a"], allWrittenAt: 940, deadline: 1000, deadlineIsExpiry: true));
        Assert.Equal(SwitchCause.Expiry, @switch.Cause);
        Assert.Empty(@switch.LeftBehind);
    }

    [Theory]
    // old notAfter (days after the switch), overlap (days, null: unset) → trusted until (days)
    [InlineData(30, null, 30)]
    [InlineData(30, 7.0, 7)]
    [InlineData(30, 45.0, 30)]
    public void The_previous_certificate_is_trusted_until_it_expires_or_the_overlap_ends(double notAfter, double? overlap, double until) =>
        Assert.Equal(Start + TimeSpan.FromDays(until), RollPolicy.TrustedUntil(Start, Start + TimeSpan.FromDays(notAfter), overlap is { } o ? TimeSpan.FromDays(o) : null, Delay));

    [Theory]
    // old notAfter (s after the switch), overlap (s) → trusted until (s): pods present the old
    // certificate until they read the switched keystore, so never less than the 90 s delay.
    [InlineData(86400, 0, 90)]
    [InlineData(86400, 30, 90)]
    [InlineData(86400, 90, 90)]
    [InlineData(86400, 120, 120)]
    [InlineData(60, 0, 60)]        // it expires first: no longer than it is valid
    public void An_overlap_shorter_than_the_propagation_delay_lasts_the_delay(double notAfter, double overlap, double until) =>
        Assert.Equal(At(until), RollPolicy.TrustedUntil(Start, At(notAfter), TimeSpan.FromSeconds(overlap), Delay));

    [Theory]
    // old notAfter (s after the switch), overlap (s, null: unset), maxWait (s) → trusted until (s)
    // while a keystore has not confirmed the switch: the overlap counted from maxWait after it.
    [InlineData(86400, 0.0, 3600, 3690)]         // overlap 0: the 90 s delay after MaxWait
    [InlineData(86400, 60.0, 3600, 3690)]        // never less than the 90 s delay
    [InlineData(86400, 600.0, 3600, 4200)]
    [InlineData(1800, 0.0, 3600, 1800)]          // it expires first
    [InlineData(86400, null, 3600, 86400)]       // no overlap: until it expires
    public void Awaiting_the_keystores_the_previous_certificate_is_trusted_at_most_the_overlap_after_MaxWait(double notAfter, double? overlap, double maxWait, double until) =>
        Assert.Equal(At(until), RollPolicy.TrustedUntilAwaitingKeystores(Start, At(notAfter), overlap is { } o ? TimeSpan.FromSeconds(o) : null, Delay, TimeSpan.FromSeconds(maxWait)));

    [Theory]
    // confirmed at (s after the switch), bound (s), old notAfter (s), overlap (s, null: unset) → trusted until (s)
    [InlineData(5, 3690, 86400, 0.0, 95)]           // the overlap (at least the delay) counts from the confirmation
    [InlineData(5, 3690, 86400, 600.0, 605)]
    [InlineData(3650, 3690, 86400, 0.0, 3690)]      // never later than the bound it had while it waited
    [InlineData(5, 86400, 86400, null, 86400)]      // no overlap: until it expires
    [InlineData(5, 3690, 60, 0.0, 60)]              // it expires first
    public void Once_every_keystore_serves_the_new_certificate_the_overlap_starts(double confirmed, double bound, double notAfter, double? overlap, double until) =>
        Assert.Equal(At(until), RollPolicy.TrustedUntilConfirmed(At(confirmed), At(bound), At(notAfter), overlap is { } o ? TimeSpan.FromSeconds(o) : null, Delay));

    [Theory]
    // trusted until (s after start, oldest first), now (s), keep → indexes that end
    [InlineData(new double[] { 100, 200, 300 }, 0, 3, new int[0])]
    [InlineData(new double[] { 100, 200, 300 }, 200, 3, new[] { 0, 1 })]
    [InlineData(new double[] { 900, 800, 700, 600, 500 }, 0, 3, new[] { 0, 1 })]      // the oldest beyond three
    [InlineData(new double[] { 100, 900, 800, 700, 600 }, 150, 3, new[] { 0, 1 })]    // ended ones do not count
    [InlineData(new double[] { 900, 800 }, 0, 3, new int[0])]
    public void At_most_MaxPrevious_replaced_certificates_stay_trusted_the_oldest_go_first(double[] trustedUntil, double now, int keep, int[] ended) =>
        Assert.Equal(ended, RollPolicy.EndedOverlaps(At(now), [.. trustedUntil.Select(At)], keep));
}
