namespace Notary.Grains.Policies.Tests;

/// <summary>The Notary:Rotation settings: the documented defaults, and refusals that say how to fix the value.</summary>
public sealed class RotationOptionsTests
{
    private static readonly RotationOptionsValidator Validator = new();

    [Fact]
    public void The_defaults_are_90_seconds_until_expiry_and_a_day_and_valid()
    {
        var options = new RotationOptions();
        Assert.Equal(TimeSpan.FromSeconds(90), options.PropagationDelay);
        Assert.Null(options.Overlap);
        Assert.Equal(TimeSpan.FromDays(1), options.MaxWait);
        Assert.True(Validator.Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(-1, null, 86400, "PropagationDelay")]
    [InlineData(3601, null, 86400, "PropagationDelay")]
    [InlineData(90, -1.0, 86400, "Overlap")]
    [InlineData(90, null, 89, "MaxWait")]
    [InlineData(90, null, 86400 * 31, "MaxWait")]
    public void Impossible_values_are_refused_naming_the_setting_and_an_example(double delay, double? overlap, double maxWait, string setting)
    {
        var result = Validator.Validate(null, new RotationOptions
        {
            PropagationDelay = TimeSpan.FromSeconds(delay),
            Overlap = overlap is { } o ? TimeSpan.FromSeconds(o) : null,
            MaxWait = TimeSpan.FromSeconds(maxWait),
        });
        Assert.True(result.Failed);
        var message = Assert.Single(result.Failures!);
        Assert.Contains($"Notary:Rotation:{setting}", message, StringComparison.Ordinal);
        Assert.Contains($"Notary__Rotation__{setting}=", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0.0, 0)]
    [InlineData(3600, 0.0, 3600)]
    [InlineData(90, null, 86400 * 30)]
    public void Boundary_values_are_accepted(double delay, double? overlap, double maxWait) =>
        Assert.True(Validator.Validate(null, new RotationOptions
        {
            PropagationDelay = TimeSpan.FromSeconds(delay),
            Overlap = overlap is { } o ? TimeSpan.FromSeconds(o) : null,
            MaxWait = TimeSpan.FromSeconds(maxWait),
        }).Succeeded);

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(1001)]
    public void A_CA_rotation_re_issues_between_1_and_1000_certificates_at_once(int max)
    {
        Assert.Equal(10, new RotationOptions().MaxConcurrentReissues);
        var result = Validator.Validate(null, new RotationOptions { MaxConcurrentReissues = max });
        var message = Assert.Single(result.Failures!);
        Assert.Contains("Notary__Rotation__MaxConcurrentReissues=", message, StringComparison.Ordinal);
        Assert.True(Validator.Validate(null, new RotationOptions { MaxConcurrentReissues = 1 }).Succeeded);
        Assert.True(Validator.Validate(null, new RotationOptions { MaxConcurrentReissues = 1000 }).Succeeded);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(86401)]
    public void Manual_renewals_are_at_least_0_and_at_most_24_hours_apart(double seconds)
    {
        Assert.Equal(TimeSpan.FromMinutes(5), new RotationOptions().MinManualRenewInterval);
        var message = Assert.Single(Validator.Validate(null, new RotationOptions { MinManualRenewInterval = TimeSpan.FromSeconds(seconds) }).Failures!);
        Assert.Contains("Notary__Rotation__MinManualRenewInterval=", message, StringComparison.Ordinal);
        Assert.True(Validator.Validate(null, new RotationOptions { MinManualRenewInterval = TimeSpan.Zero }).Succeeded);
        Assert.True(Validator.Validate(null, new RotationOptions { MinManualRenewInterval = TimeSpan.FromHours(24) }).Succeeded);
    }
}
