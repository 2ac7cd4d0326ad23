using Microsoft.Extensions.Options;

namespace Notary.Grains;

/// <summary>
/// Renewal and alerting (configuration section <c>Notary:Alerts</c>, e.g.
/// <c>Notary__Alerts__Thresholds__0=30.00:00:00</c>).
/// </summary>
public sealed class LifecycleOptions
{
    public const string SectionName = "Notary:Alerts";

    /// <summary>How long before expiry a certificate that has not been renewed raises an ExpiringSoon alert: 30, 7 and 1 days by default.</summary>
    public List<TimeSpan> Thresholds { get; set; } = [];

    /// <summary>The thresholds in effect (the defaults when none are configured), largest first.</summary>
    public IReadOnlyList<TimeSpan> EffectiveThresholds =>
        (Thresholds.Count == 0 ? [TimeSpan.FromDays(30), TimeSpan.FromDays(7), TimeSpan.FromDays(1)] : Thresholds).Distinct().OrderDescending().ToList();

    /// <summary>
    /// The longest a lifecycle reminder is registered ahead: longer waits are cut into pieces,
    /// well under the 49.7 days beyond which some Orleans versions never fire a reminder.
    /// </summary>
    public TimeSpan MaxReminderDelay { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>Refuses thresholds and delays that cannot work, saying how to fix them.</summary>
public sealed class LifecycleOptionsValidator : IValidateOptions<LifecycleOptions>
{
    public ValidateOptionsResult Validate(string? name, LifecycleOptions options)
    {
        var failures = new List<string>();
        if (options.Thresholds.Any(t => t <= TimeSpan.Zero || t > TimeSpan.FromDays(3650)))
        {
            failures.Add($"{LifecycleOptions.SectionName}:Thresholds must be positive durations before expiry, e.g. Notary__Alerts__Thresholds__0=30.00:00:00.");
        }

        if (options.MaxReminderDelay < TimeSpan.FromMinutes(1) || options.MaxReminderDelay > TimeSpan.FromDays(40))
        {
            failures.Add($"{LifecycleOptions.SectionName}:MaxReminderDelay {options.MaxReminderDelay} must be between 1 minute and 40 days (default 7 days).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
