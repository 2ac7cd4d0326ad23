using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Restarts;

namespace Notary.Grains.Policies.Tests;

/// <summary>The rate limit of workload restarts, table by table.</summary>
public sealed class RestartPolicyTests
{
    private static readonly DateTimeOffset Now = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    public static TheoryData<string, double?, double?, double, double?> Deferrals => new()
    {
        // what, last restart by the grain (seconds from now), annotation (seconds from now), interval (s), deferred until (seconds from now; null: now)
        { "never restarted", null, null, 60, null },
        { "restarted by the grain 10 s ago", -10, null, 60, 50 },
        { "restarted by someone else 10 s ago", null, -10, 60, 50 },
        { "the later of the two counts", -50, -10, 60, 50 },
        { "the later of the two counts (grain)", -10, -50, 60, 50 },
        { "exactly one interval ago", -60, null, 60, null },
        { "longer ago", -61, -3600, 60, null },
        { "an annotation in the future counts as now", null, 3600, 60, 60 },
        { "no limit", -1, -1, 0, null },
        { "no limit, even after the clock went back", 10, null, 0, null },
        { "the grain's own restart in the future (the clock went back) still limits", 10, null, 60, 70 },
    };

    [Theory]
    [MemberData(nameof(Deferrals))]
    public void When_a_workload_may_restart(string what, double? last, double? annotated, double intervalSeconds, double? expected)
    {
        var until = RestartPolicy.DeferUntil(Now, At(last), At(annotated), TimeSpan.FromSeconds(intervalSeconds));

        Assert.True(At(expected) == until, $"{what}: expected {At(expected)}, got {until}");
    }

    [Theory]
    [InlineData(null, false)]          // never restarted
    [InlineData(-5.0, false)]          // before the request
    [InlineData(0.0, false)]           // the same second: it may have been before the request
    [InlineData(1.0, true)]            // after it
    public void A_restart_after_the_first_request_makes_a_deferred_one_unneeded(double? annotatedSecondsAfter, bool unneeded)
    {
        var requested = Now.AddMilliseconds(400);

        Assert.Equal(unneeded, RestartPolicy.RestartedSince(At(annotatedSecondsAfter), requested));
    }

    [Fact]
    public void The_annotation_has_whole_seconds() =>
        Assert.Equal(Now, RestartPolicy.TruncateToSeconds(Now.AddMilliseconds(999)));

    [Fact]
    public void Restart_options_are_validated_with_a_message_that_says_how_to_fix_them()
    {
        var validator = new NotaryRestartOptionsValidator();
        Assert.True(validator.Validate(null, new NotaryRestartOptions()).Succeeded);
        Assert.Equal(Minute, new NotaryRestartOptions().MinRestartInterval);
        Assert.True(validator.Validate(null, new NotaryRestartOptions { MinRestartInterval = TimeSpan.Zero }).Succeeded);

        var negative = validator.Validate(null, new NotaryRestartOptions { MinRestartInterval = TimeSpan.FromSeconds(-1) });
        var long_ = validator.Validate(null, new NotaryRestartOptions { MinRestartInterval = TimeSpan.FromDays(2) });

        Assert.All(new[] { negative, long_ }, result => Assert.Contains("Notary:Restarts:MinRestartInterval", Assert.Single(result.Failures!), StringComparison.Ordinal));
    }

    [Fact]
    public void A_restart_grain_is_keyed_by_namespace_kind_and_name()
    {
        var workload = new WorkloadRef("shop", "Deployment", "api");

        Assert.Equal("shop/Deployment/api", WorkloadRestartKeys.Of(workload));
        Assert.Equal(workload, WorkloadRestartKeys.Parse("shop/Deployment/api"));
        Assert.Throws<FormatException>(() => WorkloadRestartKeys.Parse("shop/api"));
    }

    private static DateTimeOffset? At(double? seconds) => seconds is { } s ? Now.AddSeconds(s) : null;
}
