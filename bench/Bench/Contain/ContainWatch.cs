using System.Collections.Concurrent;
using System.Diagnostics;
using k8s;
using k8s.Models;
using Notary.Watcher;

namespace Notary.Bench.Contain;

/// <summary>
/// A client's WATCH of one namespace's Secrets or Deployments, as an incident responder's tooling
/// would follow a quarantine: each object is judged by <c>done</c> on every version that arrives
/// (the Secret decoded, the Deployment's annotation read) and timestamped when it first passes.
/// Starts from a list, so nothing after <see cref="StartAsync"/> is missed; re-watches from the
/// last resourceVersion when the server closes the watch and relists on 410 Gone, like an informer.
/// </summary>
public sealed class ContainWatch<T> : IAsyncDisposable
    where T : IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<string, long> _passed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _wanted;
    private readonly Func<T, bool> _done;
    private readonly Func<string?, CancellationToken, Task<(IList<T> Items, string? ResourceVersion)>> _list;
    // (resourceVersion, onError, token): KubernetesClient reports an ERROR event (410 Gone among
    // them) only through onError, then the server ends the stream.
    private readonly Func<string?, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> _watch;
    private readonly TaskCompletionSource<long> _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _events;

    internal ContainWatch(IEnumerable<string> wanted, Func<T, bool> done,
        Func<string?, CancellationToken, Task<(IList<T>, string?)>> list, Func<string?, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch)
    {
        _wanted = wanted.ToHashSet(StringComparer.Ordinal);
        _done = done;
        _list = list;
        _watch = watch;
    }

    /// <summary>When every wanted object had passed (a Stopwatch timestamp).</summary>
    public Task<long> AllPassed => _all.Task;

    public int Passed => _passed.Count;

    public int Events => _events;

    internal async Task StartAsync(CancellationToken cancellationToken)
    {
        var resourceVersion = await ListAsync(cancellationToken).ConfigureAwait(false);
        _loop = RunAsync(resourceVersion);
    }

    private async Task<string?> ListAsync(CancellationToken cancellationToken)
    {
        var (items, resourceVersion) = await _list(null, cancellationToken).ConfigureAwait(false);
        var at = Stopwatch.GetTimestamp();
        foreach (var item in items)
        {
            Observe(item, at);
        }

        return resourceVersion;
    }

    private async Task RunAsync(string? resourceVersion)
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
                    var events = _watch(resourceVersion, e =>
                    {
                        if (WatchErrors.IsGone(e))
                        {
                            gone = true;
                        }
                        else
                        {
                            _all.TrySetException(e);
                        }
                    }, _stop.Token);
                    await foreach (var (type, item) in events.WithCancellation(_stop.Token).ConfigureAwait(false))
                    {
                        var at = Stopwatch.GetTimestamp();
                        Interlocked.Increment(ref _events);
                        delivered++;
                        resourceVersion = item.Metadata?.ResourceVersion ?? resourceVersion;
                        if (type is WatchEventType.Added or WatchEventType.Modified)
                        {
                            Observe(item, at);
                        }
                    }
                }
                catch (Exception ex) when (WatchErrors.IsGone(ex))
                {
                    gone = true;
                }
                catch (Exception ex) when (WatchErrors.IsEndOfStream(ex))
                {
                }

                if (gone)
                {
                    resourceVersion = await ListAsync(_stop.Token).ConfigureAwait(false);
                    continue;
                }

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
            _all.TrySetException(ex);
        }
    }

    private void Observe(T item, long at)
    {
        var name = item.Metadata?.Name;
        if (name is null || !_wanted.Contains(name) || _passed.ContainsKey(name) || !_done(item))
        {
            return;
        }

        if (_passed.TryAdd(name, at) && _passed.Count == _wanted.Count)
        {
            _all.TrySetResult(at);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}

/// <summary>Watches of the two kinds the contain scenario follows.</summary>
public static class ContainWatch
{
    public static async Task<ContainWatch<V1Secret>> SecretsAsync(IKubernetes client, string ns, IEnumerable<string> wanted, Func<V1Secret, bool> done, CancellationToken cancellationToken)
    {
        var watch = new ContainWatch<V1Secret>(wanted, done,
            async (_, ct) =>
            {
                var list = await client.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: ct).ConfigureAwait(false);
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.CoreV1.WatchListNamespacedSecretAsync(ns, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 3600, onError: onError, cancellationToken: ct));
        await watch.StartAsync(cancellationToken).ConfigureAwait(false);
        return watch;
    }

    public static async Task<ContainWatch<V1Deployment>> DeploymentsAsync(IKubernetes client, string ns, IEnumerable<string> wanted, Func<V1Deployment, bool> done, CancellationToken cancellationToken)
    {
        var watch = new ContainWatch<V1Deployment>(wanted, done,
            async (_, ct) =>
            {
                var list = await client.AppsV1.ListNamespacedDeploymentAsync(ns, cancellationToken: ct).ConfigureAwait(false);
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.AppsV1.WatchListNamespacedDeploymentAsync(ns, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 3600, onError: onError, cancellationToken: ct));
        await watch.StartAsync(cancellationToken).ConfigureAwait(false);
        return watch;
    }
}
