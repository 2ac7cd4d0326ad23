using System.Net;

namespace Notary.Aws;

/// <summary>
/// A call to an AWS service that did not succeed: the service's error code and message as AWS
/// worded them, or a transport failure (ConnectionFailure, RequestTimeout) when no answer came.
/// <see cref="Exception.Message"/> is <c>"{ErrorCode}: {AwsMessage}"</c>, built from the error
/// response only; AWS never puts request values such as a secret or a passphrase in its error
/// messages, and this client never includes a request or response body, so it is safe to log
/// and to show in a resource's status.
/// </summary>
public sealed class AwsServiceException : Exception
{
    public AwsServiceException() : this("Unknown", "Unknown", "The AWS call failed.", null, retryable: false) { }

    public AwsServiceException(string message) : this("Unknown", "Unknown", message, null, retryable: false) { }

    public AwsServiceException(string message, Exception innerException) : base(message, innerException)
    {
        Operation = "Unknown";
        ErrorCode = "Unknown";
        AwsMessage = message;
    }

    public AwsServiceException(
        string operation,
        string errorCode,
        string awsMessage,
        HttpStatusCode? statusCode,
        bool retryable,
        int attempts = 1,
        string? requestId = null,
        Exception? innerException = null)
        : base(Describe(errorCode, awsMessage, retryable, attempts), innerException)
    {
        Operation = operation;
        ErrorCode = errorCode;
        AwsMessage = awsMessage;
        StatusCode = statusCode;
        Retryable = retryable;
        Attempts = attempts;
        RequestId = requestId;
    }

    /// <summary>The operation called, e.g. <c>CreateSecret</c>.</summary>
    public string Operation { get; }

    /// <summary>The AWS error code, e.g. <c>AccessDeniedException</c>, or <c>ConnectionFailure</c> / <c>RequestTimeout</c> when no answer came.</summary>
    public string ErrorCode { get; }

    /// <summary>The error message exactly as the service worded it.</summary>
    public string AwsMessage { get; }

    /// <summary>The HTTP status of the last answer; null when none came.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>
    /// True when the failure was transient (throttling, 5xx, connection, timeout) and the client
    /// gave up after its attempts: the caller may try again later. False: retrying the same
    /// request cannot help until something is changed.
    /// </summary>
    public bool Retryable { get; }

    /// <summary>HTTP attempts made before giving up.</summary>
    public int Attempts { get; }

    /// <summary>The x-amzn-RequestId of the last answer, for AWS support; null when none came.</summary>
    public string? RequestId { get; }

    private static string Describe(string errorCode, string awsMessage, bool retryable, int attempts) =>
        retryable && attempts > 1
            ? $"{errorCode}: {awsMessage} (gave up after {attempts} attempts)"
            : $"{errorCode}: {awsMessage}";
}
