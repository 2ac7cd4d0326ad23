using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>
/// What a reconciler last forwarded per key: the incarnation (uid) and its generation, so that
/// each (uid, generation) is forwarded once and a change that leaves the generation alone (status
/// writes, finalizers, labels) is skipped. Thread-safe: the workers share it.
/// </summary>
internal sealed class ForwardedOrigins
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ResourceVersionInfo> _forwarded = new(StringComparer.Ordinal);

    public ResourceVersionInfo? Get(string key)
    {
        lock (_lock)
        {
            return _forwarded.GetValueOrDefault(key);
        }
    }

    /// <summary>Records what was forwarded; null forgets the key (deleted).</summary>
    public void Set(string key, ResourceVersionInfo? origin)
    {
        lock (_lock)
        {
            if (origin is null)
            {
                _forwarded.Remove(key);
            }
            else
            {
                _forwarded[key] = origin;
            }
        }
    }

    /// <summary>This incarnation was forwarded at this generation or a later one: nothing new to forward (but on resync).</summary>
    public bool Covers(string key, ResourceVersionInfo origin) =>
        Get(key) is { } forwarded && forwarded.Uid == origin.Uid && forwarded.Generation >= origin.Generation;
}

/// <summary>
/// The prune after a full list, for the objects that carry no finalizer (CertificatePolicies,
/// Issuers, ClusterIssuers): their grains keep what they were given, and a session sees only the
/// deletions made while it watches. So the reconciler records which objects exist as the
/// informer knows them (<see cref="Observe"/>, called before the key is queued) and, after each
/// full list, hands the grain side every one that exists (<see cref="PruneAsync"/>); the grain
/// side deletes the others, so an object deleted during a leader failover or an outage does not
/// stay in force. Forwards and the prune exclude each other (<see cref="ForwardAsync"/>): a prune
/// takes its snapshot and reaches the grains with no forward in between, so an object created
/// meanwhile is either in the snapshot or applied after the prune, never pruned after its apply.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The SemaphoreSlim's wait handle is never asked for: nothing to dispose.")]
internal sealed class ListPrune
{
    private readonly Lock _lock = new();

    // The objects that exist: uid by the grain side's id (a policy's name, an issuer's grain key).
    private readonly Dictionary<string, string> _existing = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _forwarding = new(1, 1);

    /// <param name="id">The grain side's id of the object.</param>
    /// <param name="uid">Its uid; null when it is gone or being deleted.</param>
    public void Observe(string id, string? uid)
    {
        lock (_lock)
        {
            if (uid is null)
            {
                _existing.Remove(id);
            }
            else
            {
                _existing[id] = uid;
            }
        }
    }

    /// <summary>Hands <paramref name="prune"/> the objects that exist (uid by id), with no forward running; returns how many.</summary>
    public async Task<int> PruneAsync(Func<IReadOnlyDictionary<string, string>, CancellationToken, Task> prune, CancellationToken cancellationToken)
    {
        await _forwarding.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Dictionary<string, string> existing;
            lock (_lock)
            {
                existing = new Dictionary<string, string>(_existing, StringComparer.Ordinal);
            }

            await prune(existing, cancellationToken).ConfigureAwait(false);
            return existing.Count;
        }
        finally
        {
            _forwarding.Release();
        }
    }

    /// <summary>Runs one forward (apply or delete) while no prune runs.</summary>
    public async Task ForwardAsync(Func<Task> forward, CancellationToken cancellationToken)
    {
        await _forwarding.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await forward().ConfigureAwait(false);
        }
        finally
        {
            _forwarding.Release();
        }
    }
}

/// <summary>
/// Completes once every object of the first full list was forwarded (or was gone by then): the
/// session holds the Certificates and stores back until the Breaches and the issuers are in
/// (see <see cref="WatchSession"/>).
/// </summary>
internal sealed class InitialListGate
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _unforwarded = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _initial = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _listed;

    public Task Forwarded => _initial.Task;

    /// <summary>Called as the informer sees the key (before it is queued); <paramref name="exists"/> is false once it is gone.</summary>
    public void Observe(string key, bool exists)
    {
        lock (_lock)
        {
            if (!exists)
            {
                _unforwarded.Remove(key);
            }
            else if (!_initial.Task.IsCompleted)
            {
                _unforwarded.Add(key);
            }

            Check();
        }
    }

    /// <summary>The key was handled (forwarded, or found not worth forwarding).</summary>
    public void Handled(string key)
    {
        lock (_lock)
        {
            _unforwarded.Remove(key);
            Check();
        }
    }

    /// <summary>The first full list is in: every key it held has been observed.</summary>
    public void Listed()
    {
        lock (_lock)
        {
            _listed = true;
            Check();
        }
    }

    private void Check()
    {
        if (_listed && _unforwarded.Count == 0)
        {
            _initial.TrySetResult();
        }
    }
}
