using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Notary.Silo;

namespace Notary.EndToEnd.Tests;

/// <summary>Dev mode with the Orleans dashboard switched on, as <c>Notary__Dashboard__Enabled=true</c> does.</summary>
public sealed class DashboardFixture : DevFixture
{
    /// <summary>The dashboard's own loopback port.</summary>
    public int DashboardPort { get; } = FreePorts.Next();

    public Uri DashboardUrl => new($"http://127.0.0.1:{DashboardPort}");

    protected override Task<IReadOnlyDictionary<string, string?>> StartDependenciesAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>
        {
            [NotaryHost.DashboardEnabledKey] = "true",
            [NotaryHost.DashboardPortKey] = DashboardPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}

/// <summary>
/// The dashboard in a real browser: the machine's Chromium (apt package <c>chromium</c>, installed
/// by scripts/test.sh) driven by Playwright's own driver, which the NuGet package ships; Playwright's
/// browser download is never used. And the Prometheus metrics of the same certificate over HTTP.
/// </summary>
[Collection(DashboardCollection.Name)]
[Trait("Category", "Slow")]
public sealed class DashboardTests(DashboardFixture fx) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Metadata = """{"tlsStoreRootPath":"/etc/tls","tlsKeyStorePassword":"ks-password","tlsTrustStorePassword":"ts-password"}""";

    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install -y chromium (scripts/test.sh does)");
        _playwright = await Playwright.CreateAsync();
        // Playwright gives the browser a fresh, empty profile of its own (it refuses --user-data-dir).
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Timeout = 60_000,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    [Fact]
    public async Task The_dashboard_lists_Notarys_grain_types_and_metrics_report_the_certificate_ready()
    {
        var ns = "dash-" + Guid.NewGuid().ToString("N")[..8];
        var fqdn = $"web.{ns}.svc.cluster.local";
        await fx.OkAsync("create", "namespace", ns);
        await fx.OkAsync("create", "secret", "generic", "notary-metadata", "-n", ns, $"--from-literal=metadata.json={Metadata}");
        await fx.OkAsync("apply", "-f", fx.WriteText(ns + ".yaml", $"""
            apiVersion: notary.dev/v1alpha1
            kind: Certificate
            metadata: {"{"}name: web, namespace: {ns}{"}"}
            spec: {"{"}type: Private, fqdn: {fqdn}, privateKey: {"{"}algorithm: ECDSA, size: 256{"}"}{"}"}
            ---
            apiVersion: notary.dev/v1alpha1
            kind: Keystore
            metadata: {"{"}name: web-keystore, namespace: {ns}{"}"}
            spec: {"{"}fqdn: {fqdn}, certName: web{"}"}
            """));
        await fx.OkAsync("wait", "--for=condition=Ready", "cert/web", "ks/web-keystore", "-n", ns, "--timeout=60s");

        // The grains view of the dashboard, as a person opens it: its page, then the Grains link.
        var page = await _browser.NewPageAsync();
        var response = await page.GotoAsync(new Uri(fx.DashboardUrl, NotaryHost.DashboardPath + "/").ToString());
        Assert.True(response is { Ok: true }, $"GET {NotaryHost.DashboardPath}/: {response?.Status}");
        await page.GetByRole(AriaRole.Link, new() { Name = "Grains", Exact = true }).First.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("#/grains$"));
        // Each grain type is a link in the "Activations by Type" table.
        var table = page.Locator("table", new() { Has = page.GetByText("Activations", new() { Exact = true }) });
        foreach (var grain in new[] { "CertificateGrain", "KeystoreGrain" })
        {
            await Assertions.Expect(table.GetByRole(AriaRole.Link, new() { Name = grain, Exact = true })).ToBeVisibleAsync(new() { Timeout = 30_000 });
        }

        // The same certificate in Prometheus' text format.
        using var http = new HttpClient { BaseAddress = fx.Dev.ApiUrl, Timeout = TimeSpan.FromSeconds(30) };
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Matches(new Regex("^" + Regex.Escape($"notary_certificate_ready_status{{namespace=\"{ns}\",name=\"web\"}} 1") + "$", RegexOptions.Multiline), metrics);
    }

    [Fact]
    public async Task The_dashboard_answers_only_on_its_own_loopback_port_and_that_port_serves_nothing_else()
    {
        // Bound to 127.0.0.1 only (so in a pod only kubectl port-forward reaches it), the API where configured.
        var addresses = fx.Dev.App.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.GetRequiredFeature<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>().Addresses;
        Assert.Contains(fx.DashboardUrl.ToString().TrimEnd('/'), addresses);
        Assert.DoesNotContain(addresses, a => a.Contains($":{fx.DashboardPort}", StringComparison.Ordinal) && !a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(fx.DashboardUrl, NotaryHost.DashboardPath + "/"))).StatusCode);

        // Not on the API's port (the one the Service exposes), whatever Host header a caller sends.
        using var viaApi = new HttpRequestMessage(HttpMethod.Get, new Uri(fx.Dev.ApiUrl, NotaryHost.DashboardPath + "/"));
        viaApi.Headers.Host = $"127.0.0.1:{fx.DashboardPort}";
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(viaApi)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(fx.Dev.ApiUrl, NotaryHost.DashboardPath + "/dashboardCounters"))).StatusCode);

        // And the dashboard's port serves neither the API nor metrics.
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(fx.DashboardUrl, "/metrics"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(fx.DashboardUrl, "/healthz"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(fx.Dev.ApiUrl, "/healthz"))).StatusCode);
    }
}
