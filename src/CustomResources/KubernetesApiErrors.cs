using System.Net;
using System.Text.Json;
using k8s.Autorest;
using Notary.Grains.Abstractions.Ports;

namespace Notary.CustomResources;

/// <summary>
/// Reads API server errors. KubernetesClient's <see cref="HttpOperationException"/> keeps the
/// request (with its body: Secret data, a CA key) and puts the response body in its message, so
/// adapters that handle secrets describe failures from the response's Status alone and rethrow
/// them as <see cref="KubernetesApiException"/>, without the original as inner exception.
/// </summary>
public static class KubernetesApiErrors
{
    public static HttpStatusCode? StatusCodeOf(Exception exception) =>
        exception is HttpOperationException { Response: { } response } ? response.StatusCode : null;

    public static bool Is(this Exception exception, HttpStatusCode code) => StatusCodeOf(exception) == code;

    public static bool IsNotFound(this Exception exception) => exception.Is(HttpStatusCode.NotFound);

    public static bool IsConflict(this Exception exception) => exception.Is(HttpStatusCode.Conflict);

    /// <summary>"404 NotFound: secrets \"x\" not found", from the response's Status message only.</summary>
    public static string Describe(HttpOperationException exception)
    {
        var code = exception.Response?.StatusCode;
        var message = StatusMessage(exception.Response?.Content);
        var prefix = code is { } c ? $"{(int)c} {c}" : "no response";
        return message is null ? prefix : $"{prefix}: {message}";
    }

    /// <summary>A sanitized copy of an API error, safe to log and to put in a condition message.</summary>
    public static KubernetesApiException Sanitize(HttpOperationException exception, string doing) =>
        new(exception.Response?.StatusCode, $"{doing} failed: the API server answered {Describe(exception)}");

    private static string? StatusMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("message", out var message)
                && message.ValueKind == JsonValueKind.String
                ? message.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>An API server error, described without the request that caused it.</summary>
public sealed class KubernetesApiException : ExternalServiceException
{
    public KubernetesApiException() { }

    public KubernetesApiException(string message) : base(message) { }

    public KubernetesApiException(string message, Exception inner) : base(message, inner) { }

    public KubernetesApiException(HttpStatusCode? statusCode, string message) : base(statusCode, message) { }
}
