using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using k8s;
using Notary.Kubernetes.Models;

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
        var list = (JsonElement)await client.CustomObjects.ListNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, plural, cancellationToken: cancellationToken);
        var resourceVersion = list.GetProperty("metadata").GetProperty("resourceVersion").GetString();
        foreach (var item in list.GetProperty("items").EnumerateArray())
        {
            watch.Observe(item);
        }

        watch._loop = watch.RunAsync(client, ns, resourceVersion);
        return watch;
    }

    /// <summary>When <paramref name="name"/> was first seen Ready=True (a Stopwatch timestamp).</summary>
    public Task<long> ReadyAsync(string name) => Slot(name).Task;

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

    private async Task RunAsync(IKubernetes client, string ns, string? resourceVersion)
    {
        try
        {
            var events = client.CustomObjects.WatchListNamespacedCustomObjectAsync(
                NotaryResources.Group, NotaryResources.Version, ns, Plural,
                resourceVersion: resourceVersion, timeoutSeconds: 3600, onError: e => _failure ??= e, cancellationToken: _stop.Token);
            await foreach (var (type, value) in events.WithCancellation(_stop.Token).ConfigureAwait(false))
            {
                // Timestamp first, before any parsing, as close to arrival as the client gets.
                var at = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref _events);
                if (type is WatchEventType.Added or WatchEventType.Modified)
                {
                    Observe(value is JsonElement element ? element : JsonSerializer.SerializeToElement(value), at);
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
