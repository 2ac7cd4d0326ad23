using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Restarts;

/// <summary>
/// The log lines of workload restarts. The messages the Kubernetes restarter wrote before the
/// policy moved into the grains keep their event ids (2061-2067), so that log queries keep
/// working; 2064 ("dropped: Notary is stopping") is retired, since a deferred restart no longer
/// is; new messages take new ids.
/// </summary>
internal static partial class RestartLog
{
    [LoggerMessage(EventId = 2061, Level = LogLevel.Debug, Message = "{Workload} uses a changed Secret but is not annotated notary.dev/reload: \"true\"; not restarted")]
    public static partial void NotOptedIn(ILogger logger, WorkloadRef workload);

    [LoggerMessage(EventId = 2062, Level = LogLevel.Information, Message = "{Workload} was restarted less than {Interval} ago; its restart is deferred to {Until:O}")]
    public static partial void Deferred(ILogger logger, WorkloadRef workload, DateTimeOffset until, TimeSpan interval);

    [LoggerMessage(EventId = 2063, Level = LogLevel.Warning, Message = "Could not restart {Workload}: {Error}")]
    public static partial void Failed(ILogger logger, WorkloadRef workload, string error);

    [LoggerMessage(EventId = 2080, Level = LogLevel.Warning, Message = "Could not register the reminder of the deferred restart of {Workload} ({ErrorType}): {Error}; it happens only if this activation lives until {Until:O}")]
    public static partial void ReminderFailed(ILogger logger, WorkloadRef workload, string errorType, string error, DateTimeOffset until);

    [LoggerMessage(EventId = 2065, Level = LogLevel.Debug, Message = "{Workload} is gone; not restarted")]
    public static partial void Gone(ILogger logger, WorkloadRef workload);

    [LoggerMessage(EventId = 2066, Level = LogLevel.Information, Message = "{Workload} was restarted at {RestartedAt:O}, after the change; its deferred restart is not needed")]
    public static partial void Unneeded(ILogger logger, WorkloadRef workload, DateTimeOffset restartedAt);

    [LoggerMessage(EventId = 2067, Level = LogLevel.Error, Message = "The deferred restart of {Workload} failed ({ErrorType}): {Error}; it is dropped")]
    public static partial void DeferredFailed(ILogger logger, WorkloadRef workload, string errorType, string error);

    [LoggerMessage(EventId = 2081, Level = LogLevel.Warning, Message = "Could not unregister the deferred restart reminder of {Workload} ({ErrorType}): {Error}; it finds nothing to do when it comes")]
    public static partial void ReminderNotRemoved(ILogger logger, WorkloadRef workload, string errorType, string error);
}
