using Microsoft.Extensions.Logging;

namespace Notary.CustomResources;

/// <summary>Log lines of the shared Kubernetes helpers.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2040, Level = LogLevel.Information, Message = "Created namespace {Namespace}")]
    public static partial void NamespaceCreated(ILogger logger, string @namespace);
}
