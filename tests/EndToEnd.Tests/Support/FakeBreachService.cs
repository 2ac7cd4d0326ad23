using System.Collections.Concurrent;
using Notary.Grains.Abstractions;
using Notary.Silo;

namespace Notary.EndToEnd.Tests.Support;

/// <summary>
/// Stands in for the Breach objects and breach grains behind the HTTP API. The impact is fixed per mode; each GET
/// moves every unfinished item one step (Pending → InProgress → Completed), so a follower must
/// poll to see the end. A reason containing <see cref="FailMarker"/> makes the Deployment fail.
/// </summary>
public sealed class FakeBreachService : IBreachService
{
    public const string FailMarker = "[fail]";
    public const string FailureReason = "rollout of the new pods timed out";

    private readonly ConcurrentDictionary<string, BreachReport> _breaches = new();
    private readonly object _gate = new();

    /// <summary>Every request that reached the service, in order.</summary>
    public ConcurrentQueue<BreachRequest> Requests { get; } = new();

    public Task<BreachReport> ImpactAsync(BreachRequest request, CancellationToken cancellationToken) => Task.FromResult(Start(request));

    public Task<BreachReport> CreateAsync(BreachRequest request, CancellationToken cancellationToken) => Task.FromResult(Start(request));

    private BreachReport Start(BreachRequest request)
    {
        Requests.Enqueue(request);
        var id = BreachIds.For(new ResourceKey(request.Certificate.Namespace, BreachIds.NewName(request.Certificate.Name)));
        var report = new BreachReport
        {
            Id = id,
            Certificate = request.Certificate,
            Mode = request.Mode,
            Reason = request.Reason,
            Phase = request.DryRun ? BreachPhase.DryRun : BreachPhase.InProgress,
            Created = TimeProvider.System.GetUtcNow(),
            RequestedBy = request.RequestedBy,
            Items = Impact(request),
        };
        return request.DryRun ? report : _breaches.GetOrAdd(id, report);
    }

    public Task<BreachReport?> GetAsync(ResourceKey breach, CancellationToken cancellationToken) => GetAsync(BreachIds.For(breach));

    private Task<BreachReport?> GetAsync(string id)
    {
        lock (_gate)
        {
            if (!_breaches.TryGetValue(id, out var report))
            {
                return Task.FromResult<BreachReport?>(null);
            }

            if (report.Phase == BreachPhase.InProgress)
            {
                var failing = report.Reason.Contains(FailMarker, StringComparison.Ordinal);
                var items = report.Items.Select(item => item.Status switch
                {
                    BreachItemStatus.Pending => item with { Status = BreachItemStatus.InProgress },
                    BreachItemStatus.InProgress when failing && item.Kind == "Deployment" => item with { Status = BreachItemStatus.Failed, Reason = FailureReason },
                    BreachItemStatus.InProgress => item with { Status = BreachItemStatus.Completed },
                    _ => item,
                }).ToList();
                var done = items.All(i => i.Status is BreachItemStatus.Completed or BreachItemStatus.Failed);
                report = report with
                {
                    Items = items,
                    Phase = !done ? BreachPhase.InProgress : items.Any(i => i.Status == BreachItemStatus.Failed) ? BreachPhase.Failed : BreachPhase.Completed,
                    Finished = done ? TimeProvider.System.GetUtcNow() : null,
                    Message = done && failing ? "1 item failed" : null,
                };
                _breaches[id] = report;
            }

            return Task.FromResult<BreachReport?>(report);
        }
    }

    public Task<BreachReport?> DeleteAsync(ResourceKey breach, CancellationToken cancellationToken)
    {
        var removed = _breaches.TryRemove(BreachIds.For(breach), out var report);
        return Task.FromResult(removed ? report : null);
    }

    private static List<BreachItem> Impact(BreachRequest request)
    {
        var ns = request.Certificate.Namespace;
        var name = request.Certificate.Name;
        List<BreachItem> items = request.Mode == BreachMode.Rotate
            ? [new("Certificate", ns, name, BreachItemStatus.Pending), new("Keystore", ns, name + "-keystore", BreachItemStatus.Pending)]
            : [];
        items.Add(new("Truststore", ns, "clients", BreachItemStatus.Pending));
        items.Add(new("Truststore", ns, "partners", BreachItemStatus.Pending));
        items.Add(new("Deployment", ns, "api", BreachItemStatus.Pending));
        return items;
    }
}
