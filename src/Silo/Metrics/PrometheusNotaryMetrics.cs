using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Prometheus;

namespace Notary.Silo.Metrics;

/// <summary>
/// Adapter for <see cref="INotaryMetrics"/> with prometheus-net: the figures an operator alerts on
/// (expiry, renewal time, readiness) and counts of issuances, renewals and failures, one series
/// per resource. A removed resource takes its series with it, so dashboards and alerts never
/// show a certificate that no longer exists. The collectors live in the host's own
/// <see cref="CollectorRegistry"/> (never the static default), so several hosts in one process
/// (tests) each expose only their own figures.
/// </summary>
public sealed class PrometheusNotaryMetrics : INotaryMetrics
{
    public const string ExpirationTimestamp = "notary_certificate_expiration_timestamp_seconds";
    public const string RenewalTimestamp = "notary_certificate_renewal_timestamp_seconds";
    public const string CertificateReady = "notary_certificate_ready_status";
    public const string StoreReady = "notary_store_ready_status";
    public const string Issuances = "notary_certificate_issuances_total";
    public const string Renewals = "notary_certificate_renewals_total";
    public const string Failures = "notary_certificate_failures_total";
    public const string StoreWrites = "notary_store_writes_total";
    public const string BreachItems = "notary_breach_items";
    public const string BreachesFinished = "notary_breaches_finished_total";
    public const string WatcherLeading = "notary_watcher_leading";

    /// <summary>The outcomes <see cref="Count"/> knows.</summary>
    public const string Issued = "issued";
    public const string Renewed = "renewed";
    public const string Failed = "failed";

    private static readonly string[] ResourceLabels = ["namespace", "name"];
    private static readonly string[] StoreLabels = ["kind", "namespace", "name"];
    private static readonly string[] BreachItemLabels = ["namespace", "name", "mode", "status"];
    private static readonly string[] ItemStatuses = [BreachItemStatus.Pending, BreachItemStatus.InProgress, BreachItemStatus.Completed, BreachItemStatus.Failed];
    private static readonly string[] FinishedPhases = [BreachPhase.Completed, BreachPhase.Failed, BreachPhase.Lifted];

    private readonly Gauge _expiration;
    private readonly Gauge _renewal;
    private readonly Gauge _certificateReady;
    private readonly Gauge _storeReady;
    private readonly Counter _issuances;
    private readonly Counter _renewals;
    private readonly Counter _failures;
    private readonly Counter _storeWrites;
    private readonly Gauge _breachItems;
    private readonly Counter _breachesFinished;
    private readonly Gauge _watcherLeading;
    private readonly ILogger<PrometheusNotaryMetrics> _logger;

    public PrometheusNotaryMetrics(CollectorRegistry registry, ILogger<PrometheusNotaryMetrics> logger)
    {
        _logger = logger;
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _expiration = factory.CreateGauge(ExpirationTimestamp, "The time the current certificate expires (its notAfter), in seconds since the Unix epoch.", ResourceLabels);
        _renewal = factory.CreateGauge(RenewalTimestamp, "The time Notary renews the certificate, in seconds since the Unix epoch.", ResourceLabels);
        _certificateReady = factory.CreateGauge(CertificateReady, "1 when the Certificate is Ready, 0 when not.", ResourceLabels);
        _storeReady = factory.CreateGauge(StoreReady, "1 when the Keystore or Truststore is Ready, 0 when not.", StoreLabels);
        _issuances = factory.CreateCounter(Issuances, "Certificates issued (first issuance, spec change, re-key).", ResourceLabels);
        _renewals = factory.CreateCounter(Renewals, "Certificates renewed before expiry.", ResourceLabels);
        _failures = factory.CreateCounter(Failures, "Issuances or renewals that failed.", ResourceLabels);
        _storeWrites = factory.CreateCounter(StoreWrites, "Keystores and Truststores written to their secret store (first builds and rebuilds).", StoreLabels);
        _breachItems = factory.CreateGauge(BreachItems, "The items of a breach (the certificate, its stores, their workloads) by status, while the silo runs it.", BreachItemLabels);
        _breachesFinished = factory.CreateCounter(BreachesFinished, "Breaches that finished, by mode and phase (Completed, Failed, Lifted).", "mode", "phase");
        _watcherLeading = factory.CreateGauge(WatcherLeading, "1 when this silo's watcher holds the leader Lease and watches the API server, 0 when it stands by.");

        // Every (mode, phase) exists from the start at 0, so that the first failed breach is an
        // increase a rule sees (a series born at 1 has no increase).
        foreach (var mode in Enum.GetValues<BreachMode>())
        {
            foreach (var phase in FinishedPhases)
            {
                _breachesFinished.WithLabels(ModeLabel(mode), phase);
            }
        }
    }

    public void CertificateObserved(ResourceKey resource, DateTimeOffset? notAfter, DateTimeOffset? renewalTime, bool ready)
    {
        SetOrRemove(_expiration, resource, notAfter);
        SetOrRemove(_renewal, resource, renewalTime);
        _certificateReady.WithLabels(resource.Namespace, resource.Name).Set(ready ? 1 : 0);

        // The counters exist at 0 from the certificate's first observation, so that its first
        // failure (or renewal) is an increase to Prometheus, not the birth of a series.
        _issuances.WithLabels(resource.Namespace, resource.Name);
        _renewals.WithLabels(resource.Namespace, resource.Name);
        _failures.WithLabels(resource.Namespace, resource.Name);
    }

    public void CertificateRemoved(ResourceKey resource)
    {
        _expiration.RemoveLabelled(resource.Namespace, resource.Name);
        _renewal.RemoveLabelled(resource.Namespace, resource.Name);
        _certificateReady.RemoveLabelled(resource.Namespace, resource.Name);
        _issuances.RemoveLabelled(resource.Namespace, resource.Name);
        _renewals.RemoveLabelled(resource.Namespace, resource.Name);
        _failures.RemoveLabelled(resource.Namespace, resource.Name);
    }

    public void StoreObserved(ResourceKind kind, ResourceKey resource, bool ready)
    {
        _storeReady.WithLabels(kind.ToString(), resource.Namespace, resource.Name).Set(ready ? 1 : 0);
        _storeWrites.WithLabels(kind.ToString(), resource.Namespace, resource.Name);
    }

    public void StoreRemoved(ResourceKind kind, ResourceKey resource)
    {
        _storeReady.RemoveLabelled(kind.ToString(), resource.Namespace, resource.Name);
        _storeWrites.RemoveLabelled(kind.ToString(), resource.Namespace, resource.Name);
    }

    public void StoreWritten(ResourceKind kind, ResourceKey resource) =>
        _storeWrites.WithLabels(kind.ToString(), resource.Namespace, resource.Name).Inc();

    public void BreachObserved(ResourceKey breach, BreachMode mode, IReadOnlyList<BreachItem>? items)
    {
        foreach (var status in ItemStatuses)
        {
            if (items is null)
            {
                _breachItems.RemoveLabelled(breach.Namespace, breach.Name, ModeLabel(mode), status);
            }
            else
            {
                _breachItems.WithLabels(breach.Namespace, breach.Name, ModeLabel(mode), status).Set(items.Count(i => i.Status == status));
            }
        }
    }

    public void BreachFinished(BreachMode mode, string phase)
    {
        // Only the three end phases are series (bounded labels); anything else is not a finish.
        if (Array.IndexOf(FinishedPhases, phase) < 0)
        {
            return;
        }

        _breachesFinished.WithLabels(ModeLabel(mode), phase).Inc();
    }

    /// <summary>Reads <paramref name="isLeading"/> before every scrape into <see cref="WatcherLeading"/>.</summary>
    public void WatchLeadership(CollectorRegistry registry, Func<bool> isLeading)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(isLeading);
        registry.AddBeforeCollectCallback(() => _watcherLeading.Set(isLeading() ? 1 : 0));
    }

    private static string ModeLabel(BreachMode mode) => mode == BreachMode.Rotate ? "rotate" : "quarantine";

    public void Count(ResourceKey resource, string outcome)
    {
        var counter = outcome switch
        {
            Issued => _issuances,
            Renewed => _renewals,
            Failed => _failures,
            _ => null,
        };
        if (counter is null)
        {
            // A metric must never break the grain that reports it.
            Log.UnknownOutcome(_logger, outcome, resource);
            return;
        }

        counter.WithLabels(resource.Namespace, resource.Name).Inc();
    }

    private static void SetOrRemove(Gauge gauge, ResourceKey resource, DateTimeOffset? at)
    {
        if (at is { } value)
        {
            gauge.WithLabels(resource.Namespace, resource.Name).Set(value.ToUnixTimeMilliseconds() / 1000.0);
        }
        else
        {
            gauge.RemoveLabelled(resource.Namespace, resource.Name);
        }
    }
}
