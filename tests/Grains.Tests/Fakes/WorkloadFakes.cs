using System.Collections.Concurrent;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains.Tests.Fakes;

/// <summary>
/// Workloads as the tests declare them, behind both restart ports: the finder answers from the
/// declarations, the patcher records every restart (and which silo asked) and, like the API
/// server, updates the workload's <c>notary.dev/restartedAt</c> to the whole second.
/// </summary>
public sealed class FakeWorkloads : IWorkloadFinder, IWorkloadPatcher
{
    private readonly ConcurrentDictionary<WorkloadRef, Declared> _workloads = new();
    private readonly ConcurrentQueue<Restarted> _restarts = new();

    public Signal Changed { get; } = new();

    /// <summary>How long each patch takes (real time), so that a test sees how many run at once.</summary>
    public TimeSpan PatchDelay { get; set; }

    private int _inFlight;
    private int _maxInFlight;

    /// <summary>The most patches of the namespace given to <see cref="ResetInFlight"/> that were in flight at once since.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>
    /// Counts from now the patches of <paramref name="namespace"/> only: the cluster is shared, and
    /// other tests' background reloads must not count as this test's patches.
    /// </summary>
    public void ResetInFlight(string @namespace)
    {
        _inFlightNamespace = @namespace;
        Volatile.Write(ref _inFlight, 0);
        Volatile.Write(ref _maxInFlight, 0);
    }

    private volatile string? _inFlightNamespace;

    /// <summary>Workloads whose patch the (pretend) API server refuses.</summary>
    public ConcurrentDictionary<WorkloadRef, bool> Refused { get; } = new();

    public void Add(WorkloadRef workload, bool optedIn, params string[] secrets) => _workloads[workload] = new Declared(secrets, optedIn, null);

    public void Remove(WorkloadRef workload) => _workloads.TryRemove(workload, out _);

    /// <summary>Someone else (another Notary instance, a person) restarted the workload at <paramref name="at"/>.</summary>
    public void RestartedElsewhere(WorkloadRef workload, DateTimeOffset at) =>
        _workloads.AddOrUpdate(workload, _ => throw new InvalidOperationException($"{workload} is not declared"), (_, d) => d with { RestartedAt = RestartPolicy.TruncateToSeconds(at) });

    public void OptIn(WorkloadRef workload, bool optedIn) =>
        _workloads.AddOrUpdate(workload, _ => throw new InvalidOperationException($"{workload} is not declared"), (_, d) => d with { OptedIn = optedIn });

    public IReadOnlyList<Restarted> Restarts(WorkloadRef workload) => [.. _restarts.Where(r => r.Workload == workload)];

    public Task<IReadOnlyList<WorkloadSnapshot>> FindAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<WorkloadSnapshot>>([.. _workloads
            .Where(w => w.Key.Namespace == @namespace && w.Value.Secrets.Any(secretNames.Contains))
            .OrderBy(w => w.Key.Name, StringComparer.Ordinal)
            .Select(w => Snapshot(w.Key, w.Value, [.. w.Value.Secrets.Where(secretNames.Contains).Order(StringComparer.Ordinal)]))]);

    public Task<WorkloadSnapshot?> ReadAsync(WorkloadRef workload, CancellationToken cancellationToken) =>
        Task.FromResult(_workloads.TryGetValue(workload, out var declared) ? Snapshot(workload, declared, [.. declared.Secrets.Order(StringComparer.Ordinal)]) : null);

    public Task<bool> RestartAsync(WorkloadRef workload, DateTimeOffset at, IReadOnlyCollection<string> secrets, IReadOnlyCollection<string> reasons, CancellationToken cancellationToken) =>
        RestartAsync(workload, at, secrets, reasons, silo: null);

    public async Task<bool> RestartAsync(WorkloadRef workload, DateTimeOffset at, IReadOnlyCollection<string> secrets, IReadOnlyCollection<string> reasons, string? silo)
    {
        var counted = workload.Namespace == _inFlightNamespace;
        var inFlight = counted ? Interlocked.Increment(ref _inFlight) : 0;
        try
        {
            int max;
            while (inFlight > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, inFlight, max) != max)
            {
            }

            if (PatchDelay > TimeSpan.Zero)
            {
                await Task.Delay(PatchDelay);
            }

            return Patch(workload, at, secrets, reasons, silo);
        }
        finally
        {
            if (counted)
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }

    private bool Patch(WorkloadRef workload, DateTimeOffset at, IReadOnlyCollection<string> secrets, IReadOnlyCollection<string> reasons, string? silo)
    {
        if (Refused.ContainsKey(workload))
        {
            throw new HttpRequestException($"Restarting {workload} failed: patch refused (test)");
        }

        if (!_workloads.TryGetValue(workload, out var declared))
        {
            return false;
        }

        _workloads[workload] = declared with { RestartedAt = RestartPolicy.TruncateToSeconds(at) };
        _restarts.Enqueue(new Restarted(workload, at, [.. secrets], [.. reasons], silo, DateTimeOffset.UtcNow));
        Changed.Pulse();
        return true;
    }

    private static WorkloadSnapshot Snapshot(WorkloadRef workload, Declared declared, IReadOnlyList<string> secrets) =>
        new(workload, declared.OptedIn, declared.RestartedAt, secrets);

    private sealed record Declared(string[] Secrets, bool OptedIn, DateTimeOffset? RestartedAt);
}

/// <summary>One restart the patcher did: when (the grain's clock), why, which silo asked, and when that was in real time.</summary>
public sealed record Restarted(WorkloadRef Workload, DateTimeOffset At, string[] Secrets, string[] Reasons, string? Silo, DateTimeOffset RealTime);

/// <summary>The shared <see cref="FakeWorkloads"/> as one silo's patcher: restarts are recorded with the silo's address.</summary>
public sealed class SiloPatcher(FakeWorkloads workloads, string silo) : IWorkloadPatcher
{
    public Task<WorkloadSnapshot?> ReadAsync(WorkloadRef workload, CancellationToken cancellationToken) => workloads.ReadAsync(workload, cancellationToken);

    public Task<bool> RestartAsync(WorkloadRef workload, DateTimeOffset at, IReadOnlyCollection<string> secrets, IReadOnlyCollection<string> reasons, CancellationToken cancellationToken) =>
        workloads.RestartAsync(workload, at, secrets, reasons, silo);
}
