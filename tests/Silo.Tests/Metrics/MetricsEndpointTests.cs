using System.Net;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Notary.Dev;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Silo.Metrics;
using Notary.Silo.Tests.Support;
using Prometheus;

namespace Notary.Silo.Tests.Metrics;

/// <summary>Notary's dev mode, in process (DevCluster, one silo, the HTTP API on a free port), shared by a test class.</summary>
public sealed class DevHostFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "notary-silo-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public int ApiPort { get; } = FreePorts.Next();

    public DevEnvironment Dev { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        Dev = await DevEnvironment.StartAsync(new DevModeOptions
        {
            KubeconfigPath = Path.Combine(_root, "kubeconfig"),
            ApiPort = ApiPort,
            SiloPort = FreePorts.Next(),
        });
    }

    public async Task DisposeAsync()
    {
        await Dev.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}

/// <summary>The host serves its metrics at /metrics on the HTTP API, from a registry of its own.</summary>
[Trait("Category", "Slow")]
public sealed class MetricsEndpointTests(DevHostFixture host) : IClassFixture<DevHostFixture>
{
    [Fact]
    public async Task A_scrape_of_metrics_shows_what_the_port_was_told_and_the_process_figures()
    {
        var metrics = host.Dev.App.Services.GetRequiredService<INotaryMetrics>();
        var notAfter = new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var api = new ResourceKey("shop", "api");
        metrics.CertificateObserved(api, notAfter, notAfter.AddDays(-30), ready: true);
        metrics.StoreObserved(ResourceKind.Keystore, api, ready: true);
        metrics.Count(api, "issued");
        metrics.Count(api, "renewed");
        metrics.Count(api, "failed");

        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{host.ApiPort}/metrics"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();
        var samples = Exposition.Parse(text);
        double Value(string name) => samples.Single(s => s.Name == name && s.Has(("namespace", "shop"), ("name", "api"))).Value;
        Assert.Equal(notAfter.ToUnixTimeSeconds(), Value(PrometheusNotaryMetrics.ExpirationTimestamp));
        Assert.Equal(notAfter.AddDays(-30).ToUnixTimeSeconds(), Value(PrometheusNotaryMetrics.RenewalTimestamp));
        Assert.Equal(1, Value(PrometheusNotaryMetrics.CertificateReady));
        Assert.Equal(1, Value(PrometheusNotaryMetrics.StoreReady));
        Assert.Equal(1, Value(PrometheusNotaryMetrics.Issuances));
        Assert.Equal(1, Value(PrometheusNotaryMetrics.Renewals));
        Assert.Equal(1, Value(PrometheusNotaryMetrics.Failures));
        Assert.Contains(samples, s => s.Name == "process_cpu_seconds_total");

        metrics.CertificateRemoved(api);
        var after = Exposition.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{host.ApiPort}/metrics")));
        Assert.DoesNotContain(after, s => s.Name.StartsWith("notary_certificate_", StringComparison.Ordinal) && s.Has(("name", "api")));
    }

    [Fact]
    public async Task Each_host_has_its_own_registry()
    {
        // A second host in the same process (built, not started): its metrics are its own.
        await using var other = NotaryHost.Build(new NotaryHostSettings { Kubernetes = new KubernetesClientConfiguration { Host = "https://127.0.0.1:1" } });
        var mine = host.Dev.App.Services.GetRequiredService<CollectorRegistry>();
        var theirs = other.Services.GetRequiredService<CollectorRegistry>();
        Assert.NotSame(mine, theirs);
        Assert.NotSame(Prometheus.Metrics.DefaultRegistry, mine);

        host.Dev.App.Services.GetRequiredService<INotaryMetrics>().CertificateObserved(new ResourceKey("shop", "only-here"), DateTimeOffset.UnixEpoch.AddYears(70), null, ready: true);
        other.Services.GetRequiredService<INotaryMetrics>().CertificateObserved(new ResourceKey("shop", "only-there"), DateTimeOffset.UnixEpoch.AddYears(70), null, ready: true);

        var here = Exposition.Parse(await Exposition.ExportAsync(mine));
        var there = Exposition.Parse(await Exposition.ExportAsync(theirs));
        Assert.Contains(here, s => s.Has(("name", "only-here")));
        Assert.DoesNotContain(here, s => s.Has(("name", "only-there")));
        Assert.Contains(there, s => s.Has(("name", "only-there")));
        Assert.DoesNotContain(there, s => s.Has(("name", "only-here")));
    }
}
