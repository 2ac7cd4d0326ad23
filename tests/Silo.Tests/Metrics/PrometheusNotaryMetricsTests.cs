using Microsoft.Extensions.Logging.Abstractions;
using Notary.Grains.Abstractions;
using Notary.Silo.Metrics;
using Notary.Silo.Tests.Support;
using Prometheus;

namespace Notary.Silo.Tests.Metrics;

public sealed class PrometheusNotaryMetricsTests
{
    private static readonly ResourceKey Api = new("shop", "api");
    private static readonly ResourceKey Web = new("shop", "web");
    private static readonly DateTimeOffset NotAfter = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();

    private PrometheusNotaryMetrics Metrics() => new(_registry, NullLogger<PrometheusNotaryMetrics>.Instance);

    private async Task<IReadOnlyList<Sample>> ScrapeAsync() => Exposition.Parse(await Exposition.ExportAsync(_registry));

    private static Sample? Find(IReadOnlyList<Sample> samples, string name, ResourceKey resource, string? kind = null) =>
        samples.SingleOrDefault(s => s.Name == name && s.Has(("namespace", resource.Namespace), ("name", resource.Name)) && (kind is null || s.Has(("kind", kind))));

    [Fact]
    public async Task A_certificate_s_expiry_renewal_time_and_readiness_are_gauges_per_namespace_and_name()
    {
        var metrics = Metrics();

        metrics.CertificateObserved(Api, NotAfter, NotAfter.AddDays(-30), ready: true);
        metrics.CertificateObserved(Web, NotAfter.AddDays(1), null, ready: false);

        var samples = await ScrapeAsync();
        Assert.Equal(NotAfter.ToUnixTimeSeconds(), Find(samples, PrometheusNotaryMetrics.ExpirationTimestamp, Api)!.Value);
        Assert.Equal(NotAfter.AddDays(-30).ToUnixTimeSeconds(), Find(samples, PrometheusNotaryMetrics.RenewalTimestamp, Api)!.Value);
        Assert.Equal(1, Find(samples, PrometheusNotaryMetrics.CertificateReady, Api)!.Value);
        Assert.Equal(NotAfter.AddDays(1).ToUnixTimeSeconds(), Find(samples, PrometheusNotaryMetrics.ExpirationTimestamp, Web)!.Value);
        Assert.Null(Find(samples, PrometheusNotaryMetrics.RenewalTimestamp, Web));
        Assert.Equal(0, Find(samples, PrometheusNotaryMetrics.CertificateReady, Web)!.Value);
    }

    [Fact]
    public async Task A_later_observation_replaces_the_values_and_null_times_clear_their_series()
    {
        var metrics = Metrics();
        metrics.CertificateObserved(Api, NotAfter, NotAfter.AddDays(-30), ready: true);

        metrics.CertificateObserved(Api, null, null, ready: false);

        var samples = await ScrapeAsync();
        Assert.Null(Find(samples, PrometheusNotaryMetrics.ExpirationTimestamp, Api));
        Assert.Null(Find(samples, PrometheusNotaryMetrics.RenewalTimestamp, Api));
        Assert.Equal(0, Find(samples, PrometheusNotaryMetrics.CertificateReady, Api)!.Value);
    }

    [Fact]
    public async Task Issuances_renewals_and_failures_are_counted_and_an_unknown_outcome_is_ignored()
    {
        var metrics = Metrics();

        metrics.Count(Api, "issued");
        metrics.Count(Api, "renewed");
        metrics.Count(Api, "renewed");
        metrics.Count(Api, "failed");
        metrics.Count(Api, "failed");
        metrics.Count(Api, "failed");
        metrics.Count(Web, "issued");
        metrics.Count(Api, "exploded");

        var samples = await ScrapeAsync();
        Assert.Equal(1, Find(samples, PrometheusNotaryMetrics.Issuances, Api)!.Value);
        Assert.Equal(2, Find(samples, PrometheusNotaryMetrics.Renewals, Api)!.Value);
        Assert.Equal(3, Find(samples, PrometheusNotaryMetrics.Failures, Api)!.Value);
        Assert.Equal(1, Find(samples, PrometheusNotaryMetrics.Issuances, Web)!.Value);
        Assert.DoesNotContain(samples, s => s.Name.Contains("exploded", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Store_readiness_is_labelled_with_the_kind()
    {
        var metrics = Metrics();

        metrics.StoreObserved(ResourceKind.Keystore, Api, ready: true);
        metrics.StoreObserved(ResourceKind.Truststore, Api, ready: false);

        var samples = await ScrapeAsync();
        Assert.Equal(1, Find(samples, PrometheusNotaryMetrics.StoreReady, Api, "Keystore")!.Value);
        Assert.Equal(0, Find(samples, PrometheusNotaryMetrics.StoreReady, Api, "Truststore")!.Value);
    }

    [Fact]
    public async Task Removing_a_resource_removes_its_series_and_only_its_own()
    {
        var metrics = Metrics();
        foreach (var resource in new[] { Api, Web })
        {
            metrics.CertificateObserved(resource, NotAfter, NotAfter.AddDays(-30), ready: true);
            metrics.Count(resource, "issued");
            metrics.Count(resource, "renewed");
            metrics.Count(resource, "failed");
            metrics.StoreObserved(ResourceKind.Keystore, resource, ready: true);
            metrics.StoreObserved(ResourceKind.Truststore, resource, ready: true);
        }

        metrics.CertificateRemoved(Api);
        metrics.StoreRemoved(ResourceKind.Keystore, Api);

        var samples = await ScrapeAsync();
        var api = samples.Where(s => s.Has(("namespace", "shop"), ("name", "api"))).ToList();
        Assert.Equal([(PrometheusNotaryMetrics.StoreReady, "Truststore"), (PrometheusNotaryMetrics.StoreWrites, "Truststore")], api.Select(s => (s.Name, s.Labels["kind"])).Order());
        Assert.Equal(10, samples.Count(s => s.Has(("namespace", "shop"), ("name", "web"))));

        metrics.StoreRemoved(ResourceKind.Truststore, Api);
        Assert.DoesNotContain(await ScrapeAsync(), s => s.Has(("name", "api")));
    }
    [Fact]
    public async Task Counters_exist_at_zero_from_the_first_observation_so_a_first_failure_is_an_increase()
    {
        var metrics = Metrics();
        metrics.CertificateObserved(Api, NotAfter, NotAfter.AddDays(-30), ready: true);
        metrics.StoreObserved(ResourceKind.Truststore, Api, ready: true);

        var samples = await ScrapeAsync();
        Assert.Equal(0, Find(samples, PrometheusNotaryMetrics.Failures, Api)!.Value);
        Assert.Equal(0, Find(samples, PrometheusNotaryMetrics.Renewals, Api)!.Value);
        Assert.Equal(0, Find(samples, PrometheusNotaryMetrics.Issuances, Api)!.Value);
        Assert.Equal(0, Find(samples, PrometheusNotaryMetrics.StoreWrites, Api, "Truststore")!.Value);
        Assert.Equal(6, samples.Count(s => s.Name == PrometheusNotaryMetrics.BreachesFinished && s.Value == 0));
    }

    [Fact]
    public async Task Store_writes_breach_items_and_finishes_are_counted_and_a_removed_breach_takes_its_series()
    {
        var metrics = Metrics();
        var leak = new ResourceKey("shop", "leak");
        metrics.StoreWritten(ResourceKind.Keystore, Api);
        metrics.StoreWritten(ResourceKind.Keystore, Api);
        metrics.BreachObserved(leak, BreachMode.Rotate,
        [
            new BreachItem("Certificate", "shop", "api", BreachItemStatus.Completed),
            new BreachItem("Truststore", "shop", "web-ts", BreachItemStatus.Failed, "AccessDenied"),
            new BreachItem("Truststore", "shop", "db-ts", BreachItemStatus.Pending),
            new BreachItem("Deployment", "shop", "web", BreachItemStatus.Pending),
        ]);
        metrics.BreachFinished(BreachMode.Rotate, BreachPhase.Failed);
        metrics.BreachFinished(BreachMode.Quarantine, BreachPhase.Lifted);
        metrics.BreachFinished(BreachMode.Rotate, BreachPhase.InProgress);

        var samples = await ScrapeAsync();
        Assert.Equal(2, Find(samples, PrometheusNotaryMetrics.StoreWrites, Api, "Keystore")!.Value);
        double Items(string status) => samples.Single(s => s.Name == PrometheusNotaryMetrics.BreachItems && s.Has(("namespace", "shop"), ("name", "leak"), ("mode", "rotate"), ("status", status))).Value;
        Assert.Equal(1, Items(BreachItemStatus.Completed));
        Assert.Equal(1, Items(BreachItemStatus.Failed));
        Assert.Equal(2, Items(BreachItemStatus.Pending));
        Assert.Equal(0, Items(BreachItemStatus.InProgress));
        double Finished(string mode, string phase) => samples.Single(s => s.Name == PrometheusNotaryMetrics.BreachesFinished && s.Has(("mode", mode), ("phase", phase))).Value;
        Assert.Equal(1, Finished("rotate", "Failed"));
        Assert.Equal(1, Finished("quarantine", "Lifted"));
        Assert.Equal(0, Finished("rotate", "Completed"));
        Assert.DoesNotContain(samples, s => s.Name == PrometheusNotaryMetrics.BreachesFinished && s.Has(("phase", "InProgress")));
        Assert.DoesNotContain(samples, s => s.Labels.Values.Any(v => v.Contains("AccessDenied", StringComparison.Ordinal)));

        metrics.BreachObserved(leak, BreachMode.Rotate, null);
        Assert.DoesNotContain(await ScrapeAsync(), s => s.Name == PrometheusNotaryMetrics.BreachItems);
    }

    [Fact]
    public async Task Whether_the_watcher_leads_is_read_at_each_scrape()
    {
        var metrics = Metrics();
        var leading = false;
        metrics.WatchLeadership(_registry, () => leading);

        Assert.Equal(0, (await ScrapeAsync()).Single(s => s.Name == PrometheusNotaryMetrics.WatcherLeading).Value);
        leading = true;
        Assert.Equal(1, (await ScrapeAsync()).Single(s => s.Name == PrometheusNotaryMetrics.WatcherLeading).Value);
    }

    /// <summary>
    /// The names dashboards, alerting rules and the README use, written out: a rename in the
    /// code (constants included) must fail here, not only in someone's Grafana.
    /// </summary>
    [Fact]
    public async Task The_exported_names_and_labels_are_the_documented_ones()
    {
        var metrics = Metrics();
        metrics.CertificateObserved(Api, NotAfter, NotAfter.AddDays(-30), ready: true);
        metrics.Count(Api, "issued");
        metrics.Count(Api, "renewed");
        metrics.Count(Api, "failed");
        metrics.StoreObserved(ResourceKind.Keystore, Api, ready: true);
        metrics.StoreObserved(ResourceKind.Truststore, Api, ready: false);

        metrics.StoreWritten(ResourceKind.Keystore, Api);
        metrics.BreachObserved(new ResourceKey("shop", "leak"), BreachMode.Quarantine, [new BreachItem("Certificate", "shop", "api", BreachItemStatus.Completed)]);

        var all = (await ScrapeAsync()).Where(s => s.Name.StartsWith("notary_", StringComparison.Ordinal)).ToList();
        var samples = all.Where(s => !s.Name.StartsWith("notary_breach", StringComparison.Ordinal) && s.Name != "notary_watcher_leading").ToList();
        Assert.Equal(
            [
                "notary_certificate_expiration_timestamp_seconds",
                "notary_certificate_failures_total",
                "notary_certificate_issuances_total",
                "notary_certificate_ready_status",
                "notary_certificate_renewal_timestamp_seconds",
                "notary_certificate_renewals_total",
                "notary_store_ready_status{kind=Keystore}",
                "notary_store_ready_status{kind=Truststore}",
                "notary_store_writes_total{kind=Keystore}",
                "notary_store_writes_total{kind=Truststore}",
            ],
            samples.Select(s => s.Labels.TryGetValue("kind", out var kind) ? $"{s.Name}{{kind={kind}}}" : s.Name).Order(StringComparer.Ordinal));
        Assert.All(samples, s => Assert.True(s.Has(("namespace", "shop"), ("name", "api")), $"{s.Name} is labelled with namespace and name"));
        Assert.Equal(
            [
                "notary_breach_items{mode=quarantine,name=leak,namespace=shop,status=Completed}",
                "notary_breach_items{mode=quarantine,name=leak,namespace=shop,status=Failed}",
                "notary_breach_items{mode=quarantine,name=leak,namespace=shop,status=InProgress}",
                "notary_breach_items{mode=quarantine,name=leak,namespace=shop,status=Pending}",
                "notary_breaches_finished_total{mode=quarantine,phase=Completed}",
                "notary_breaches_finished_total{mode=quarantine,phase=Failed}",
                "notary_breaches_finished_total{mode=quarantine,phase=Lifted}",
                "notary_breaches_finished_total{mode=rotate,phase=Completed}",
                "notary_breaches_finished_total{mode=rotate,phase=Failed}",
                "notary_breaches_finished_total{mode=rotate,phase=Lifted}",
                "notary_watcher_leading{}",
            ],
            all.Except(samples).Select(s => $"{s.Name}{{{string.Join(',', s.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))}}}").Order(StringComparer.Ordinal));
        Assert.Equal(NotAfter.ToUnixTimeSeconds(), samples.Single(s => s.Name == "notary_certificate_expiration_timestamp_seconds").Value);
        Assert.Equal(1, samples.Single(s => s.Name == "notary_certificate_ready_status").Value);
    }
}
