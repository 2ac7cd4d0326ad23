using Notary.Grains.Abstractions.Retry;

namespace Notary.Grains.Policies.Tests;

/// <summary>The one backoff policy, and the parameters each user keeps.</summary>
public sealed class ExponentialBackoffTests
{
    private static readonly ExponentialBackoff Second = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

    [Theory]
    [InlineData(-5, 1)]
    [InlineData(-1, 1)]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(8, 256)]
    [InlineData(9, 300)]
    [InlineData(30, 300)]
    [InlineData(31, 300)]
    [InlineData(int.MaxValue, 300)]
    public void Delay_doubles_from_the_first_up_to_the_cap(int doublings, int expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), Second.Delay(doublings));

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(9, 256)]
    [InlineData(10, 300)]
    public void After_n_failures_the_first_failure_waits_the_first_delay(int failures, int expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), Second.AfterFailures(failures));

    [Fact]
    public void The_cap_is_exact_when_the_doubling_lands_on_it()
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));
        Assert.Equal(TimeSpan.FromSeconds(2), backoff.Delay(1));
        Assert.Equal(TimeSpan.FromSeconds(4), backoff.Delay(2));
        Assert.Equal(TimeSpan.FromSeconds(4), backoff.Delay(3));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(3, 8)]
    [InlineData(4, 8)]
    [InlineData(100, 8)]
    public void Doublings_stop_counting_at_the_maximum(int doublings, int expectedSeconds)
    {
        // No cap in reach: only MaxDoublings bounds the delay.
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.MaxValue, MaxDoublings: 3);
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), backoff.Delay(doublings));
    }

    [Fact]
    public void A_negative_maximum_counts_as_no_doubling() =>
        Assert.Equal(TimeSpan.FromSeconds(1), new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.MaxValue, MaxDoublings: -1).Delay(5));

    [Theory]
    [InlineData(0, 0.0, 0)]
    [InlineData(0, 0.5, 500)]
    [InlineData(0, 1.0, 1000)]
    [InlineData(2, 0.25, 1000)]
    [InlineData(2, -1.0, 0)]
    [InlineData(2, 2.0, 4000)]
    [InlineData(20, 0.5, 150_000)]
    public void Full_jitter_is_a_fraction_of_the_ceiling(int doublings, double fraction, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Second.FullJitter(doublings, fraction));

    [Theory]
    [InlineData(0, 0.0, 500)]
    [InlineData(0, 0.5, 750)]
    [InlineData(0, 1.0, 1000)]
    [InlineData(2, 0.0, 2000)]
    [InlineData(2, -1.0, 2000)]
    [InlineData(2, 3.0, 4000)]
    [InlineData(20, 0.5, 225_000)]
    public void Equal_jitter_waits_half_the_ceiling_and_a_fraction_of_the_other_half(int doublings, double fraction, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Second.EqualJitter(doublings, fraction));

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(6, 32)]
    [InlineData(7, 60)]
    [InlineData(100, 60)]
    public void A_failed_renewal_waits_a_minute_doubling_up_to_an_hour(int failures, int expectedMinutes) =>
        Assert.Equal(TimeSpan.FromMinutes(expectedMinutes), LifecyclePolicy.RenewalBackoff(failures));
}
