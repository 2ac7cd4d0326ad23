namespace Notary.Silo;

/// <summary>The breach API's log lines: who, what, outcome. Never a token.</summary>
internal static partial class BreachLog
{
    [LoggerMessage(EventId = 5001, Message = "Breach API {Action} {Target} by {Caller}: {Status} {Outcome}")]
    public static partial void Call(ILogger logger, LogLevel level, string action, string target, string caller, int status, string outcome);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "Breach API {Action} {Target} by {Caller}: the breach service failed")]
    public static partial void ServiceFailed(ILogger logger, Exception exception, string action, string target, string caller);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "Breach API {Action} {Target}: {Review} failed: {Error}")]
    public static partial void ReviewFailed(ILogger logger, string review, string action, string target, string error);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Could not record Event {Reason} on Certificate {Certificate}: {ErrorType}: {Error}")]
    public static partial void EventNotRecorded(ILogger logger, string reason, string certificate, string errorType, string error);
}
