namespace Notary.Grains.Policies.Tests;

/// <summary>
/// The renewal and alert schedule, table by table. Times are days before notAfter (so the
/// README's thresholds read as written: 30d, 7d, 1d), durations are literals.
/// </summary>
public sealed class LifecyclePolicyTests
{
    private static readonly DateTimeOffset NotAfter = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan[] Thresholds = [TimeSpan.FromDays(30), TimeSpan.FromDays(7), TimeSpan.FromDays(1)];

    private static DateTimeOffset DaysBefore(double days) => NotAfter - TimeSpan.FromDays(days);

    private static HashSet<TimeSpan> Sent(params double[] days) => [.. days.Select(TimeSpan.FromDays)];

    private static LifecyclePlan Plan(double now, double renewal, double? retry = null, bool inProgress = false, HashSet<TimeSpan>? sent = null, TimeSpan[]? thresholds = null) =>
        LifecyclePolicy.Plan(DaysBefore(now), NotAfter, DaysBefore(renewal), retry is { } r ? DaysBefore(r) : null, inProgress, thresholds ?? Thresholds, sent ?? []);

    [Theory]
    // now, renewal time, next retry (null: none), renew now?
    [InlineData(40, 20, null, false)]      // before the renewal time
    [InlineData(20, 20, null, true)]       // at it
    [InlineData(19, 20, null, true)]       // after it
    [InlineData(19, 20, 18.0, false)]      // a failed renewal's backoff not over yet
    [InlineData(18, 20, 18.0, true)]       // at the end of the backoff
    [InlineData(19, 20, 25.0, true)]       // a retry time before the renewal time does not delay it
    [InlineData(21, 20, 25.0, false)]      // ...nor bring it forward
    public void Renews_when_the_renewal_time_and_any_backoff_have_passed(double now, double renewal, double? retry, bool renew) =>
        Assert.Equal(renew, Plan(now, renewal, retry).RenewNow);

    [Fact]
    public void A_renewal_in_progress_is_not_started_again_and_plans_no_renewal_wake()
    {
        var plan = Plan(now: 10, renewal: 20, inProgress: true, sent: Sent(30));
        Assert.False(plan.RenewNow);
        // Next: the 7-day threshold, not the (passed) renewal time.
        Assert.Equal(DaysBefore(7), plan.NextWake);
    }

    [Theory]
    // now (days before expiry), thresholds already sent, expected alert (days), expected passed (days)
    [InlineData(31, new double[0], null, new double[0])]
    [InlineData(30, new double[0], 30.0, new[] { 30.0 })]              // exactly at the threshold
    [InlineData(29, new[] { 30.0 }, null, new double[0])]              // once per threshold
    [InlineData(2, new double[0], 7.0, new[] { 7.0, 30.0 })]           // woke late: the tightest, both counted
    [InlineData(2, new[] { 30.0 }, 7.0, new[] { 7.0 })]
    [InlineData(0.5, new double[0], 1.0, new[] { 1.0, 7.0, 30.0 })]
    [InlineData(0.5, new[] { 30.0, 7.0, 1.0 }, null, new double[0])]
    [InlineData(-1, new[] { 30.0 }, 1.0, new[] { 1.0, 7.0 })]          // already expired
    public void Alerts_once_for_the_tightest_threshold_passed_and_counts_the_others(double now, double[] sent, double? alert, double[] passed)
    {
        var plan = Plan(now, renewal: -10, sent: Sent(sent));
        Assert.Equal(alert is { } a ? TimeSpan.FromDays(a) : null, plan.Alert);
        Assert.Equal(passed.Select(TimeSpan.FromDays), plan.AlertsPassed);
    }

    [Fact]
    public void Thresholds_given_in_any_order_still_alert_for_the_tightest()
    {
        var plan = Plan(now: 2, renewal: -10, thresholds: [TimeSpan.FromDays(1), TimeSpan.FromDays(30), TimeSpan.FromDays(7)]);
        Assert.Equal(TimeSpan.FromDays(7), plan.Alert);
    }

    [Theory]
    // now, renewal, retry, in progress, sent, expected next wake (days before expiry; null: none)
    [InlineData(60, 20, null, false, new double[0], 30.0)]            // the first threshold comes before renewal
    [InlineData(60, 40, null, false, new double[0], 40.0)]            // renewal comes first
    [InlineData(29, 20, null, false, new[] { 30.0 }, 20.0)]           // a sent threshold is not waited for
    [InlineData(19, 20, 15.0, false, new[] { 30.0 }, 15.0)]           // the end of the backoff
    [InlineData(5, 20, 6.0, false, new[] { 30.0, 7.0 }, 1.0)]         // renew now: the next threshold
    [InlineData(0.5, 20, 0.8, false, new[] { 30.0, 7.0, 1.0 }, 0.0)]  // renew now, every alert sent: expiry itself
    [InlineData(2, 20, 1.5, true, new[] { 30.0 }, 1.0)]               // in progress: no renewal wake; the 7d alert is now, the 1d one next
    [InlineData(-1, 20, -0.5, true, new[] { 30.0, 7.0, 1.0 }, null)]  // expired, renewal in progress: nothing to wait for
    [InlineData(0, 20, -0.5, true, new[] { 30.0, 7.0, 1.0 }, null)]   // at the expiry instant itself: not a wake-up any more
    [InlineData(10, -10, null, false, new[] { 7.0 }, 1.0)]            // a threshold already sent is not waited for, even ahead
    public void Next_wake_is_the_earliest_thing_still_to_do(double now, double renewal, double? retry, bool inProgress, double[] sent, double? next)
    {
        var plan = Plan(now, renewal, retry, inProgress, Sent(sent));
        Assert.Equal(next is { } n ? DaysBefore(n) : null, plan.NextWake);
    }

    [Fact]
    public void An_expired_certificate_with_its_renewal_due_plans_no_wake_after_expiry()
    {
        var plan = Plan(now: -1, renewal: 20, retry: -0.5, sent: Sent(30, 7, 1));
        Assert.True(plan.RenewNow);
        Assert.Null(plan.NextWake);
    }

    [Theory]
    // failures, minutes: 1 minute doubling, capped at an hour (README "Renewal and alerts")
    [InlineData(-1, 1)]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(5, 16)]
    [InlineData(6, 32)]
    [InlineData(7, 60)]
    [InlineData(8, 60)]
    [InlineData(21, 60)]
    [InlineData(22, 60)]
    [InlineData(100, 60)]
    [InlineData(int.MaxValue, 60)]
    public void Renewal_backoff_doubles_from_a_minute_up_to_an_hour(int failures, double minutes) =>
        Assert.Equal(TimeSpan.FromMinutes(minutes), LifecyclePolicy.RenewalBackoff(failures));

    [Theory]
    [InlineData(30 * 24 * 60, "30 days")]
    [InlineData(7 * 24 * 60, "7 days")]
    [InlineData(2 * 24 * 60, "2 days")]
    [InlineData(24 * 60, "1 day")]
    [InlineData(36 * 60, "36 hours")]
    [InlineData(12 * 60, "12 hours")]
    [InlineData(90, "1.5 hours")]
    [InlineData(60, "1 hours")]
    [InlineData(59, "59 minutes")]
    [InlineData(1, "1 minutes")]
    public void Thresholds_are_worded_for_people(int minutes, string expected) =>
        Assert.Equal(expected, LifecyclePolicy.Describe(TimeSpan.FromMinutes(minutes)));
}
