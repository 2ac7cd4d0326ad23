using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Notary.Grains;

namespace Notary.Silo.Tests.Hosting;

/// <summary>The host's switches for the dashboard and JSON logs, read from configuration (built, not started).</summary>
public sealed class HostOptionsTests
{
    private static async Task<T> WithHostAsync<T>(Dictionary<string, string?> configuration, Func<WebApplication, T> read)
    {
        await using var app = NotaryHost.Build(new NotaryHostSettings
        {
            Kubernetes = new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" },
            Configuration = configuration,
        });
        return read(app);
    }

    private static string[] Routes(WebApplication app) =>
        [.. ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>().Select(e => e.RoutePattern.RawText ?? "")];

    private static string? Formatter(WebApplication app) => app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName;

    [Fact]
    public async Task By_default_there_is_no_dashboard_and_logs_are_plain_text()
    {
        var (routes, formatter) = await WithHostAsync([], app => (Routes(app), Formatter(app)));
        Assert.Contains("/metrics", routes);
        Assert.DoesNotContain(routes, r => r.StartsWith(NotaryHost.DashboardPath, StringComparison.Ordinal));
        Assert.NotEqual(ConsoleFormatterNames.Json, formatter);
    }

    [Fact]
    public async Task The_switches_serve_the_dashboard_under_its_path_and_write_JSON_lines_in_UTC()
    {
        var (routes, formatter, json) = await WithHostAsync(
            new() { [NotaryHost.DashboardEnabledKey] = "true", [NotaryHost.JsonLogsKey] = "true" },
            app => (Routes(app), Formatter(app), app.Services.GetRequiredService<IOptionsMonitor<JsonConsoleFormatterOptions>>().CurrentValue));
        Assert.Contains(routes, r => r.StartsWith(NotaryHost.DashboardPath + "/", StringComparison.Ordinal));
        Assert.Equal(ConsoleFormatterNames.Json, formatter);
        Assert.True(json.UseUtcTimestamp);
    }

    [Fact]
    public async Task The_bound_on_concurrent_store_writes_is_read_from_Notary_Store_and_a_bound_that_cannot_work_is_refused()
    {
        Assert.Equal(8, await WithHostAsync([], app => app.Services.GetRequiredService<IOptions<StoreWriteOptions>>().Value.MaxConcurrentWrites));
        Assert.Equal(3, await WithHostAsync(
            new() { ["Notary:Store:MaxConcurrentWrites"] = "3" },
            app => app.Services.GetRequiredService<IOptions<StoreWriteOptions>>().Value.MaxConcurrentWrites));
        var error = await WithHostAsync(
            new() { ["Notary:Store:MaxConcurrentWrites"] = "0" },
            app => Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IOptions<StoreWriteOptions>>().Value));
        Assert.Contains("Notary:Store:MaxConcurrentWrites 0 must be between 1 and 256", error.Message, StringComparison.Ordinal);
    }
}
