using System.Threading.Channels;

namespace Notary.Watcher;

/// <summary>
/// The keys waiting to be forwarded, as client-go's workqueue keeps them: a key is queued at most
/// once however often it changes (the worker reads the latest state when it gets to it), is never
/// handled by two workers at once (a change during handling queues it again afterwards), and a
/// key whose handling failed comes back after a per-key exponential delay.
/// </summary>
internal sealed class WorkQueue(TimeProvider time)
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LastRetry = TimeSpan.FromMinutes(2);

    private readonly Channel<string> _ready = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly Lock _lock = new();
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _processing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);

    public void Add(string key)
    {
        lock (_lock)
        {
            if (!_dirty.Add(key) || _processing.Contains(key))
            {
                return;
            }
        }

        _ready.Writer.TryWrite(key);
    }

    /// <summary>
    /// Queues the key again after a delay that doubles with each consecutive failure, up to 2
    /// minutes or <paramref name="maxDelay"/> when lower (a grain call refused because a silo is down).
    /// </summary>
    public TimeSpan AddAfterFailure(string key, CancellationToken cancellationToken, TimeSpan? maxDelay = null)
    {
        int failures;
        lock (_lock)
        {
            failures = _failures.GetValueOrDefault(key);
            _failures[key] = failures + 1;
        }

        var delay = Backoff.Delay(failures, FirstRetry, maxDelay is { } max && max < LastRetry ? max : LastRetry);
        _ = AddLaterAsync(key, delay, cancellationToken);
        return delay;
    }

    /// <summary>The key was handled: its failure count starts over.</summary>
    public void Forget(string key)
    {
        lock (_lock)
        {
            _failures.Remove(key);
        }
    }

    public async ValueTask<string> TakeAsync(CancellationToken cancellationToken)
    {
        var key = await _ready.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _processing.Add(key);
            _dirty.Remove(key);
        }

        return key;
    }

    public void Done(string key)
    {
        lock (_lock)
        {
            _processing.Remove(key);
            if (!_dirty.Contains(key))
            {
                return;
            }
        }

        _ready.Writer.TryWrite(key);
    }

    private async Task AddLaterAsync(string key, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            Add(key);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
