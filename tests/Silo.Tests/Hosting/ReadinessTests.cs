using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Notary.Silo.Tests.Hosting;

/// <summary>/readyz's decision: Active in the cluster and a recent answer from the API server, both.</summary>
public sealed class ReadinessTests
{
    private static readonly DateTimeOffset Now = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(30);

    public static TheoryData<SiloStatus, int?, HealthStatus> Cases => new()
    {
        { SiloStatus.Active, 0, HealthStatus.Healthy },
        { SiloStatus.Active, 30, HealthStatus.Healthy },
        { SiloStatus.Active, 31, HealthStatus.Unhealthy },
        { SiloStatus.Active, null, HealthStatus.Unhealthy },
        { SiloStatus.Joining, 0, HealthStatus.Unhealthy },
        { SiloStatus.Created, 0, HealthStatus.Unhealthy },
        { SiloStatus.ShuttingDown, 0, HealthStatus.Unhealthy },
        { SiloStatus.Dead, 0, HealthStatus.Unhealthy },
        { SiloStatus.None, 0, HealthStatus.Unhealthy },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Ready_only_when_Active_and_the_API_server_answered_within_the_max_age(SiloStatus status, int? secondsSinceContact, HealthStatus expected)
    {
        var last = secondsSinceContact is { } seconds ? Now - TimeSpan.FromSeconds(seconds) : (DateTimeOffset?)null;

        Assert.Equal(expected, NotaryReadinessCheck.Decide(status, last, Now, MaxAge).Status);
    }

    [Fact]
    public void The_reasons_name_the_state_and_nothing_else()
    {
        Assert.Equal("silo Joining", NotaryReadinessCheck.Decide(SiloStatus.Joining, Now, Now, MaxAge).Description);
        Assert.Equal("no recent answer from the Kubernetes API server", NotaryReadinessCheck.Decide(SiloStatus.Active, Now.AddMinutes(-5), Now, MaxAge).Description);
    }
}
