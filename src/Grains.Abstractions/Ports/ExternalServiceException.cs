using System.Net;

namespace Notary.Grains.Abstractions.Ports;

/// <summary>
/// The service behind a port (the Kubernetes API server, AWS) refused a request or did not
/// answer. Adapters throw it (or a subclass) described without the request that caused it, so
/// that the message is safe to log and to show in a condition; callers of a port catch this
/// type, never an adapter's own.
/// </summary>
public class ExternalServiceException : Exception
{
    public ExternalServiceException() { }

    public ExternalServiceException(string message) : base(message) { }

    public ExternalServiceException(string message, Exception inner) : base(message, inner) { }

    public ExternalServiceException(HttpStatusCode? statusCode, string message) : base(message) => StatusCode = statusCode;

    public ExternalServiceException(HttpStatusCode? statusCode, string message, Exception inner) : base(message, inner) => StatusCode = statusCode;

    /// <summary>The HTTP status the service answered with; null when there was no answer.</summary>
    public HttpStatusCode? StatusCode { get; }
}
