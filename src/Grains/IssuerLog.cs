using Microsoft.Extensions.Logging;

namespace Notary.Grains;

// Log lines of the issuer grain and of certificates that name an issuer (ids 180-189).
internal static partial class Log
{
    [LoggerMessage(180, LogLevel.Information, "Issuer {Issuer} is ready (CA {Fingerprint})")]
    public static partial void IssuerReady(ILogger logger, string issuer, string fingerprint);

    [LoggerMessage(181, LogLevel.Warning, "Issuer {Issuer}: loading its CA failed ({ErrorType}): {Message}; retried with backoff")]
    public static partial void IssuerLoadFailed(ILogger logger, string issuer, string errorType, string message);

    [LoggerMessage(182, LogLevel.Information, "Issuer {Issuer}: its CA changed from {From} to {To}; the CA rotation re-issues {Count} certificates")]
    public static partial void IssuerCaRotation(ILogger logger, string issuer, string from, string to, int count);

    [LoggerMessage(183, LogLevel.Warning, "Issuer {Issuer}: calling its CA rotation failed ({ErrorType}): {Message}")]
    public static partial void IssuerRotationCallFailed(ILogger logger, string issuer, string errorType, string message);

    [LoggerMessage(184, LogLevel.Information, "Issuer {Issuer} is ready: waking {Count} waiting certificates")]
    public static partial void IssuerWakes(ILogger logger, string issuer, int count);

    [LoggerMessage(185, LogLevel.Information, "Issuer {Issuer} deleted")]
    public static partial void IssuerDeleted(ILogger logger, string issuer);

    [LoggerMessage(186, LogLevel.Debug, "Issuer {Issuer} is not ready: nothing to retire for {Arn}")]
    public static partial void IssuerRetireSkipped(ILogger logger, string issuer, string arn);

    [LoggerMessage(187, LogLevel.Warning, "Issuer {Issuer}: registering or unregistering its retry reminder failed ({ErrorType}): {Message}")]
    public static partial void IssuerRetryReminderFailed(ILogger logger, string issuer, string errorType, string message);

    [LoggerMessage(188, LogLevel.Information, "Certificate {Resource} waits for {Issuer}: {Reason}")]
    public static partial void WaitsForIssuer(ILogger logger, string resource, string issuer, string reason);

    [LoggerMessage(189, LogLevel.Warning, "Notary's built-in root CA: {Reason}: {Message}")]
    public static partial void BuiltinRootEvent(ILogger logger, string reason, string message);

    [LoggerMessage(1893, LogLevel.Warning, "Issuer {Issuer}: checking the built-in root for a change failed ({ErrorType}): {Message}; checked again at the next reminder or issuance")]
    public static partial void RootCheckFailed(ILogger logger, string issuer, string errorType, string message);

    [LoggerMessage(1894, LogLevel.Warning, "Issuer {Issuer}: writing the certificates it recorded failed ({ErrorType}): {Message}; the watcher's resync records them again")]
    public static partial void IssuerFlushFailed(ILogger logger, string issuer, string errorType, string message);
}
