using System.Net;
using System.Threading.Channels;
using k8s.Autorest;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Kubernetes;

/// <summary>
/// The <see cref="IEventRecorder"/> the grains use: an Event is queued and recorded by one
/// background loop through the recorder it wraps (<see cref="KubernetesEventRecorder"/>), as
/// client-go's event broadcaster does, so that recording an Event never holds up the work it
/// reports. Measured (bench/RESULTS.md): 200 Certificates created at once spent a fifth of their
/// CPU on their 200 "Issued" POSTs, each awaited by the grain and by the watcher's worker behind
/// it, before the last of them was Ready; a slow events API delayed every reconciliation.
/// <para>
/// Decisions: one loop records in the order queued, so a later Event of an object never overtakes
/// an earlier one and the correlation of repeats stays exact. The queue is bounded
/// (<see cref="Capacity"/>): when it is full a caller waits for room, which paces the callers as
/// recording inline did, rather than dropping Events or growing without bound (client-go drops
/// them). A failure that may pass (the connection, a timeout, 429, 5xx) is tried again
/// <see cref="Attempts"/> times in all, then logged and dropped: an Event is a report, and what it
/// reports is already in the status. When the host stops, the queue is drained within the host's
/// shutdown time; an Event recorded after that (a grain deactivating late) is recorded inline.
/// </para>
/// </summary>
public sealed class QueuedEventRecorder : IEventRecorder, IHostedService, IAsyncDisposable
{
    public const int Capacity = 1024;
    public const int Attempts = 3;

    private readonly IEventRecorder _sink;
    private readonly ILogger<QueuedEventRecorder> _logger;
    private readonly TimeSpan _retryDelay;
    private readonly Channel<Queued> _queue = Channel.CreateBounded<Queued>(new BoundedChannelOptions(Capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly CancellationTokenSource _abandon = new();
    private readonly Lock _gate = new();
    private Task? _loop;

    /// <summary>
    /// Records through <paramref name="sink"/> (in the host: <see cref="KubernetesEventRecorder"/>);
    /// a retry waits <paramref name="retryDelay"/> (default 0.5 s), doubled each time.
    /// </summary>
    public QueuedEventRecorder(IEventRecorder sink, ILogger<QueuedEventRecorder> logger, TimeSpan? retryDelay = null)
    {
        _sink = sink;
        _logger = logger;
        _retryDelay = retryDelay ?? TimeSpan.FromMilliseconds(500);
    }

    /// <summary>Events queued and not yet recorded (or being recorded).</summary>
    public int Pending => _queue.Reader.CanCount ? _queue.Reader.Count : 0;

    public Task RecordAsync(ResourceKey resource, ResourceKind kind, EventSeverity severity, string reason, string message, CancellationToken cancellationToken) =>
        RecordAsync(resource, kind, uid: null, severity, reason, message, cancellationToken);

    /// <summary>
    /// Queues the Event and returns once it is queued, which is at once unless
    /// <see cref="Capacity"/> Events are waiting.
    /// </summary>
    public Task RecordAsync(ResourceKey resource, ResourceKind kind, string? uid, EventSeverity severity, string reason, string message, CancellationToken cancellationToken)
    {
        var queued = new Queued(resource, kind, uid, severity, reason, message);
        EnsureStarted();
        return _queue.Writer.TryWrite(queued) ? Task.CompletedTask : QueueOrRecordAsync(queued, cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        EnsureStarted();
        return Task.CompletedTask;
    }

    /// <summary>Records what is queued, for as long as the host gives its services to stop.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        Task? loop;
        lock (_gate)
        {
            loop = _loop;
        }

        if (loop is null)
        {
            return;
        }

        try
        {
            await loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Log.EventsAbandoned(_logger, Pending);
            await _abandon.CancelAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await StopAsync(drain.Token).ConfigureAwait(false);
        _abandon.Dispose();
    }

    private void EnsureStarted()
    {
        if (Volatile.Read(ref _loop) is not null)
        {
            return;
        }

        lock (_gate)
        {
            _loop ??= Task.Run(RecordQueuedAsync);
        }
    }

    private async Task QueueOrRecordAsync(Queued queued, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(queued, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // The host is stopping and the queue drained: record it here, as before the queue.
            await RecordAsync(queued, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RecordQueuedAsync()
    {
        await foreach (var queued in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            await RecordAsync(queued, _abandon.Token).ConfigureAwait(false);
        }
    }

    private async Task RecordAsync(Queued queued, CancellationToken cancellationToken)
    {
        var delay = _retryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _sink.RecordAsync(queued.Resource, queued.Kind, queued.Uid, queued.Severity, queued.Reason, queued.Message, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (attempt < Attempts && MayPass(ex))
            {
                var errorType = ex.GetType().Name;
                Log.EventRetried(_logger, queued.Reason, queued.Kind, queued.Resource, attempt, errorType);
            }
            catch (Exception ex)
            {
                Log.EventDropped(_logger, queued.Reason, queued.Kind, queued.Resource, ex.GetType().Name, ex.Message);
                return;
            }

            try
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay *= 2;
        }
    }

    private static bool MayPass(Exception ex) => ex switch
    {
        HttpRequestException or TimeoutException => true,
        OperationCanceledException => true,
        HttpOperationException { Response.StatusCode: var status } => status == HttpStatusCode.TooManyRequests || (int)status >= 500,
        _ => false,
    };

    private sealed record Queued(ResourceKey Resource, ResourceKind Kind, string? Uid, EventSeverity Severity, string Reason, string Message);
}
