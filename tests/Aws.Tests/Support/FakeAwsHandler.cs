using System.Net;
using System.Text;

namespace Notary.Aws.Tests.Support;

/// <summary>A request as the fake handler saw it on the wire.</summary>
public sealed record CapturedRequest(HttpMethod Method, Uri Uri, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string Header(string name) => Headers.TryGetValue(name, out var value) ? value : "";

    public string Operation => Header("X-Amz-Target") is var target && target.Contains('.', StringComparison.Ordinal) ? target[(target.LastIndexOf('.') + 1)..] : target;
}

/// <summary>
/// An in-process AWS endpoint for unit tests: records every request (headers and body as sent)
/// and answers from a queue of responders, then from <see cref="Default"/>.
/// </summary>
public sealed class FakeAwsHandler : HttpMessageHandler
{
    private readonly Queue<Func<CapturedRequest, HttpResponseMessage>> _queue = new();
    private readonly List<CapturedRequest> _requests = [];

    /// <summary>Answers requests nothing was queued for (default: 200 "{}").</summary>
    public Func<CapturedRequest, HttpResponseMessage> Default { get; set; } = _ => Json("{}");

    public IReadOnlyList<CapturedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public FakeAwsHandler Then(Func<CapturedRequest, HttpResponseMessage> responder)
    {
        lock (_queue)
        {
            _queue.Enqueue(responder);
        }

        return this;
    }

    public FakeAwsHandler Then(Func<HttpResponseMessage> responder) => Then(_ => responder());

    public static HttpResponseMessage Json(string json, HttpStatusCode status = HttpStatusCode.OK) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/x-amz-json-1.1") };

    public static HttpResponseMessage Error(HttpStatusCode status, string code, string message) =>
        Json($$"""{"__type":"{{code}}","message":"{{message}}"}""", status);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in request.Headers)
        {
            headers[header.Key] = string.Join(",", header.Value);
        }

        var body = "";
        if (request.Content is not null)
        {
            foreach (var header in request.Content.Headers)
            {
                headers[header.Key] = string.Join(",", header.Value);
            }

            body = await request.Content.ReadAsStringAsync(cancellationToken);
        }

        headers["Host"] = request.Headers.Host ?? request.RequestUri!.Authority;
        var captured = new CapturedRequest(request.Method, request.RequestUri!, headers, body);
        lock (_requests)
        {
            _requests.Add(captured);
        }

        Func<CapturedRequest, HttpResponseMessage> responder;
        lock (_queue)
        {
            responder = _queue.Count > 0 ? _queue.Dequeue() : Default;
        }

        return responder(captured);
    }
}
