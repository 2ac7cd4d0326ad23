using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Notary.Silo.Tests.Support;

/// <summary>One request the receiver got, and what it answered.</summary>
public sealed record Received(string Method, string Path, string? ContentType, string Body, int Answer)
{
    /// <summary>The request's headers (the last value of each), by name, case-insensitive.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The exact body bytes, as signed.</summary>
    public byte[] RawBody { get; init; } = [];
}

/// <summary>
/// A real HTTP webhook receiver (Kestrel on 127.0.0.1, a port the OS picks) that answers from a
/// script: a status code, or -1 to drop the connection without an answer; 200 once the script
/// is used up.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public const int Drop = -1;

    /// <summary>Answers nothing and keeps the connection open until the client gives up or the receiver stops.</summary>
    public const int Hang = -2;

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _script = new();
    private readonly List<Received> _received = [];
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>When set, a request whose body it matches gets this answer instead of the script's.</summary>
    public Func<string, int?>? AnswerFor { get; set; }

    private WebhookReceiver(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<Received> Requests
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    public static async Task<WebhookReceiver> StartAsync(params int[] script)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        foreach (var answer in script)
        {
            receiver._script.Enqueue(answer);
        }

        app.MapPost("/{**path}", receiver.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Url = new Uri(address + "/hooks/notary");
        return receiver;
    }

    /// <summary>Waits until at least <paramref name="count"/> requests arrived.</summary>
    public async Task<IReadOnlyList<Received>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        while (Requests.Count < count)
        {
            try
            {
                await _arrived.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Expected {count} webhook requests, got {Requests.Count}: {string.Join(", ", Requests.Select(r => r.Answer))}");
            }
        }

        return Requests;
    }

    /// <summary>Waits until a request that <paramref name="match"/> accepts arrived.</summary>
    public async Task<Received> WaitForAsync(Func<Received, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            if (Requests.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            try
            {
                await _arrived.WaitAsync(TimeSpan.FromMilliseconds(50), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No matching webhook request within {timeout}; got {Requests.Count}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _arrived.Dispose();
        _stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var raw = buffer.ToArray();
        var body = Encoding.UTF8.GetString(raw);
        var answer = AnswerFor?.Invoke(body) ?? (_script.TryDequeue(out var scripted) ? scripted : StatusCodes.Status200OK);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        lock (_received)
        {
            _received.Add(new Received(context.Request.Method, context.Request.Path, context.Request.ContentType, body, answer) { Headers = headers, RawBody = raw });
        }

        _arrived.Release();
        if (answer == Hang)
        {
            using var either = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
            try
            {
                await Task.Delay(Timeout.Infinite, either.Token);
            }
            catch (OperationCanceledException)
            {
            }

            context.Abort();
            return;
        }

        if (answer == Drop)
        {
            context.Abort();
            return;
        }

        // Every failure on a fresh connection: HttpClient may silently re-send a request whose
        // reused connection drops, which would hide the drop from the sink under test.
        if (answer != StatusCodes.Status200OK)
        {
            context.Response.Headers.Connection = "close";
        }

        context.Response.StatusCode = answer;
    }
}
