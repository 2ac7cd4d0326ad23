using System.Collections.Concurrent;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Tests.Fakes;

/// <summary>Keeps every alert sent.</summary>
public sealed class RecordingAlertSink : IAlertSink
{
    private readonly ConcurrentQueue<Alert> _alerts = new();

    public Signal Changed { get; } = new();

    public Task SendAsync(Alert alert, CancellationToken cancellationToken)
    {
        _alerts.Enqueue(alert);
        Changed.Pulse();
        return Task.CompletedTask;
    }

    public IReadOnlyList<Alert> For(ResourceKey resource) => [.. _alerts.Where(a => a.Resource == resource)];
}

/// <summary>The last figures reported per resource, and the counters.</summary>
public sealed class RecordingMetrics : INotaryMetrics
{
    private readonly ConcurrentDictionary<ResourceKey, (DateTimeOffset? NotAfter, DateTimeOffset? RenewalTime, bool Ready)> _certificates = new();
    private readonly ConcurrentDictionary<(ResourceKind, ResourceKey), bool> _stores = new();
    private readonly ConcurrentDictionary<(ResourceKey, string), int> _counts = new();

    public void CertificateObserved(ResourceKey resource, DateTimeOffset? notAfter, DateTimeOffset? renewalTime, bool ready) => _certificates[resource] = (notAfter, renewalTime, ready);

    public void CertificateRemoved(ResourceKey resource) => _certificates.TryRemove(resource, out _);

    public void StoreObserved(ResourceKind kind, ResourceKey resource, bool ready) => _stores[(kind, resource)] = ready;

    public void StoreRemoved(ResourceKind kind, ResourceKey resource) => _stores.TryRemove((kind, resource), out _);

    public void Count(ResourceKey resource, string outcome) => _counts.AddOrUpdate((resource, outcome), 1, (_, n) => n + 1);

    public (DateTimeOffset? NotAfter, DateTimeOffset? RenewalTime, bool Ready)? Certificate(ResourceKey resource) =>
        _certificates.TryGetValue(resource, out var value) ? value : null;

    public bool? Store(ResourceKind kind, ResourceKey resource) => _stores.TryGetValue((kind, resource), out var ready) ? ready : null;

    public int Counted(ResourceKey resource, string outcome) => _counts.GetValueOrDefault((resource, outcome));

    private readonly ConcurrentDictionary<ResourceKey, IReadOnlyList<BreachItem>> _breaches = new();
    private readonly ConcurrentDictionary<(BreachMode, string), int> _finished = new();
    private readonly ConcurrentDictionary<(ResourceKind, ResourceKey), int> _writes = new();

    public void StoreWritten(ResourceKind kind, ResourceKey resource) => _writes.AddOrUpdate((kind, resource), 1, (_, n) => n + 1);

    public void BreachObserved(ResourceKey breach, BreachMode mode, IReadOnlyList<BreachItem>? items)
    {
        if (items is null)
        {
            _breaches.TryRemove(breach, out _);
        }
        else
        {
            _breaches[breach] = items;
        }
    }

    public void BreachFinished(BreachMode mode, string phase) => _finished.AddOrUpdate((mode, phase), 1, (_, n) => n + 1);

    /// <summary>The items last reported for a breach; null when its series are removed.</summary>
    public IReadOnlyList<BreachItem>? Breach(ResourceKey breach) => _breaches.TryGetValue(breach, out var items) ? items : null;

    public int Finished(BreachMode mode, string phase) => _finished.GetValueOrDefault((mode, phase));

    public int Writes(ResourceKind kind, ResourceKey resource) => _writes.GetValueOrDefault((kind, resource));
}

/// <summary>
/// Workloads as the tests declare them (namespace → workload → Secrets it uses); records restarts.
/// <see cref="Failing"/> namespaces throw, as an API server refusing the patch would.
/// </summary>
public sealed class FakeWorkloadRestarter : IWorkloadRestarter
{
    private readonly ConcurrentDictionary<WorkloadRef, string[]> _workloads = new();
    private readonly ConcurrentQueue<(WorkloadRef Workload, string Reason)> _restarts = new();
    private readonly ConcurrentQueue<(string Namespace, string[] Secrets, bool OnlyOptedIn)> _requests = new();

    /// <summary>Every restart asked for, with the Secrets and whether only opted-in workloads were meant.</summary>
    public IReadOnlyList<(string Namespace, string[] Secrets, bool OnlyOptedIn)> Requests(string @namespace) => [.. _requests.Where(r => r.Namespace == @namespace)];

    /// <summary>Pulsed after every restart request.</summary>
    public Signal Requested { get; } = new();

    /// <summary>Waits until the namespace's requests satisfy <paramref name="condition"/> (a request comes after the store's status is written).</summary>
    public Task<IReadOnlyList<(string Namespace, string[] Secrets, bool OnlyOptedIn)>> WaitRequestsAsync(string @namespace, Func<IReadOnlyList<(string Namespace, string[] Secrets, bool OnlyOptedIn)>, bool> condition, string what) =>
        Requested.WaitAsync(() => Requests(@namespace), condition, TimeSpan.FromSeconds(30), $"restart requests in {@namespace}: {what}");

    public ConcurrentDictionary<string, bool> Failing { get; } = new();

    public void Add(WorkloadRef workload, params string[] secrets) => _workloads[workload] = secrets;

    public IReadOnlyList<(WorkloadRef Workload, string Reason)> Restarts(string @namespace) => [.. _restarts.Where(r => r.Workload.Namespace == @namespace)];

    public Task<IReadOnlyList<WorkloadRef>> FindAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<WorkloadRef>>([.. _workloads.Where(w => w.Key.Namespace == @namespace && w.Value.Any(secretNames.Contains)).Select(w => w.Key).OrderBy(w => w.Name, StringComparer.Ordinal)]);

    /// <summary>Workloads whose restart the (pretend) rate limit defers, to when.</summary>
    public ConcurrentDictionary<WorkloadRef, DateTimeOffset> Deferred { get; } = new();

    public async Task<IReadOnlyList<WorkloadRestart>> RestartAsync(string @namespace, IReadOnlyCollection<string> secretNames, bool onlyOptedIn, string reason, CancellationToken cancellationToken)
    {
        _requests.Enqueue((@namespace, [.. secretNames], onlyOptedIn));
        Requested.Pulse();
        if (Failing.ContainsKey(@namespace))
        {
            throw new HttpRequestException("patch refused (test)");
        }

        if (onlyOptedIn)
        {
            // The fake has no annotations: nobody opted in.
            return [];
        }

        var found = await FindAsync(@namespace, secretNames, cancellationToken);
        foreach (var workload in found.Where(w => !Deferred.ContainsKey(w)))
        {
            _restarts.Enqueue((workload, reason));
        }

        return [.. found.Select(w => new WorkloadRestart(w, Deferred.TryGetValue(w, out var until) ? until : null))];
    }
}
