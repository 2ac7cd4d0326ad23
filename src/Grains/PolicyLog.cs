using Microsoft.Extensions.Logging;

namespace Notary.Grains;

/// <summary>The name policy's log lines (event ids 900+, apart from <see cref="Log"/>'s).</summary>
internal static partial class PolicyLog
{
    [LoggerMessage(900, LogLevel.Information, "CertificatePolicy {Name} applied (generation {Generation}); waking {Waiting} refused certificates")]
    public static partial void Applied(ILogger logger, string name, long generation, int waiting);

    [LoggerMessage(901, LogLevel.Information, "CertificatePolicy {Name} deleted; waking {Waiting} refused certificates")]
    public static partial void Deleted(ILogger logger, string name, int waiting);

    [LoggerMessage(902, LogLevel.Warning, "CertificatePolicy {Name} is invalid and ignored: {Problem}")]
    public static partial void Invalid(ILogger logger, string name, string problem);

    [LoggerMessage(903, LogLevel.Warning, "CertificatePolicy {Name}: writing its status failed ({ErrorType}): {Message}")]
    public static partial void StatusFailed(ILogger logger, string name, string errorType, string message);

    [LoggerMessage(904, LogLevel.Information, "CertificatePolicy {Name} no longer exists (missing from the watcher's list): deleted; waking {Waiting} refused certificates")]
    public static partial void Pruned(ILogger logger, string name, int waiting);
}
