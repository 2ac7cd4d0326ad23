using Notary.Grains.Abstractions;

namespace Notary.Silo;

/// <summary>The host's log lines. Never a webhook URL (it may carry a token), a key or a password.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Unknown metric outcome \"{Outcome}\" for {Resource}: expected issued, renewed or failed; not counted")]
    public static partial void UnknownOutcome(ILogger logger, string outcome, ResourceKey resource);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Debug, Message = "Alert {Reason} on {Resource} delivered to the webhook (attempt {Attempt})")]
    public static partial void AlertDelivered(ILogger logger, string reason, ResourceKey resource, int attempt);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Alert {Reason} on {Resource}: the webhook failed ({Failure}) on attempt {Attempt} of {MaxAttempts}; trying again in {Delay}")]
    public static partial void AlertRetry(ILogger logger, string reason, ResourceKey resource, string failure, int attempt, int maxAttempts, TimeSpan delay);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Error, Message = "Alert {Reason} on {Resource} was not delivered: the webhook answered {Failure}, which a retry cannot fix; check Notary:Alerts:WebhookUrl and the receiver")]
    public static partial void AlertRejected(ILogger logger, string reason, ResourceKey resource, string failure);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Error, Message = "Alert {Reason} on {Resource} was not delivered after {Attempts} attempts; last failure: {Failure}")]
    public static partial void AlertGaveUp(ILogger logger, string reason, ResourceKey resource, int attempts, string failure);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Warning, Message = "The alert queue is full ({Capacity}); dropped the oldest alert, {Reason} on {Resource}")]
    public static partial void AlertDropped(ILogger logger, int capacity, string reason, ResourceKey resource);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Warning, Message = "Notary is stopping; {Count} alert(s) were not delivered to the webhook")]
    public static partial void AlertsUndelivered(ILogger logger, int count);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Debug, Message = "Alert {Reason} on {Resource} not sent: no Notary:Alerts:WebhookUrl is configured")]
    public static partial void AlertNotConfigured(ILogger logger, string reason, ResourceKey resource);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Information, Message = "Alerts are sent to the webhook at {Host}")]
    public static partial void AlertsEnabled(ILogger logger, string host);
}
