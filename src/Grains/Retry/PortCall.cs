namespace Notary.Grains.Retry;

/// <summary>
/// The step timeout: one call to a port (the issuer, the secret store, the restarter) is bounded
/// well inside Orleans' 30 s call timeout, so that a slow dependency (a cloud API retrying
/// throttled calls) fails this turn and is retried later, instead of making every caller of the
/// grain (the watcher, subscribing stores) time out.
/// </summary>
internal static class PortCall
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>A token that cancels after <see cref="Timeout"/> on the grain's clock.</summary>
    public static CancellationTokenSource Start(TimeProvider time) => new(Timeout, time);
}
