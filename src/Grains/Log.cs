using Microsoft.Extensions.Logging;

namespace Notary.Grains;

/// <summary>
/// Every log line the grains write. Arguments are identities, serials, reasons and counts:
/// never a key, a password or store bytes.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Certificate {Resource} issued: serial {Serial}, revision {Revision}, expires {NotAfter:O}")]
    public static partial void Issued(ILogger logger, string resource, string serial, long revision, DateTimeOffset notAfter);

    [LoggerMessage(2, LogLevel.Warning, "{Kind} {Resource} is not ready: {Reason}: {Message}")]
    public static partial void NotReady(ILogger logger, string kind, string resource, string reason, string message);

    [LoggerMessage(3, LogLevel.Error, "Certificate {Resource}: issuance failed ({ErrorType}): {Message}")]
    public static partial void IssueFailed(ILogger logger, string resource, string errorType, string message);

    [LoggerMessage(4, LogLevel.Information, "{Kind} {Resource} stored at {Location} (built from {Revisions})")]
    public static partial void Stored(ILogger logger, string kind, string resource, string location, string revisions);

    [LoggerMessage(5, LogLevel.Error, "{Kind} {Resource}: writing the store failed ({ErrorType}): {Message}")]
    public static partial void StoreFailed(ILogger logger, string kind, string resource, string errorType, string message);

    [LoggerMessage(6, LogLevel.Warning, "{Kind} {Resource}: publishing status failed ({ErrorType}): {Message}")]
    public static partial void StatusFailed(ILogger logger, string kind, string resource, string errorType, string message);

    [LoggerMessage(7, LogLevel.Information, "{Kind} {Resource} deleted")]
    public static partial void Deleted(ILogger logger, string kind, string resource);

    [LoggerMessage(8, LogLevel.Debug, "{Kind} {Resource}: ignored stale apply of generation {Generation} (current {Current})")]
    public static partial void Stale(ILogger logger, string kind, string resource, long generation, long current);

    [LoggerMessage(9, LogLevel.Warning, "{Kind} {Resource}: recording an event failed ({ErrorType}): {Message}")]
    public static partial void EventFailed(ILogger logger, string kind, string resource, string errorType, string message);

    [LoggerMessage(10, LogLevel.Warning, "Certificate {Resource}: retiring {Arn} at the issuer failed ({ErrorType}): {Message}")]
    public static partial void RetireFailed(ILogger logger, string resource, string arn, string errorType, string message);

    [LoggerMessage(1890, LogLevel.Warning, "Certificate {Resource}: revoking the compromised certificate {Arn} through {Issuer} failed {Failures} time(s); retried in {Delay}")]
    public static partial void RevocationRetried(ILogger logger, string resource, string arn, string issuer, int failures, TimeSpan delay);

    [LoggerMessage(1891, LogLevel.Information, "Certificate {Resource}: the compromised certificate {Arn} was revoked through {Issuer} after {Failures} failed attempt(s)")]
    public static partial void RevocationSucceeded(ILogger logger, string resource, string arn, string issuer, int failures);

    [LoggerMessage(1892, LogLevel.Warning, "Certificate {Resource}: registering or unregistering the retire reminder failed ({ErrorType}): {Message}")]
    public static partial void RetireReminderFailed(ILogger logger, string resource, string errorType, string message);

    [LoggerMessage(11, LogLevel.Warning, "Certificate {Resource}: alert {Reason}: {Message}")]
    public static partial void Alert(ILogger logger, string resource, string reason, string message);

    [LoggerMessage(12, LogLevel.Warning, "Certificate {Resource}: sending an alert failed ({ErrorType}): {Message}")]
    public static partial void AlertFailed(ILogger logger, string resource, string errorType, string message);

    [LoggerMessage(13, LogLevel.Warning, "Breach {Id}: {Mode} of certificate {Certificate} started, {Items} items")]
    public static partial void BreachStarted(ILogger logger, string id, string certificate, string mode, int items);

    [LoggerMessage(14, LogLevel.Warning, "Breach {Id} of certificate {Certificate}: {Phase}, {Failed} of {Items} items failed")]
    public static partial void BreachFinished(ILogger logger, string id, string certificate, string phase, int failed, int items);

    [LoggerMessage(15, LogLevel.Warning, "Breach {Id}: a step failed ({ErrorType}): {Message}")]
    public static partial void BreachStepFailed(ILogger logger, string id, string errorType, string message);

    [LoggerMessage(170, LogLevel.Information, "Breach {Id} of certificate {Certificate}: adopted as the API server records it ({Phase}); a finished breach is not run again")]
    public static partial void BreachAdopted(ILogger logger, string id, string certificate, string phase);

    [LoggerMessage(171, LogLevel.Information, "Breach {Id} of certificate {Certificate} was deleted: its state is cleared")]
    public static partial void BreachCleared(ILogger logger, string id, string certificate);

    [LoggerMessage(172, LogLevel.Warning, "Breach {Id}: writing its status failed ({ErrorType}): {Message}")]
    public static partial void BreachStatusFailed(ILogger logger, string id, string errorType, string message);

    [LoggerMessage(16, LogLevel.Warning, "{Kind} {Resource}: restarting the workloads that opted in to reloads failed ({ErrorType}): {Message}")]
    public static partial void ReloadFailed(ILogger logger, string kind, string resource, string errorType, string message);

    [LoggerMessage(17, LogLevel.Warning, "Certificate {Resource}: registering its lifecycle reminder failed ({ErrorType}): {Message}; the next apply or resync registers it")]
    public static partial void ReminderFailed(ILogger logger, string resource, string errorType, string message);

    [LoggerMessage(18, LogLevel.Warning, "Certificate {Resource}: registering or unregistering its continuation reminder failed ({ErrorType}): {Message}")]
    public static partial void ContinueReminderFailed(ILogger logger, string resource, string errorType, string message);

    [LoggerMessage(19, LogLevel.Error, "{Kind} {Resource}: rebuilding failed before writing ({ErrorType}): {Message}")]
    public static partial void ReconcileFailed(ILogger logger, string kind, string resource, string errorType, string message);

    [LoggerMessage(20, LogLevel.Warning, "{Kind} {Resource}: registering or unregistering its retry reminder failed ({ErrorType}): {Message}")]
    public static partial void RetryReminderFailed(ILogger logger, string kind, string resource, string errorType, string message);

    // 160-169: make-before-break rolls (a block of their own, so parallel additions do not collide).
    [LoggerMessage(160, LogLevel.Information, "Certificate {Resource}: roll of serial {Serial} started; the keystore switches at the latest at {Deadline:O}")]
    public static partial void RollStarted(ILogger logger, string resource, string serial, DateTimeOffset deadline);

    [LoggerMessage(161, LogLevel.Information, "Certificate {Resource}: keystores switched to serial {Serial} ({Cause}); {LeftBehind} truststore(s) left behind")]
    public static partial void RollSwitched(ILogger logger, string resource, string serial, string cause, int leftBehind);

    [LoggerMessage(162, LogLevel.Information, "Certificate {Resource}: previous serial {Serial} left the truststores")]
    public static partial void PreviousDropped(ILogger logger, string resource, string serial);

    [LoggerMessage(163, LogLevel.Warning, "Certificate {Resource}: registering or unregistering its roll reminder failed ({ErrorType}): {Message}")]
    public static partial void RollReminderFailed(ILogger logger, string resource, string errorType, string message);

    [LoggerMessage(164, LogLevel.Information, "Certificate {Resource}: private keys in its state encrypted under data key {KeyId} (state saved in the clear or under an older key)")]
    public static partial void KeysSealed(ILogger logger, string resource, string keyId);

    [LoggerMessage(165, LogLevel.Warning, "Certificate {Resource}: its private key in the grain state does not authenticate, the state was tampered with ({Error}); the certificate is issued again at its next apply")]
    public static partial void KeysUnreadable(ILogger logger, string resource, string error);

    [LoggerMessage(166, LogLevel.Error, "Certificate {Resource}: its state is encrypted under a data key this silo does not hold ({Error}); the activation fails and the state is kept")]
    public static partial void KeysUnderUnknownKey(ILogger logger, string resource, string error);

    // 1110-1114: renew now (annotation notary.dev/renew).
    [LoggerMessage(1110, LogLevel.Information, "Certificate {Resource}: renewal requested ({Token})")]
    public static partial void RenewRequested(ILogger logger, string resource, string token);

    [LoggerMessage(1111, LogLevel.Warning, "Certificate {Resource}: the renewal requested with {Token} was not started: {Why}")]
    public static partial void RenewRefused(ILogger logger, string resource, string token, string why);
}
