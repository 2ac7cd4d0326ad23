using Notary.Grains.Abstractions.Retry;

namespace Notary.Grains.Policies;

/// <summary>What a certificate must do now, and when to look again.</summary>
public sealed record LifecyclePlan(bool RenewNow, TimeSpan? Alert, IReadOnlyList<TimeSpan> AlertsPassed, DateTimeOffset? NextWake);

/// <summary>
/// The renewal and alert schedule of an issued certificate, as a pure function of the time and
/// what was already done (cert-manager's "trigger" controller, as a policy).
/// </summary>
public static class LifecyclePolicy
{
    /// <summary>Failed renewals: 1 minute doubling, capped at an hour.</summary>
    private static readonly ExponentialBackoff RenewalRetry = new(TimeSpan.FromMinutes(1), TimeSpan.FromHours(1), MaxDoublings: 20);

    /// <summary>
    /// Decides at <paramref name="now"/>: renew when the renewal time has come (and a failed
    /// renewal's backoff has passed); alert once per threshold (30d, 7d, 1d before expiry by
    /// default) that has been crossed without a renewal. When the grain wakes late and several
    /// thresholds have passed, it alerts once, for the tightest, and counts the others as sent:
    /// one late wake-up should not produce a burst of alerts.
    /// </summary>
    public static LifecyclePlan Plan(
        DateTimeOffset now,
        DateTimeOffset notAfter,
        DateTimeOffset renewalTime,
        DateTimeOffset? nextRenewalAttempt,
        bool renewalInProgress,
        IReadOnlyList<TimeSpan> thresholds,
        IReadOnlySet<TimeSpan> alertsSent)
    {
        var renewAt = nextRenewalAttempt is { } retry && retry > renewalTime ? retry : renewalTime;
        var renewNow = !renewalInProgress && now >= renewAt;

        var passed = thresholds.Where(t => now >= notAfter - t && !alertsSent.Contains(t)).OrderBy(t => t).ToList();
        TimeSpan? alert = passed.Count > 0 ? passed[0] : null;

        var candidates = new List<DateTimeOffset>();
        if (!renewNow && !renewalInProgress)
        {
            candidates.Add(renewAt);
        }

        candidates.AddRange(thresholds
            .Where(t => !alertsSent.Contains(t) && !passed.Contains(t))
            .Select(t => notAfter - t)
            .Where(at => at > now));
        if (notAfter > now)
        {
            // Expiry itself: the status turns Ready=False then.
            candidates.Add(notAfter);
        }

        DateTimeOffset? next = candidates.Count == 0 ? null : candidates.Min();
        return new LifecyclePlan(renewNow, alert, passed, next);
    }

    /// <summary>The delay before the next renewal attempt after <paramref name="failures"/> failures: 1 minute doubling, capped at an hour.</summary>
    public static TimeSpan RenewalBackoff(int failures) => RenewalRetry.AfterFailures(failures);

    /// <summary>Words a threshold for people: "30 days", "1 day", "12 hours".</summary>
    public static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays == Math.Floor(span.TotalDays)
            ? span.TotalDays == 1 ? "1 day" : $"{span.TotalDays:0} days"
            : span.TotalHours >= 1 ? $"{span.TotalHours:0.#} hours" : $"{span.TotalMinutes:0} minutes";
}
