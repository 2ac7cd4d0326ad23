using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Adapters.Kubernetes;

/// <summary>The adapters' log lines. Names, kinds and status codes only: never Secret data or keys.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Wrote the status of {Kind} {Resource}")]
    public static partial void StatusWritten(ILogger logger, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "{Kind} {Resource} is gone; its status was not written")]
    public static partial void StatusTargetGone(ILogger logger, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Debug, Message = "Recorded {Type} Event {Reason} on {Kind} {Resource} (count {Count})")]
    public static partial void EventRecorded(ILogger logger, string type, string reason, string kind, string resource, int count);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Debug, Message = "{Kind} {Resource} is gone; its Event {Reason} is recorded without a uid")]
    public static partial void EventTargetGone(ILogger logger, ResourceKind kind, ResourceKey resource, string reason);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Information, Message = "Created Secret {Secret} for {Kind} {Resource}")]
    public static partial void SecretCreated(ILogger logger, string secret, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Information, Message = "Replaced Secret {Secret} for {Kind} {Resource}")]
    public static partial void SecretReplaced(ILogger logger, string secret, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Debug, Message = "Secret {Secret} changed while Notary wrote it (attempt {Attempt}); trying again")]
    public static partial void SecretConflict(ILogger logger, string secret, int attempt);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Warning, Message = "Refused to write Secret {Secret}: {Reason}")]
    public static partial void SecretRefused(ILogger logger, string secret, string reason);

    [LoggerMessage(EventId = 2024, Level = LogLevel.Information, Message = "Deleted Secret {Secret} of {Kind} {Resource}")]
    public static partial void SecretDeleted(ILogger logger, string secret, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 2025, Level = LogLevel.Debug, Message = "Secret {Secret} of {Kind} {Resource} was already gone")]
    public static partial void SecretAlreadyGone(ILogger logger, string secret, ResourceKind kind, ResourceKey resource);

    [LoggerMessage(EventId = 2026, Level = LogLevel.Warning, Message = "Left Secret {Secret} in place when deleting {Kind} {Resource}: {Reason}")]
    public static partial void SecretNotOurs(ILogger logger, string secret, ResourceKind kind, ResourceKey resource, string reason);

    [LoggerMessage(EventId = 2030, Level = LogLevel.Information, Message = "Loaded the built-in CA from Secret {Secret}: {Authority}")]
    public static partial void CaLoaded(ILogger logger, string secret, CertificateAuthority authority);

    [LoggerMessage(EventId = 2031, Level = LogLevel.Information, Message = "Created the built-in CA in Secret {Secret}: {Authority}")]
    public static partial void CaCreated(ILogger logger, string secret, CertificateAuthority authority);

    [LoggerMessage(EventId = 2032, Level = LogLevel.Information, Message = "Another Notary instance created the built-in CA Secret {Secret} first; using that one")]
    public static partial void CaLostRace(ILogger logger, string secret);

    [LoggerMessage(EventId = 2033, Level = LogLevel.Warning, Message = "Rotated the built-in root CA in Secret {Secret} ({Why}): new root {Authority}; the previous root stays in the Secret (previous.crt) and is still trusted")]
    public static partial void CaRotated(ILogger logger, string secret, string why, CertificateAuthority authority);

    [LoggerMessage(EventId = 2096, Level = LogLevel.Warning, Message = "The built-in root CA in Secret {Secret} was replaced by hand; the replaced root {Authority} is treated as compromised: nothing more is signed with it, issuances wait until the new root is trusted")]
    public static partial void CaReplacedByHand(ILogger logger, string secret, CertificateAuthority authority);

    [LoggerMessage(EventId = 2034, Level = LogLevel.Information, Message = "Another Notary instance rotated the built-in root CA in Secret {Secret}; using the new root {Authority}")]
    public static partial void CaRotatedElsewhere(ILogger logger, string secret, CertificateAuthority authority);

    [LoggerMessage(EventId = 2035, Level = LogLevel.Warning, Message = "Secret {Secret} holds an imported CA ({Why}): Notary does not replace a CA it did not create; import the new CA yourself (kubectl -n NAMESPACE create secret tls ... --dry-run=client -o yaml | kubectl apply -f -)")]
    public static partial void CaNotRotatedImported(ILogger logger, string secret, string why);

    [LoggerMessage(EventId = 2036, Level = LogLevel.Warning, Message = "Secret {Secret} holds a previous root (previous.crt, previous.key) Notary cannot use ({Failure}): during the built-in root's CA rotation, new certificates wait until every store trusts the new root instead of being signed by the previous one")]
    public static partial void CaPreviousUnusable(ILogger logger, string secret, string failure);

    [LoggerMessage(EventId = 2060, Level = LogLevel.Information, Message = "Restarted {Workload} (uses Secret {Secrets}): {Reason}")]
    public static partial void WorkloadRestarted(ILogger logger, WorkloadRef workload, string secrets, string reason);

    [LoggerMessage(EventId = 2068, Level = LogLevel.Warning, Message = "Restarted {Workload} but could not record its Event: {Error}")]
    public static partial void RestartEventFailed(ILogger logger, WorkloadRef workload, string error);

    [LoggerMessage(EventId = 2070, Level = LogLevel.Debug, Message = "TokenReview did not authenticate a caller: {Error}")]
    public static partial void TokenNotAuthenticated(ILogger logger, string error);

    [LoggerMessage(EventId = 2072, Level = LogLevel.Debug, Message = "TokenReview authenticated a caller but did not confirm the token for the audiences {Audiences}; refused")]
    public static partial void TokenAudienceNotConfirmed(ILogger logger, string audiences);

    [LoggerMessage(EventId = 2071, Level = LogLevel.Debug, Message = "SubjectAccessReview: {User} {Verb} {Resource}.{Group} in namespace {Namespace}: allowed {Allowed}")]
    public static partial void AccessReviewed(ILogger logger, string user, string verb, string resource, string group, string @namespace, bool allowed);

    [LoggerMessage(EventId = 2090, Level = LogLevel.Debug, Message = "Wrote the status of Breach {Resource}")]
    public static partial void BreachStatusWritten(ILogger logger, ResourceKey resource);

    [LoggerMessage(EventId = 2091, Level = LogLevel.Debug, Message = "Breach {Resource} is gone or was created again; its status was not written")]
    public static partial void BreachGone(ILogger logger, ResourceKey resource);
}
