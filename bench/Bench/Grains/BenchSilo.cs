using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notary.Grains;
using Notary.Grains.Tests.Fakes;

namespace Notary.Bench.Grains;

/// <summary>
/// One in-process Orleans silo hosting Notary's real grains, configured as dev mode configures
/// it (localhost clustering, memory grain storage named <see cref="GrainStorage.Name"/>
/// with Notary's serializer, in-memory reminders), with the in-memory ports of the grain tests
/// (<see cref="GrainPorts"/>, as the grain tests register them; the store write gate at its
/// default limit, as the host registers it) and the built-in CA (an ECDSA P-256 root). The grain factory is the silo's own client.
/// </summary>
public sealed class BenchSilo : IAsyncDisposable
{
    private readonly IHost _host;

    private BenchSilo(IHost host, BenchPorts ports)
    {
        _host = host;
        Ports = ports;
    }

    public BenchPorts Ports { get; }

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    /// <param name="cancellationToken">Stops the start.</param>
    /// <param name="time">The grains' clock (and the built-in issuer's); the system clock when null.</param>
    /// <param name="configure">Registrations of the scenario, made last so that they replace the silo's (e.g. a recording secret store).</param>
    public static async Task<BenchSilo> StartAsync(CancellationToken cancellationToken, TimeProvider? time = null, Action<BenchPorts, IServiceCollection>? configure = null)
    {
        time ??= TimeProvider.System;
        var ports = new BenchPorts();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // The product's default logging (issue 20): its appsettings.json, copied beside the bench
        // from src/Silo (Information; Orleans, Polly and ASP.NET Core at Warning), so every
        // issuance and store the grains log at Information is measured with them, as it runs in
        // production. Redirect the output to a file: a terminal would be measured too.
        ProductLogging.Apply(builder.Logging);
        if (time != TimeProvider.System)
        {
            // Orleans reads the same clock: moved forward, its own timers report that they fired
            // late by the jump, and its health monitor complains, which says nothing of the grains.
            builder.Logging.AddFilter("Orleans.Runtime.AsyncTimer", LogLevel.Error);
            builder.Logging.AddFilter("Orleans.Runtime.MembershipService.LocalSiloHealthMonitor", LogLevel.Error);
        }
        builder.UseOrleans(silo => silo
            // Free ports, not Orleans' defaults: other silos may run on this machine.
            .UseLocalhostClustering(FreePorts.Next(), FreePorts.Next())
            .AddMemoryGrainStorage(GrainStorage.Name, o => o.UseNotarySerializer())
            .UseInMemoryReminderService());
        var services = builder.Services;
        services.AddNotaryGrainPorts(new GrainPorts
        {
            Store = ports.Store,
            Status = ports.Status,
            Events = ports.Events,
            Metadata = ports.Metadata,
            Alerts = ports.Alerts,
            Metrics = ports.Metrics,
            Workloads = ports.Workloads,
            Authority = ports.Authority,
            Time = time,
        });
        // Make-before-break without its waits: the fanout's renewal measures the writes a roll
        // costs (every dependent truststore twice), not the kubelet's refresh it waits for.
        services.Configure<RotationOptions>(o =>
        {
            o.PropagationDelay = TimeSpan.Zero;
            o.Overlap = TimeSpan.Zero;
        });
        configure?.Invoke(ports, services);
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return new BenchSilo(host, ports);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(stop.Token);
        _host.Dispose();
        Ports.Authority.Dispose();
    }
}

/// <summary>The in-memory ports the silo's grains use, kept for the scenario to inspect.</summary>
public sealed class BenchPorts
{
    public InMemorySecretStore Store { get; } = new();
    public RevisionWatch Status { get; } = new(new RecordingStatusWriter());
    public RecordingEventRecorder Events { get; } = new();
    public InMemoryMetadataSource Metadata { get; } = new();
    public InMemoryCertificateAuthoritySource Authority { get; } = new();
    public RecordingAlertSink Alerts { get; } = new();
    public RecordingMetrics Metrics { get; } = new();
    public FakeWorkloadRestarter Workloads { get; } = new();
}
