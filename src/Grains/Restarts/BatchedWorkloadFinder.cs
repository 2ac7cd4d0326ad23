using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Restarts;

/// <summary>
/// Batches the restarter's lookups of one namespace's workloads. Every truststore a breach or a
/// renewal rebuilds asks which workloads mount its Secret, and the finder answers by listing
/// every Deployment, StatefulSet and DaemonSet of the namespace: N stores rebuilt at once listed
/// N times N workloads (the contain benchmark's 1,000 truststores: a million workloads decoded,
/// bench/RESULTS.md). Here, one list per namespace is in flight at a time, and the callers that
/// arrive meanwhile share the next one, asked for all their Secrets together; each caller gets
/// the workloads of its own Secrets. Every answer still comes from a list started after the
/// caller asked, so it is as fresh as an unbatched one.
/// </summary>
/// <remarks>
/// The list runs outside the calling grain's scheduler (it serves many grains; the finder's
/// adapter does no grain work), and no caller's cancellation ends it: a caller that gives up
/// stops waiting, the others still get their answer. What does end it is
/// <see cref="DefaultListTimeout"/>: a list the API server never answers would otherwise hold
/// every later lookup of its namespace behind it for good; timed out, its callers fail (their
/// grains retry with backoff) and the next caller starts a fresh list.
/// </remarks>
public sealed class BatchedWorkloadFinder(IWorkloadFinder finder, TimeSpan? listTimeout = null)
{
    /// <summary>
    /// How long one lookup may take in all: it pages through the namespace's Deployments,
    /// StatefulSets and DaemonSets (several requests, each bounded by the client's own timeout),
    /// so the bound is generous; it is there for a lookup that never ends, not a slow one.
    /// </summary>
    public static readonly TimeSpan DefaultListTimeout = TimeSpan.FromMinutes(5);

    private readonly TimeSpan _listTimeout = listTimeout ?? DefaultListTimeout;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Batch> _waiting = new(StringComparer.Ordinal);
    private readonly HashSet<string> _listing = new(StringComparer.Ordinal);

    /// <summary>Lists started, for tests and the benchmark's profile.</summary>
    public int Lists => _lists;

    private int _lists;

    public async Task<IReadOnlyList<WorkloadSnapshot>> FindAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken)
    {
        var wanted = secretNames.ToHashSet(StringComparer.Ordinal);
        if (wanted.Count == 0)
        {
            return [];
        }

        Batch batch;
        var start = false;
        lock (_lock)
        {
            if (!_waiting.TryGetValue(@namespace, out batch!))
            {
                batch = new Batch();
                _waiting[@namespace] = batch;
            }

            batch.Secrets.UnionWith(wanted);
            if (_listing.Add(@namespace))
            {
                _waiting.Remove(@namespace);
                start = true;
            }
        }

        if (start)
        {
            _ = Task.Factory.StartNew(() => ListAsync(@namespace, batch), CancellationToken.None, TaskCreationOptions.DenyChildAttach, TaskScheduler.Default).Unwrap();
        }

        var found = await batch.Result.Task.WaitAsync(cancellationToken);
        var mine = new List<WorkloadSnapshot>();
        foreach (var workload in found)
        {
            var used = workload.Secrets.Where(wanted.Contains).ToList();
            if (used.Count > 0)
            {
                mine.Add(used.Count == workload.Secrets.Count ? workload : workload with { Secrets = used });
            }
        }

        return mine;
    }

    /// <summary>Lists for one batch, then for the batch that gathered meanwhile, until none waits.</summary>
    private async Task ListAsync(string @namespace, Batch batch)
    {
        while (true)
        {
            Interlocked.Increment(ref _lists);
            using var timeout = new CancellationTokenSource(_listTimeout);
            try
            {
                // WaitAsync as well as the token: a finder that ignores the token still lets go.
                batch.Result.SetResult(await finder.FindAsync(@namespace, batch.Secrets, timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                batch.Result.SetException(new TimeoutException($"Listing the workloads of namespace {@namespace} took longer than {_listTimeout.TotalSeconds:0} s; the lookup is retried."));
            }
            catch (Exception ex)
            {
                batch.Result.SetException(ex);
            }

            lock (_lock)
            {
                if (!_waiting.Remove(@namespace, out batch!))
                {
                    _listing.Remove(@namespace);
                    return;
                }
            }
        }
    }

    private sealed class Batch
    {
        public HashSet<string> Secrets { get; } = new(StringComparer.Ordinal);

        public TaskCompletionSource<IReadOnlyList<WorkloadSnapshot>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
