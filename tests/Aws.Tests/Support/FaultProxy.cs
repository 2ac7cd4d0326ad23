using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Notary.Aws.Tests.Support;

/// <summary>What the proxy does to one request instead of (or besides) forwarding it.</summary>
public enum FaultKind
{
    /// <summary>Answer with an error status and body without forwarding.</summary>
    Error,

    /// <summary>Drop the connection without forwarding: the service never saw the request.</summary>
    DropBeforeForward,

    /// <summary>Forward, then drop the connection: the service did the work, the client sees a failure.</summary>
    DropAfterForward,

    /// <summary>Wait <see cref="Fault.Delay"/>, then forward.</summary>
    SlowBeforeForward,

    /// <summary>Forward, then wait <see cref="Fault.Delay"/> before answering: the work is done, the answer is late.</summary>
    SlowAfterForward,
}

/// <summary>One injected fault.</summary>
public sealed record Fault(FaultKind Kind, TimeSpan Delay = default, int StatusCode = 0, string? ErrorCode = null, string? Message = null, bool JsonBody = true)
{
    /// <summary>HTTP 400 <c>{"__type":"ThrottlingException","message":"Rate exceeded"}</c>, as AWS throttles.</summary>
    public static Fault Throttle() => new(FaultKind.Error, StatusCode: 400, ErrorCode: "ThrottlingException", Message: "Rate exceeded");

    /// <summary>HTTP 500 with an InternalFailure JSON body.</summary>
    public static Fault InternalError() => new(FaultKind.Error, StatusCode: 500, ErrorCode: "InternalFailure", Message: "Injected internal failure");

    /// <summary>HTTP 503 with a plain-text body, as a load balancer in front of a service answers.</summary>
    public static Fault Unavailable() => new(FaultKind.Error, StatusCode: 503, Message: "Service Unavailable", JsonBody: false);

    /// <summary>Any AWS-style error answer, e.g. 400 AccessDeniedException.</summary>
    public static Fault Error(int statusCode, string errorCode, string message) => new(FaultKind.Error, StatusCode: statusCode, ErrorCode: errorCode, Message: message);

    public static Fault DropBeforeForward() => new(FaultKind.DropBeforeForward);

    public static Fault DropAfterForward() => new(FaultKind.DropAfterForward);

    public static Fault SlowBeforeForward(TimeSpan delay) => new(FaultKind.SlowBeforeForward, delay);

    public static Fault SlowAfterForward(TimeSpan delay) => new(FaultKind.SlowAfterForward, delay);

    public override string ToString() => Kind == FaultKind.Error ? $"Error {StatusCode} {ErrorCode}" : Delay > TimeSpan.Zero ? $"{Kind} {Delay.TotalMilliseconds:0} ms" : Kind.ToString();
}

/// <summary>Decides the fault (or none) for each request; must be deterministic so tests are reproducible.</summary>
public interface IFaultPlan
{
    /// <param name="operation">The request's operation (X-Amz-Target suffix, or the form's Action).</param>
    /// <param name="operationRequest">1 for the first request of that operation through the proxy, 2 for the next…</param>
    /// <param name="request">1 for the first request through the proxy, 2 for the next…</param>
    Fault? Next(string operation, int operationRequest, int request);
}

/// <summary>Ready-made deterministic plans.</summary>
public static class FaultPlan
{
    /// <summary>Forward everything.</summary>
    public static IFaultPlan None { get; } = new Delegating((_, _, _) => null);

    /// <summary>Requests number n, 2n, 3n… (counted over all operations) get the faults in turn, cycling.</summary>
    public static IFaultPlan EveryNth(int n, params Fault[] cycle)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfZero(cycle.Length);
        return new Delegating((_, _, request) => request % n == 0 ? cycle[(request / n - 1) % cycle.Length] : null);
    }

    /// <summary>Every request of <paramref name="operation"/> gets <paramref name="fault"/>; others pass.</summary>
    public static IFaultPlan Always(string operation, Fault fault) =>
        new Delegating((op, _, _) => op == operation ? fault : null);

    /// <summary>Any plan as a function.</summary>
    public static IFaultPlan From(Func<string, int, int, Fault?> next) => new Delegating(next);

    private sealed class Delegating(Func<string, int, int, Fault?> next) : IFaultPlan
    {
        public Fault? Next(string operation, int operationRequest, int request) => next(operation, operationRequest, request);
    }
}

/// <summary>
/// One request the proxy received. Headers only: bodies may hold secrets and are not kept, only
/// the identifier of the resource the request is about (<see cref="Resource"/>: the body's
/// CertificateArn, SecretId, DomainName or Name) and a digest of the body (<see cref="BodyDigest"/>:
/// equal for every attempt of one call, since a client retries the same body).
/// </summary>
public sealed record ProxiedRequest(
    int Number,
    string Operation,
    string? Authorization,
    string? SecurityToken,
    Fault? Fault,
    int? UpstreamStatus,
    bool Delivered,
    string? Resource = null,
    string? BodyDigest = null,
    IReadOnlyDictionary<string, string>? AssumeRoleParameters = null);

/// <summary>
/// A local HTTP reverse proxy (Kestrel on 127.0.0.1, a free port) in front of a service such as
/// moto: it counts requests per operation and injects faults by a deterministic plan (throttling,
/// 5xx, dropped connections before or after forwarding, slow answers). Queued faults for an
/// operation (<see cref="Enqueue"/>) come first; otherwise <see cref="Plan"/> decides. Reusable by
/// end-to-end tests: <see cref="OnDelivered"/> runs right after an answer reached the client
/// (e.g. to kill a silo right after RequestCertificate succeeded).
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly Uri _upstream;
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(60) };
    private readonly object _lock = new();
    private readonly Dictionary<string, Queue<Fault>> _queued = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly List<ProxiedRequest> _requests = [];
    private WebApplication? _app;
    private int _total;

    private FaultProxy(Uri upstream) => _upstream = upstream;

    /// <summary>The proxy's base URL; give it to a client as its ServiceUrl.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>Decides faults for requests that have none queued (default: none).</summary>
    public IFaultPlan Plan { get; set; } = FaultPlan.None;

    /// <summary>Called after a forwarded answer was written completely to the client.</summary>
    public Func<ProxiedRequest, Task>? OnDelivered { get; set; }

    /// <summary>
    /// Called when the service has answered, before the answer goes back to the client: e.g. to
    /// kill the client between the service doing the work and the client learning of it.
    /// </summary>
    public Func<ProxiedRequest, Task>? OnAnswered { get; set; }

    /// <summary>Starts a proxy to <paramref name="upstream"/>.</summary>
    public static async Task<FaultProxy> StartAsync(Uri upstream)
    {
        var proxy = new FaultProxy(upstream);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(proxy.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy.Url = new Uri(address.EndsWith('/') ? address : address + "/");
        proxy._app = app;
        return proxy;
    }

    /// <summary>The next requests of <paramref name="operation"/> get these faults, in order, before the plan is asked.</summary>
    public void Enqueue(string operation, params Fault[] faults)
    {
        lock (_lock)
        {
            if (!_queued.TryGetValue(operation, out var queue))
            {
                _queued[operation] = queue = new Queue<Fault>();
            }

            foreach (var fault in faults)
            {
                queue.Enqueue(fault);
            }
        }
    }

    /// <summary>Requests received for <paramref name="operation"/>, faulted ones included.</summary>
    public int Count(string operation)
    {
        lock (_lock)
        {
            return _counts.TryGetValue(operation, out var count) ? count : 0;
        }
    }

    /// <summary>Requests received, per operation.</summary>
    public IReadOnlyDictionary<string, int> Counts
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, int>(_counts, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Every request received so far, in order.</summary>
    public IReadOnlyList<ProxiedRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Forgets counts, requests and queued faults, and sets the plan back to none.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _queued.Clear();
            _counts.Clear();
            _requests.Clear();
            _total = 0;
            Plan = FaultPlan.None;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _http.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        var operation = OperationOf(context.Request, body);

        Fault? fault;
        var record = new StrongBox<ProxiedRequest>();
        lock (_lock)
        {
            var number = ++_total;
            var operationRequest = _counts[operation] = (_counts.TryGetValue(operation, out var count) ? count : 0) + 1;
            fault = _queued.TryGetValue(operation, out var queue) && queue.Count > 0 ? queue.Dequeue() : Plan.Next(operation, operationRequest, number);

            // Listed on arrival (so counts and the list agree at any moment), completed as it goes.
            record.Value = new ProxiedRequest(
                number,
                operation,
                context.Request.Headers.Authorization.ToString() is { Length: > 0 } authorization ? authorization : null,
                context.Request.Headers["X-Amz-Security-Token"].ToString() is { Length: > 0 } token ? token : null,
                fault,
                UpstreamStatus: null,
                Delivered: false,
                ResourceOf(body),
                Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body))[..16],
                operation == "AssumeRole" ? FormOf(body) : null);
            _requests.Add(record.Value);
        }

        try
        {
            await ServeAsync(context, body, fault, record);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client gave up (its attempt timed out): nothing more to answer.
        }
    }

    private async Task ServeAsync(HttpContext context, byte[] body, Fault? fault, StrongBox<ProxiedRequest> record)
    {
        switch (fault?.Kind)
        {
            case FaultKind.Error:
                await WriteErrorAsync(context, fault);
                return;
            case FaultKind.DropBeforeForward:
                context.Abort();
                return;
            case FaultKind.SlowBeforeForward:
                await Task.Delay(fault.Delay, context.RequestAborted);
                break;
        }

        using var upstream = await ForwardAsync(context, body);
        var answer = await upstream.Content.ReadAsByteArrayAsync(context.RequestAborted);
        record.Value = record.Value! with { UpstreamStatus = (int)upstream.StatusCode };
        Remember(record.Value);
        if (OnAnswered is { } onAnswered)
        {
            await onAnswered(record.Value);
        }

        if (fault?.Kind == FaultKind.DropAfterForward)
        {
            context.Abort();
            return;
        }

        if (fault?.Kind == FaultKind.SlowAfterForward)
        {
            await Task.Delay(fault.Delay, context.RequestAborted);
        }

        context.Response.StatusCode = (int)upstream.StatusCode;
        foreach (var header in upstream.Headers.Concat(upstream.Content.Headers))
        {
            if (!IsHopByHop(header.Key))
            {
                context.Response.Headers[header.Key] = header.Value.ToArray();
            }
        }

        context.Response.ContentLength = answer.Length;
        await context.Response.Body.WriteAsync(answer, context.RequestAborted);
        await context.Response.CompleteAsync();
        record.Value = record.Value with { Delivered = true };
        Remember(record.Value);
        if (OnDelivered is { } onDelivered)
        {
            await onDelivered(record.Value);
        }
    }

    private async Task<HttpResponseMessage> ForwardAsync(HttpContext context, byte[] body)
    {
        var target = new Uri(_upstream, context.Request.Path.Value + context.Request.QueryString.Value);
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target) { Content = new ByteArrayContent(body) };
        foreach (var header in context.Request.Headers)
        {
            if (IsHopByHop(header.Key) || string.Equals(header.Key, "Host", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray()))
            {
                request.Content.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
            }
        }

        // The signature covers the Host the client used; keep it for an upstream that checks.
        request.Headers.Host = context.Request.Host.Value;
        return await _http.SendAsync(request, context.RequestAborted);
    }

    private static async Task WriteErrorAsync(HttpContext context, Fault fault)
    {
        context.Response.StatusCode = fault.StatusCode;
        byte[] payload;
        if (fault.JsonBody)
        {
            context.Response.ContentType = "application/x-amz-json-1.1";
            if (fault.ErrorCode is not null)
            {
                context.Response.Headers["x-amzn-ErrorType"] = fault.ErrorCode;
            }

            payload = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(
                new Dictionary<string, string?> { ["__type"] = fault.ErrorCode, ["message"] = fault.Message }));
        }
        else
        {
            context.Response.ContentType = "text/plain";
            payload = Encoding.UTF8.GetBytes(fault.Message ?? "");
        }

        context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        context.Response.ContentLength = payload.Length;
        await context.Response.Body.WriteAsync(payload, context.RequestAborted);
    }

    /// <summary>The X-Amz-Target suffix (JSON protocols), else the form's Action (query protocols such as STS).</summary>
    private static string OperationOf(HttpRequest request, byte[] body)
    {
        var target = request.Headers["X-Amz-Target"].ToString();
        if (target.Length > 0)
        {
            var dot = target.LastIndexOf('.');
            return dot >= 0 ? target[(dot + 1)..] : target;
        }

        if (request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true)
        {
            foreach (var pair in Encoding.UTF8.GetString(body).Split('&'))
            {
                if (pair.StartsWith("Action=", StringComparison.Ordinal))
                {
                    return Uri.UnescapeDataString(pair["Action=".Length..]);
                }
            }
        }

        return "(unknown)";
    }

    /// <summary>The parameters of an STS AssumeRole form (role, session name, ExternalId, tags: no secrets; those travel in the answer).</summary>
    private static Dictionary<string, string> FormOf(byte[] body) =>
        Encoding.UTF8.GetString(body).Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0].Replace('+', ' ')), p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : "", StringComparer.Ordinal);

    /// <summary>The identifier a JSON request is about (never a value that could be secret); null for other bodies.</summary>
    private static string? ResourceOf(byte[] body)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                foreach (var name in new[] { "CertificateArn", "SecretId", "DomainName", "Name" })
                {
                    if (document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.String)
                    {
                        return value.GetString();
                    }
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not JSON (STS forms, empty bodies).
        }

        return null;
    }

    private static bool IsHopByHop(string header) =>
        header.Equals("Connection", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Upgrade", StringComparison.OrdinalIgnoreCase);

    /// <summary>Replaces the request's entry with what is known now.</summary>
    private void Remember(ProxiedRequest record)
    {
        lock (_lock)
        {
            var index = _requests.FindIndex(r => r.Number == record.Number);
            if (index >= 0)
            {
                _requests[index] = record;
            }
        }
    }
}
