using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Silo.Alerts;

/// <summary>
/// Adapter for <see cref="IAlertSink"/>: POSTs each alert as JSON to the webhook of
/// <see cref="NotaryAlertOptions.WebhookUrl"/>, signed (<see cref="WebhookSignature"/>).
/// <see cref="SendAsync"/> only enqueues (a bounded queue that drops its oldest alert when full),
/// so a grain never waits on the receiver; this background service delivers up to
/// <see cref="NotaryAlertOptions.MaxConcurrentDeliveries"/> alerts at once, each independently:
/// its own attempts, each bounded by <see cref="NotaryAlertOptions.RequestTimeout"/>, retried on
/// 5xx, 429, 408, timeouts and connection errors with jittered exponential backoff up to
/// <see cref="NotaryAlertOptions.MaxAttempts"/>, given up at once on any other answer. So one
/// hanging or failing delivery holds up no other alert. Without a URL it does nothing.
/// </summary>
public sealed class WebhookAlertSink : BackgroundService, IAlertSink
{
    /// <summary>The name of the HttpClient (IHttpClientFactory) the sink posts with.</summary>
    public const string HttpClientName = "notary-alerts";

    private readonly IHttpClientFactory _clients;
    private readonly NotaryAlertOptions _options;
    private readonly Uri? _webhook;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookAlertSink> _logger;
    private readonly Channel<Alert> _queue;
    private readonly SemaphoreSlim _slots;
    private int _inFlight;

    public WebhookAlertSink(IHttpClientFactory clients, IOptions<NotaryAlertOptions> options, TimeProvider time, ILogger<WebhookAlertSink> logger)
    {
        _clients = clients;
        _options = options.Value;
        _webhook = _options.Webhook;
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<Alert>(
            new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => Log.AlertDropped(_logger, _options.QueueCapacity, dropped.Reason, dropped.Resource));
        _slots = new SemaphoreSlim(_options.MaxConcurrentDeliveries, _options.MaxConcurrentDeliveries);
    }

    /// <summary>Whether a webhook is configured; when not, alerts are dropped silently.</summary>
    public bool Enabled => _webhook is not null;

    public Task SendAsync(Alert alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (_webhook is null)
        {
            Log.AlertNotConfigured(_logger, alert.Reason, alert.Resource);
            return Task.CompletedTask;
        }

        // Never blocks nor fails: a full queue drops its oldest alert (logged by the callback).
        _queue.Writer.TryWrite(alert);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The pause after <paramref name="failedAttempts"/> failures: <paramref name="initial"/>
    /// doubled per failure, capped at <paramref name="max"/>, of which the upper half is random
    /// ("equal jitter", <paramref name="jitter"/> in [0, 1)), so that many Notary instances
    /// failing together do not retry in step.
    /// </summary>
    public static TimeSpan Backoff(int failedAttempts, TimeSpan initial, TimeSpan max, double jitter) =>
        new Grains.Abstractions.Retry.ExponentialBackoff(initial, max).EqualJitter(failedAttempts - 1, jitter);

    /// <summary>The JSON body of an alert: reason, namespace, name, message, notAfter, at, arn (times in UTC, RFC 3339).</summary>
    public static byte[] Serialize(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return JsonSerializer.SerializeToUtf8Bytes(
            new AlertPayload(alert.Reason, alert.Resource.Namespace, alert.Resource.Name, alert.Message, alert.NotAfter?.UtcDateTime, alert.At.UtcDateTime, alert.Arn),
            AlertJsonContext.Default.AlertPayload);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_webhook is null)
        {
            return;
        }

        Log.AlertsEnabled(_logger, _webhook.Host);
        var deliveries = new HashSet<Task>();
        try
        {
            await foreach (var alert in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                // Counted as in flight from here: while it waits for a free slot too.
                Interlocked.Increment(ref _inFlight);
                await _slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                var delivery = Task.Run(() => DeliverInSlotAsync(_webhook, alert, stoppingToken), CancellationToken.None);
                lock (deliveries)
                {
                    deliveries.Add(delivery);
                }

                _ = delivery.ContinueWith(
                    done =>
                    {
                        lock (deliveries)
                        {
                            deliveries.Remove(done);
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            Task[] running;
            lock (deliveries)
            {
                running = [.. deliveries];
            }

            await Task.WhenAll(running).ConfigureAwait(false);
            var left = _queue.Reader.Count + Volatile.Read(ref _inFlight);
            if (left > 0)
            {
                Log.AlertsUndelivered(_logger, left);
            }
        }
    }

    public override void Dispose()
    {
        _slots.Dispose();
        base.Dispose();
    }

    /// <summary>One alert's delivery in a slot it holds; never throws (a stop leaves it counted as undelivered).</summary>
    private async Task DeliverInSlotAsync(Uri webhook, Alert alert, CancellationToken stoppingToken)
    {
        try
        {
            await DeliverAsync(webhook, alert, stoppingToken).ConfigureAwait(false);
            Interlocked.Decrement(ref _inFlight);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task DeliverAsync(Uri webhook, Alert alert, CancellationToken stoppingToken)
    {
        var body = Serialize(alert);
        // One id for every attempt of this alert, so that a receiver can drop a retry it already handled.
        var delivery = WebhookSignature.NewDeliveryId();
        for (var attempt = 1; ; attempt++)
        {
            var (outcome, failure, retryAfter) = await PostAsync(webhook, delivery, body, stoppingToken).ConfigureAwait(false);
            switch (outcome)
            {
                case Outcome.Delivered:
                    Log.AlertDelivered(_logger, alert.Reason, alert.Resource, attempt);
                    return;
                case Outcome.Rejected:
                    Log.AlertRejected(_logger, alert.Reason, alert.Resource, failure);
                    return;
            }

            if (attempt >= _options.MaxAttempts)
            {
                Log.AlertGaveUp(_logger, alert.Reason, alert.Resource, attempt, failure);
                return;
            }

            var delay = Backoff(attempt, _options.InitialBackoff, _options.MaxBackoff, RandomNumberGenerator.GetInt32(1_000_000) / 1_000_000.0);
            if (retryAfter is { } asked && asked > delay)
            {
                delay = asked < _options.MaxBackoff ? asked : _options.MaxBackoff;
            }

            Log.AlertRetry(_logger, alert.Reason, alert.Resource, failure, attempt, _options.MaxAttempts, delay);
            await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>One attempt. The failure text names the status or the kind of error, never the URL.</summary>
    private async Task<(Outcome Outcome, string Failure, TimeSpan? RetryAfter)> PostAsync(Uri webhook, string delivery, byte[] body, CancellationToken stoppingToken)
    {
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook) { Content = content };
        // Signed per attempt: a retry carries a fresh timestamp, so receivers can refuse old ones,
        // and the alert's delivery id, so receivers can refuse one they have seen.
        var (timestamp, signature) = WebhookSignature.Sign(_options.SigningKey ?? string.Empty, delivery, body, _time.GetUtcNow());
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp);
        request.Headers.Add(WebhookSignature.DeliveryHeader, delivery);
        request.Headers.Add(WebhookSignature.SignatureHeader, signature);
        try
        {
            var client = _clients.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, linked.Token).ConfigureAwait(false);
            var code = response.StatusCode;
            var status = $"{(int)code} {code}";
            if (response.IsSuccessStatusCode)
            {
                return (Outcome.Delivered, status, null);
            }

            return (int)code >= 500 || code is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout
                ? (Outcome.Retry, status, RetryAfter(response.Headers.RetryAfter))
                : (Outcome.Rejected, status, null);
        }
        catch (HttpRequestException ex)
        {
            return (Outcome.Retry, $"connection error ({ex.HttpRequestError})", null);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return (Outcome.Retry, $"no answer within {_options.RequestTimeout}", null);
        }
    }

    private TimeSpan? RetryAfter(RetryConditionHeaderValue? header) =>
        header?.Delta ?? (header?.Date is { } date ? date - _time.GetUtcNow() : null);

    private enum Outcome
    {
        Delivered,
        Retry,
        Rejected,
    }
}

/// <summary>The webhook's JSON body.</summary>
internal sealed record AlertPayload(string Reason, string Namespace, string Name, string Message, DateTime? NotAfter, DateTime At, string? Arn);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AlertPayload))]
internal sealed partial class AlertJsonContext : JsonSerializerContext;
