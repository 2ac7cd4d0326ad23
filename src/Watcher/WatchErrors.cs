using System.Net;
using k8s;
using k8s.Autorest;

namespace Notary.Watcher;

/// <summary>
/// How a list or watch failed, as every watch loop needs to tell it: the informer here, and the
/// benchmarks' client watch (bench/Bench ReadyWatch), which re-watches the same way.
/// </summary>
internal static class WatchErrors
{
    /// <summary>410 Gone: the resourceVersion is too old (an ERROR event or the request's answer); relist.</summary>
    public static bool IsGone(Exception exception) => exception switch
    {
        HttpOperationException { Response.StatusCode: HttpStatusCode.Gone } => true,
        KubernetesException { Status: { } status } => status.Code == (int)HttpStatusCode.Gone || status.Reason is "Expired" or "Gone",
        _ => exception.InnerException is { } inner && IsGone(inner),
    };

    /// <summary>The connection failed or broke.</summary>
    public static bool IsTransport(Exception exception) =>
        exception is HttpRequestException or IOException || (exception.InnerException is { } inner && IsTransport(inner));

    /// <summary>The server ended the watch before its first line.</summary>
    public static bool IsEndOfStream(Exception exception) =>
        exception is EndOfStreamException || (exception.InnerException is { } inner && IsEndOfStream(inner));
}
