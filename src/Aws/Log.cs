using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;

namespace Notary.Aws;

/// <summary>The AWS adapters' log lines: services, operations, error codes and secret names only; never a body, a key or a secret value.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "AWS {Service} {Operation} attempt {Attempt}/{MaxAttempts} failed with {ErrorCode} (HTTP {Status}); retrying in {DelayMs:0} ms")]
    public static partial void Retrying(ILogger logger, string service, string operation, int attempt, int maxAttempts, string errorCode, int? status, double delayMs);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "AWS {Service} {Operation} gave up after {Attempts} attempts; the last failed with {ErrorCode}")]
    public static partial void RetriesExhausted(ILogger logger, string service, string operation, int attempts, string errorCode);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "AWS {Service} {Operation} failed with {ErrorCode} (HTTP {Status}) at attempt {Attempt}; not retryable")]
    public static partial void CallFailed(ILogger logger, string service, string operation, int attempt, string errorCode, int? status);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Created secret {Secret} for {Kind} {Resource}")]
    public static partial void SecretCreated(ILogger logger, string secret, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Wrote a new version of secret {Secret} for {Kind} {Resource}")]
    public static partial void SecretUpdated(ILogger logger, string secret, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Restored secret {Secret} of {Kind} {Resource}, which was scheduled for deletion")]
    public static partial void SecretRestored(ILogger logger, string secret, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "Refused to write secret {Secret}: {Reason}")]
    public static partial void SecretRefused(ILogger logger, string secret, string reason);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Information, Message = "Scheduled secret {Secret} of {Kind} {Resource} for deletion in {Days} days")]
    public static partial void SecretDeleted(ILogger logger, string secret, ResourceKind kind, ResourceKey resource, int days);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Debug, Message = "Secret {Secret} of {Kind} {Resource} was already gone")]
    public static partial void SecretAlreadyGone(ILogger logger, string secret, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Debug, Message = "Secret {Secret} of {Kind} {Resource} was already scheduled for deletion")]
    public static partial void SecretAlreadyScheduled(ILogger logger, string secret, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 3017, Level = LogLevel.Warning, Message = "Left secret {Secret} in place when deleting {Kind} {Resource}: {Reason}")]
    public static partial void SecretNotOurs(ILogger logger, string secret, ResourceKind kind, ResourceKey resource, string reason);

    [LoggerMessage(EventId = 3018, Level = LogLevel.Debug, Message = "Secret {Secret} appeared between describing and creating it; writing a new version instead")]
    public static partial void SecretCreatedConcurrently(ILogger logger, string secret);

    [LoggerMessage(EventId = 3019, Level = LogLevel.Warning, Message = "Secrets Manager {Operation} on {Secret} failed: {ErrorCode}")]
    public static partial void SecretCallFailed(ILogger logger, string operation, string secret, string errorCode);
}
