using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>What a controller does with one key: forward its latest state.</summary>
internal interface IReconciler<in T>
{
    /// <summary>Called on the informer's loop for every change, before the key is queued; must not block.</summary>
    void Observe(string key, T? current);

    /// <param name="key">"namespace/name".</param>
    /// <param name="current">The object as now known; null when it is gone.</param>
    /// <param name="lastKnown">When gone: the object as last seen.</param>
    /// <param name="resync">Forward even what was already forwarded.</param>
    /// <param name="cancellationToken">Cancelled when the session ends.</param>
    Task ReconcileAsync(string key, T? current, T? lastKnown, bool resync, CancellationToken cancellationToken);

    /// <summary>
    /// After each full list of the informer (and each resync): a reconciler whose target keeps a
    /// set of its own (the CertificatePolicies) prunes what no longer exists. A failure is retried with backoff.
    /// </summary>
    Task ListedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Joins an <see cref="Informer{T}"/> to a <see cref="IReconciler{T}"/> through a
/// <see cref="WorkQueue"/>: changes queue their key, a few workers forward the latest state of
/// each key (one key at a time, different keys in parallel, so one slow or failing resource never
/// holds up the others), a failure comes back with backoff, and a periodic resync queues every
/// known key to be forwarded again.
/// </summary>
internal sealed class Controller<T>(
    Informer<T> informer,
    IReconciler<T> reconciler,
    NotaryWatcherOptions options,
    TimeProvider time,
    ILogger logger) : IInformerHandler<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly WorkQueue _queue = new(time);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, T> _tombstones = new(StringComparer.Ordinal);
    private readonly HashSet<string> _resync = new(StringComparer.Ordinal);

    public Informer<T> Informer => informer;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var tasks = new List<Task> { informer.RunAsync(this, cancellationToken), ResyncAsync(cancellationToken) };
        tasks.AddRange(Enumerable.Range(0, options.Workers).Select(_ => WorkAsync(cancellationToken)));
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    public void OnUpsert(string key, T current)
    {
        reconciler.Observe(key, current);
        _queue.Add(key);
    }

    /// <summary>Queued after each full list and each resync; never a key of an object ("namespace/name", or "/name").</summary>
    internal const string ListedKey = "\0listed";

    public void OnListed() => _queue.Add(ListedKey);

    public void OnDelete(string key, T lastKnown)
    {
        reconciler.Observe(key, null);
        lock (_lock)
        {
            _tombstones[key] = lastKnown;
        }

        _queue.Add(key);
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            string key;
            try
            {
                key = await _queue.TakeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (key == ListedKey)
            {
                await ListedAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            // The object first, its tombstone second: the informer drops an object from its cache
            // before it files the tombstone, so read the other way round a deletion landing in
            // between looked like "gone, no tombstone" here and was forwarded twice (now, and
            // again for the tombstone it queues).
            informer.TryGet(key, out var current);
            bool resync;
            T? lastKnown;
            lock (_lock)
            {
                resync = _resync.Remove(key);
                _tombstones.TryGetValue(key, out lastKnown);
            }

            if (current is null && lastKnown is null)
            {
                // Gone, and either its tombstone was handled already or the informer is filing it
                // and queues the key again: nothing to forward now.
                _queue.Forget(key);
                _queue.Done(key);
                continue;
            }

            try
            {
                await reconciler.ReconcileAsync(key, current, current is null ? lastKnown : null, resync, cancellationToken).ConfigureAwait(false);
                _queue.Forget(key);
                lock (_lock)
                {
                    if (!informer.TryGet(key, out _) && _tombstones.TryGetValue(key, out var handled) && ReferenceEquals(handled, lastKnown))
                    {
                        _tombstones.Remove(key);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (resync)
                {
                    lock (_lock)
                    {
                        _resync.Add(key);
                    }
                }

                // A silo that is down refuses at once until it is declared dead: retried within a
                // couple of seconds, so the key is forwarded soon after the cluster recovers.
                var delay = _queue.AddAfterFailure(key, cancellationToken, ClusterFailures.IsUnavailableSilo(ex) ? ClusterFailures.MaxUnavailableSiloRetryDelay : null);
                Log.ForwardFailed(logger, informer.Name, key, ex.GetType().Name, ex.Message, delay);
            }
            finally
            {
                _queue.Done(key);
            }
        }
    }

    private async Task ListedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await reconciler.ListedAsync(cancellationToken).ConfigureAwait(false);
            _queue.Forget(ListedKey);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            var delay = _queue.AddAfterFailure(ListedKey, cancellationToken, ClusterFailures.IsUnavailableSilo(ex) ? ClusterFailures.MaxUnavailableSiloRetryDelay : null);
            Log.ForwardFailed(logger, informer.Name, "(listed)", ex.GetType().Name, ex.Message, delay);
        }
        finally
        {
            _queue.Done(ListedKey);
        }
    }

    private async Task ResyncAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.ResyncPeriod, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var keys = informer.Keys.ToList();
                lock (_lock)
                {
                    _resync.UnionWith(keys);
                }

                foreach (var key in keys)
                {
                    _queue.Add(key);
                }

                OnListed();

                Log.Resync(logger, informer.Name, keys.Count);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
