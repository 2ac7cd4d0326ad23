namespace Notary.Grains.Abstractions;

/// <summary>How callers of grains tell a silo that is down from other failures.</summary>
public static class ClusterFailures
{
    /// <summary>
    /// Longest retry delay after a call refused because a silo is down. Such a refusal comes back
    /// at once, and keeps coming until the membership declares the silo dead (seconds; under load,
    /// a minute): a delay doubling per refusal would reach half a minute or more during that time
    /// and leave the caller waiting up to twice the outage after the cluster has recovered.
    /// </summary>
    public static readonly TimeSpan MaxUnavailableSiloRetryDelay = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A call the cluster refused because the silo it went to is down or unreachable and not yet
    /// declared dead (Orleans' message rejection, SiloUnavailableException included): transient,
    /// and cheap to retry, since nothing reached a grain.
    /// </summary>
    public static bool IsUnavailableSilo(Exception ex) =>
        ex is OrleansMessageRejectionException || ex.InnerException is OrleansMessageRejectionException;
}
