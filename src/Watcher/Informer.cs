using System.Collections.Concurrent;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Notary.CustomResources;

namespace Notary.Watcher;

/// <summary>Told of every change an <see cref="Informer{T}"/> sees; called on the informer's loop, so it must not block.</summary>
internal interface IInformerHandler<in T>
{
    void OnUpsert(string key, T current);

    void OnDelete(string key, T lastKnown);

    /// <summary>A full list is in (the session's first, or a relist after 410 Gone): every upsert and delete it implied was reported.</summary>
    void OnListed();
}

/// <summary>
/// The list+watch loop of one resource type, after client-go's reflector and KubeOps'
/// ResourceWatcher: list, then watch from the list's resourceVersion with bookmarks, remembering
/// the last resourceVersion seen. A dropped watch resumes from it; 410 Gone (an ERROR event or an
/// HTTP 410) means the history is gone, so the informer lists again and diffs the list against
/// what it knew: objects missing from the list are reported deleted, changed ones changed.
/// Failures reconnect after capped exponential backoff with jitter; each event is handled in its
/// own try/catch so that one bad object never stops the loop. Keeps the latest object per key.
/// </summary>
internal sealed class Informer<T>(IResourceSource<T> source, NotaryWatcherOptions options, TimeProvider time, ILogger logger)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<string, T> _cache = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _resourceVersion;
    private int _delivered;

    public string Name => source.Name;

    /// <summary>The last resourceVersion seen (list, event or bookmark); null until listed and after 410 Gone.</summary>
    public string? ResourceVersion => Volatile.Read(ref _resourceVersion);

    /// <summary>Completes once the first list is in.</summary>
    public Task Synced => _synced.Task;

    public ICollection<string> Keys => _cache.Keys;

    public bool TryGet(string key, out T? current) => _cache.TryGetValue(key, out current);

    public async Task RunAsync(IInformerHandler<T> handler, CancellationToken cancellationToken)
    {
        var backoff = new Backoff(options.MinReconnectDelay, options.MaxReconnectDelay);
        while (!cancellationToken.IsCancellationRequested)
        {
            _delivered = 0;
            try
            {
                if (ResourceVersion is null)
                {
                    await RelistAsync(handler, cancellationToken).ConfigureAwait(false);
                }

                if (await WatchAsync(handler, cancellationToken).ConfigureAwait(false))
                {
                    Log.WatchGone(logger, Name, ResourceVersion);
                    Volatile.Write(ref _resourceVersion, null);
                }
                else
                {
                    Log.WatchClosed(logger, Name, _delivered, ResourceVersion);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (WatchErrors.IsGone(ex))
            {
                Log.WatchGone(logger, Name, ResourceVersion);
                Volatile.Write(ref _resourceVersion, null);
            }
            catch (Exception ex) when (WatchErrors.IsEndOfStream(ex))
            {
                // The server ended a watch before its first event (its timeout, or a restart).
                Log.WatchClosed(logger, Name, _delivered, ResourceVersion);
            }
            catch (Exception ex) when (_delivered > 0 && WatchErrors.IsTransport(ex))
            {
                // A healthy watch lost its connection (API server restart, load balancer): routine.
                Log.WatchInterrupted(logger, Name, ex.Message, ResourceVersion);
            }
            catch (Exception ex)
            {
                Log.WatchFailed(logger, Name, ex.GetType().Name, Describe(ex));
            }

            // A watch that delivered something was healthy: resume at once. Otherwise back off.
            if (_delivered > 0)
            {
                backoff.Reset();
                continue;
            }

            try
            {
                await Task.Delay(backoff.Next(), time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RelistAsync(IInformerHandler<T> handler, CancellationToken cancellationToken)
    {
        var list = await source.ListAsync(cancellationToken).ConfigureAwait(false);
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in list.Items)
        {
            if (item.Key is null)
            {
                continue;
            }

            // An unreadable object still exists: keeping its key keeps it from being reported deleted.
            listed.Add(item.Key);
            try
            {
                if (item.Object is null)
                {
                    Log.ObjectUnreadable(logger, Name, item.Key, item.Error ?? "unknown");
                    continue;
                }

                Upsert(handler, item.Key, item.Object);
            }
            catch (Exception ex)
            {
                Log.EventFailed(logger, Name, item.Key, ex.GetType().Name, ex.Message);
            }
        }

        var removed = 0;
        foreach (var key in _cache.Keys.Where(key => !listed.Contains(key)).ToList())
        {
            if (_cache.TryRemove(key, out var last))
            {
                removed++;
                try
                {
                    handler.OnDelete(key, last);
                }
                catch (Exception ex)
                {
                    Log.EventFailed(logger, Name, key, ex.GetType().Name, ex.Message);
                }
            }
        }

        Volatile.Write(ref _resourceVersion, list.ResourceVersion);
        Log.Listed(logger, Name, listed.Count, removed, list.ResourceVersion);
        handler.OnListed();
        _synced.TrySetResult();
    }

    /// <returns>True when the API server answered 410 Gone: the resourceVersion is too old to resume from.</returns>
    private async Task<bool> WatchAsync(IInformerHandler<T> handler, CancellationToken cancellationToken)
    {
        var gone = false;
        void OnError(Exception error)
        {
            if (WatchErrors.IsGone(error))
            {
                gone = true;
            }
            else
            {
                Log.WatchError(logger, Name, error.GetType().Name, error.Message);
            }
        }

        Log.Watching(logger, Name, ResourceVersion);
        await foreach (var item in source.WatchAsync(ResourceVersion!, OnError, cancellationToken).ConfigureAwait(false))
        {
            _delivered++;
            try
            {
                Handle(handler, item);
            }
            catch (Exception ex)
            {
                Log.EventFailed(logger, Name, item.Key ?? "(unnamed)", ex.GetType().Name, ex.Message);
            }

            if (!string.IsNullOrEmpty(item.ResourceVersion))
            {
                Volatile.Write(ref _resourceVersion, item.ResourceVersion);
            }

            if (gone)
            {
                break;
            }
        }

        return gone;
    }

    private void Handle(IInformerHandler<T> handler, WatchItem<T> item)
    {
        switch (item.Type)
        {
            case WatchEventType.Bookmark:
                return;
            case WatchEventType.Added or WatchEventType.Modified when item.Key is not null:
                if (item.Object is null)
                {
                    Log.ObjectUnreadable(logger, Name, item.Key, item.Error ?? "unknown");
                    return;
                }

                Upsert(handler, item.Key, item.Object);
                return;
            case WatchEventType.Deleted when item.Key is not null:
                _cache.TryRemove(item.Key, out var last);
                if ((item.Object ?? last) is { } gone)
                {
                    handler.OnDelete(item.Key, gone);
                }

                return;
            default:
                Log.ObjectUnreadable(logger, Name, item.Key ?? "(unnamed)", $"unexpected {item.Type} event");
                return;
        }
    }

    private void Upsert(IInformerHandler<T> handler, string key, T current)
    {
        if (_cache.TryGetValue(key, out var known) && known.Metadata?.ResourceVersion == current.Metadata?.ResourceVersion)
        {
            return;
        }

        _cache[key] = current;
        handler.OnUpsert(key, current);
    }

    private static string Describe(Exception exception) =>
        exception is HttpOperationException http ? KubernetesApiErrors.Describe(http) : exception.Message;
}
