using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>The watcher's log lines: resource names, versions, counts and error types, never object contents.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Listed {Resource}: {Count} objects, {Removed} gone since last seen, at resourceVersion {ResourceVersion}")]
    public static partial void Listed(ILogger logger, string resource, int count, int removed, string resourceVersion);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Watching {Resource} from resourceVersion {ResourceVersion}")]
    public static partial void Watching(ILogger logger, string resource, string? resourceVersion);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Watch of {Resource} ended after {Events} events; resuming from resourceVersion {ResourceVersion}")]
    public static partial void WatchClosed(ILogger logger, string resource, int events, string? resourceVersion);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Watch of {Resource} from resourceVersion {ResourceVersion} answered 410 Gone; listing again")]
    public static partial void WatchGone(ILogger logger, string resource, string? resourceVersion);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Watch of {Resource} failed ({ErrorType}): {Message}; reconnecting with backoff")]
    public static partial void WatchFailed(ILogger logger, string resource, string errorType, string message);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Watch of {Resource} lost its connection ({Message}); resuming from resourceVersion {ResourceVersion}")]
    public static partial void WatchInterrupted(ILogger logger, string resource, string message, string? resourceVersion);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Watch of {Resource} reported an error ({ErrorType}): {Message}")]
    public static partial void WatchError(ILogger logger, string resource, string errorType, string message);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Skipped {Resource} {Key}: it cannot be read ({Error})")]
    public static partial void ObjectUnreadable(ILogger logger, string resource, string key, string error);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Error, Message = "Handling an event of {Resource} {Key} failed ({ErrorType}): {Message}")]
    public static partial void EventFailed(ILogger logger, string resource, string key, string errorType, string message);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information, Message = "Resync: forwarding all {Count} {Resource} again")]
    public static partial void Resync(ILogger logger, string resource, int count);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "Forwarding {Resource} {Key} failed ({ErrorType}): {Message}; trying again in {Delay}")]
    public static partial void ForwardFailed(ILogger logger, string resource, string key, string errorType, string message, TimeSpan delay);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "Forwarded {Kind} {Resource} (uid {Uid}, generation {Generation}, resync {Resync})")]
    public static partial void ForwardedApply(ILogger logger, ResourceKind kind, ResourceKey resource, string uid, long generation, bool resync);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Information, Message = "Forwarded the deletion of {Kind} {Resource} (uid {Uid})")]
    public static partial void ForwardedDelete(ILogger logger, ResourceKind kind, ResourceKey resource, string uid);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Debug, Message = "Skipped {Kind} {Resource}: uid {Uid} generation {Generation} was already forwarded")]
    public static partial void Skipped(ILogger logger, ResourceKind kind, ResourceKey resource, string uid, long generation);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Information, Message = "Forwarded metadata Secret {Secret} ({Change})")]
    public static partial void ForwardedSecret(ILogger logger, ResourceKey secret, string change);

    [LoggerMessage(EventId = 3024, Level = LogLevel.Warning, Message = "Recording the cleanup Event of {Kind} {Resource} failed ({ErrorType}): {Message}")]
    public static partial void EventFailed(ILogger logger, ResourceKind kind, ResourceKey resource, string errorType, string message);

    [LoggerMessage(EventId = 3030, Level = LogLevel.Information, Message = "{Identity} now leads through Lease {Lease}: watching")]
    public static partial void StartedLeading(ILogger logger, string identity, string lease);

    [LoggerMessage(EventId = 3031, Level = LogLevel.Warning, Message = "{Identity} no longer leads through Lease {Lease}: stopped watching")]
    public static partial void StoppedLeading(ILogger logger, string identity, string lease);

    [LoggerMessage(EventId = 3035, Level = LogLevel.Information, Message = "{Identity} is shutting down: stopped watching and leading through Lease {Lease}")]
    public static partial void StoppedLeadingOnShutdown(ILogger logger, string identity, string lease);

    [LoggerMessage(EventId = 3032, Level = LogLevel.Information, Message = "Lease {Lease} is held by {Leader}")]
    public static partial void NewLeader(ILogger logger, string leader, string lease);

    [LoggerMessage(EventId = 3033, Level = LogLevel.Warning, Message = "Leader election on Lease {Lease} failed ({ErrorType}): {Message}")]
    public static partial void ElectionError(ILogger logger, string lease, string errorType, string message);

    [LoggerMessage(EventId = 3034, Level = LogLevel.Information, Message = "{Identity} released Lease {Lease}")]
    public static partial void Released(ILogger logger, string identity, string lease);

    [LoggerMessage(EventId = 2050, Level = LogLevel.Debug, Message = "Added finalizer {Finalizer} to {Kind} {Resource}")]
    public static partial void FinalizerAdded(ILogger logger, string finalizer, string kind, ResourceKey resource);

    [LoggerMessage(EventId = 2051, Level = LogLevel.Debug, Message = "Removed finalizer {Finalizer} from {Kind} {Resource}")]
    public static partial void FinalizerRemoved(ILogger logger, string finalizer, string kind, ResourceKey resource);

    [LoggerMessage(EventId = 2052, Level = LogLevel.Debug, Message = "{Kind} {Resource} changed while Notary patched its finalizers (attempt {Attempt}); reading it again")]
    public static partial void FinalizerConflict(ILogger logger, string kind, ResourceKey resource, int attempt);

    [LoggerMessage(EventId = 3043, Level = LogLevel.Warning, Message = "The first list of Breaches was not all forwarded within {Gate}: forwarding Certificates and stores anyway; a quarantine whose Breach is not yet forwarded may be missing from truststores until it is")]
    public static partial void BreachGateTimedOut(ILogger logger, TimeSpan gate);

    [LoggerMessage(EventId = 3051, Level = LogLevel.Information, Message = "Forwarded CA Secret {Secret} to issuer {Issuer} ({Change})")]
    public static partial void ForwardedCaSecret(ILogger logger, ResourceKey secret, string issuer, string change);

    [LoggerMessage(EventId = 3052, Level = LogLevel.Warning, Message = "The first list of Issuers and ClusterIssuers was not all forwarded within {Gate}: forwarding Certificates anyway; a Certificate may wait with IssuerNotReady until its issuer is forwarded")]
    public static partial void IssuerGateTimedOut(ILogger logger, TimeSpan gate);
}
