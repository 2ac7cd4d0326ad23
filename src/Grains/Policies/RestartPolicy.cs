namespace Notary.Grains.Policies;

/// <summary>
/// The rate limit of workload restarts, as pure functions of the time and what is known of the
/// last restart: one restart per interval; a request inside the interval waits for its end.
/// </summary>
public static class RestartPolicy
{
    /// <summary>
    /// When the workload may restart: null for now, otherwise the end of the interval that
    /// started with the last restart. The last restart is the later of the one the grain did
    /// (<paramref name="lastRestart"/>) and the one the workload's annotation records
    /// (<paramref name="annotated"/>: another Notary instance, or this one before its state
    /// existed). An annotation in the future (another instance's clock, a hand edit) counts as
    /// now, so it delays a restart by at most one interval. A zero interval turns the limit off.
    /// </summary>
    public static DateTimeOffset? DeferUntil(DateTimeOffset now, DateTimeOffset? lastRestart, DateTimeOffset? annotated, TimeSpan interval)
    {
        var seen = annotated is { } a ? new[] { a, now }.Min() : (DateTimeOffset?)null;
        var last = new[] { lastRestart, seen }.Max();
        return last is { } l && interval > TimeSpan.Zero && now - l < interval ? l + interval : null;
    }

    /// <summary>
    /// Whether a deferred restart has become unnecessary: the workload was restarted (its
    /// annotation, whole seconds) after the first request it coalesces, so its pods already see
    /// the change. A restart within the same second as the request does not count: it may have
    /// been before it.
    /// </summary>
    public static bool RestartedSince(DateTimeOffset? annotated, DateTimeOffset firstRequestedAt) =>
        annotated is { } at && at > TruncateToSeconds(firstRequestedAt);

    /// <summary>The annotation's precision: whole seconds.</summary>
    public static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
