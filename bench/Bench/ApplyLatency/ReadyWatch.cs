using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using k8s;
using Notary.CustomResources.Models;
using Notary.Watcher;

namespace Notary.Bench.ApplyLatency;

/// <summary>
/// A WATCH on one plural of notary.dev in one namespace, as a client (kubectl wait, a GitOps
/// tool) follows it: every object's first Ready=True is timestamped on arrival, on the client.
/// The watch starts from a list's resourceVersion, so nothing created after
/// <see cref="StartAsync"/> returns can be missed.
/// </summary>
public sealed class ReadyWatch : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _ready = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private Exception? _failure;

    private ReadyWatch(string plural) => Plural = plural;

    public string Plural { get; }

    /// <summary>Watch events received (any type), to compare with the objects' count.</summary>
    public int Events => _events;

    private int _events;

    public static async Task<ReadyWatch> StartAsync(IKubernetes client, string ns, string plural, CancellationToken cancellationToken)
    {
        var watch = new ReadyWatch(plural);
        var resourceVersion = await watch.ListAsync(client, ns, cancellationToken).ConfigureAwait(false);
        watch._loop = watch.RunAsync(client, ns, resourceVersion);
        return watch;
    }

    /// <summary>Lists, observes every item, and returns the list's resourceVersion to watch from.</summary>
    private async Task<string?> ListAsync(IKubernetes client, string ns, CancellationToken cancellationToken)
    {
        var list = (JsonElement)await client.CustomObjects.ListNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, Plural, cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var item in list.GetProperty("items").EnumerateArray())
        {
            Observe(item);
        }

        return list.GetProperty("metadata").GetProperty("resourceVersion").GetString();
    }

    /// <summary>When <paramref name="name"/> was first seen Ready=True (a Stopwatch timestamp).</summary>
    public Task<long> ReadyAsync(string name) => Slot(name).Task;

    /// <summary>For a timeout's message: how many events arrived and whether the watch still runs.</summary>
    public string Describe() => $"the watch on {Plural} received {Events} events, was re-opened {Rewatches} times, relisted {Relists} times and {(_loop.IsCompleted ? "has ended" : "is running")}";

    /// <summary>Times the API server closed the watch and it was opened again from the last resourceVersion.</summary>
    public int Rewatches => _rewatches;

    /// <summary>Times the watch relisted (410 Gone): objects found Ready by a relist carry the relist's time.</summary>
    public int Relists => _relists;

    private int _rewatches;
    private int _relists;

    /// <summary>Throws if the watch ended with an error (it must run for the whole scenario).</summary>
    public void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            throw new InvalidOperationException($"the watch on {Plural} failed: {_failure.Message}", _failure);
        }
    }

    private TaskCompletionSource<long> Slot(string name) =>
        _ready.GetOrAdd(name, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>
    /// Watches until disposed. The API server closes a watch that falls behind (DevCluster after
    /// 1,000 undelivered events, as a real one does), so, like any informer, this re-watches from
    /// the last resourceVersion it saw, and relists when that is too old (410 Gone, as an ERROR
    /// event or as the watch request's answer). A watch that ends without delivering anything is
    /// retried after a growing pause, never in a busy loop. Objects found Ready by a relist are
    /// timestamped at the relist, later than they became Ready: <see cref="Relists"/> says whether
    /// a run's figures contain such times.
    /// </summary>
    private async Task RunAsync(IKubernetes client, string ns, string? resourceVersion)
    {
        var pause = TimeSpan.Zero;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var gone = false;
                var delivered = 0;
                try
                {
                    var events = client.CustomObjects.WatchListNamespacedCustomObjectAsync(
                        NotaryResources.Group, NotaryResources.Version, ns, Plural,
                        resourceVersion: resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 3600,
                        onError: e =>
                        {
                            // KubernetesClient reports an ERROR event (410 Gone among them) here; the server then ends the stream.
                            if (WatchErrors.IsGone(e))
                            {
                                gone = true;
                            }
                            else
                            {
                                _failure ??= e;
                            }
                        },
                        cancellationToken: _stop.Token);
                    await foreach (var (type, value) in events.WithCancellation(_stop.Token).ConfigureAwait(false))
                    {
                        // Timestamp first, before any parsing, as close to arrival as the client gets.
                        var at = Stopwatch.GetTimestamp();
                        Interlocked.Increment(ref _events);
                        delivered++;
                        var element = value is JsonElement e ? e : JsonSerializer.SerializeToElement(value);
                        if (element.TryGetProperty("metadata", out var metadata) && metadata.TryGetProperty("resourceVersion", out var version))
                        {
                            resourceVersion = version.GetString();
                        }

                        if (type is WatchEventType.Added or WatchEventType.Modified)
                        {
                            Observe(element, at);
                        }
                    }
                }
                catch (Exception ex) when (WatchErrors.IsGone(ex))
                {
                    gone = true;
                }
                catch (Exception ex) when (WatchErrors.IsEndOfStream(ex))
                {
                    // The server ended the watch before its first line: watch again.
                }

                ThrowIfFailed();
                if (gone)
                {
                    Interlocked.Increment(ref _relists);
                    resourceVersion = await ListAsync(client, ns, _stop.Token).ConfigureAwait(false);
                    continue;
                }

                Interlocked.Increment(ref _rewatches);
                pause = delivered > 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Clamp(pause.TotalMilliseconds * 2, 50, 2_000));
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, _stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _failure ??= ex;
        }
    }

    private void Observe(JsonElement item, long? at = null)
    {
        var name = item.GetProperty("metadata").GetProperty("name").GetString()!;
        if (item.TryGetProperty("status", out var status) && status.TryGetProperty("conditions", out var conditions)
            && conditions.EnumerateArray().Any(c => c.GetProperty("type").GetString() == ConditionTypes.Ready && c.GetProperty("status").GetString() == ConditionStatuses.True))
        {
            Slot(name).TrySetResult(at ?? Stopwatch.GetTimestamp());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
