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

    /// <summary>The outcomes <see cref="Count"/> knows.</summary>
    public const string Issued = "issued";
    public const string Renewed = "renewed";
    public const string Failed = "failed";

    private static readonly string[] ResourceLabels = ["namespace", "name"];
    private static readonly string[] StoreLabels = ["kind", "namespace", "name"];

    private readonly Gauge _expiration;
    private readonly Gauge _renewal;
    private readonly Gauge _certificateReady;
    private readonly Gauge _storeReady;
    private readonly Counter _issuances;
    private readonly Counter _renewals;
    private readonly Counter _failures;
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
    }

    public void CertificateObserved(ResourceKey resource, DateTimeOffset? notAfter, DateTimeOffset? renewalTime, bool ready)
    {
        SetOrRemove(_expiration, resource, notAfter);
        SetOrRemove(_renewal, resource, renewalTime);
        _certificateReady.WithLabels(resource.Namespace, resource.Name).Set(ready ? 1 : 0);
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

    public void StoreObserved(ResourceKind kind, ResourceKey resource, bool ready) =>
        _storeReady.WithLabels(kind.ToString(), resource.Namespace, resource.Name).Set(ready ? 1 : 0);

    public void StoreRemoved(ResourceKind kind, ResourceKey resource) =>
        _storeReady.RemoveLabelled(kind.ToString(), resource.Namespace, resource.Name);

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
