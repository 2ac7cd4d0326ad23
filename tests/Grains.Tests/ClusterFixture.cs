using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Issuers;
using Notary.Grains.Protection;
using Notary.Grains.Tests.Fakes;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Notary.Grains.Tests;

/// <summary>
/// An in-process Orleans cluster (two silos, so grains can move) with in-memory ports shared
/// by every silo. One per test collection; tests isolate themselves with their own namespace.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public InMemorySecretStore Store { get; } = new();
    public RecordingStatusWriter Status { get; } = new();
    public RecordingEventRecorder Events { get; } = new();
    public InMemoryTrustSources TrustSources { get; } = new();
    public InMemoryMetadataSource Metadata { get; } = new();
    public InMemoryCertificateAuthoritySource Authority { get; } = new();
    public CountingIssuer Issuer { get; }
    /// <summary>An issuer that works in steps like ACM, named "stepping" (spec.issuer).</summary>
    public SteppingIssuer Stepping { get; }
    public CapturingLoggerProvider Logs { get; } = new();
    public FaultInjector Faults { get; } = new();
    public RecordingAlertSink Alerts { get; } = new();
    public RecordingMetrics Metrics { get; } = new();
    public FakeWorkloadRestarter Workloads { get; } = new();
    public InMemoryNamespaceLabels NamespaceLabels { get; } = new();
    public RecordingPolicyStatus PolicyStatus { get; } = new();
    /// <summary>The state data keys, shared by every silo (grains move between them).</summary>
    public EphemeralDataKeySource DataKeys { get; } = new();
    /// <summary>ca issuers' Secrets (ICaSecretReader), Issuer statuses, stand-ins for CA rotation grains.</summary>
    public InMemoryCaSecrets CaSecrets { get; } = new();
    public RecordingIssuerStatus IssuerStatus { get; } = new();
    public FakeCaRotations Rotations { get; } = new();
    public FakeAcmIssuerFactory Acm { get; }
    /// <summary>The bytes of every grain state written, searched for secrets.</summary>
    public StateBytesRecorder StateBytes { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public ClusterFixture()
    {
        Issuer = new CountingIssuer(new BuiltInIssuer(Authority, TimeProvider.System));
        Stepping = new SteppingIssuer(new BuiltInIssuer(Authority, TimeProvider.System));
        Acm = new FakeAcmIssuerFactory(Authority);
    }

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2).RetryingClientConnection();
        builder.ConfigureSilo((_, silo) => silo
            .AddMemoryGrainStorage(GrainStorage.Name, o => o.UseNotarySerializer())
            .UseInMemoryReminderService()
            .AddIncomingGrainCallFilter(Faults));
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddNotaryGrainPorts(new GrainPorts
            {
                Store = Store,
                Status = Status,
                Events = Events,
                Metadata = Metadata,
                TrustSources = TrustSources,
                Alerts = Alerts,
                Metrics = Metrics,
                Workloads = Workloads,
                Authority = Authority,
                Issuers = new IssuerResolver([Issuer, Stepping], BuiltInIssuer.DefaultName),
                CaSecrets = CaSecrets,
                IssuerStatus = IssuerStatus,
                DataKeys = DataKeys,
                NamespaceLabels = NamespaceLabels,
                PolicyStatus = PolicyStatus,
                Rotations = Rotations,
                Acm = Acm,
            });
            // The same memory storage, its writes recorded: registered after AddMemoryGrainStorage, so it wins.
            host.Services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, (sp, name) =>
                StateBytes.Decorate(MemoryGrainStorageFactory.Create(sp, (string)name!), sp.GetRequiredService<Orleans.Serialization.Serializer>()));
            // Make-before-break on the real clock: a roll's keystore switches 2 s after its
            // truststores hold the new certificate, not the production 90 s.
            host.Services.Configure<RotationOptions>(o => o.PropagationDelay = TimeSpan.FromSeconds(2));
            host.Logging.SetMinimumLevel(LogLevel.Debug);
            host.Logging.AddProvider(Logs);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        // The default name policy refuses Public certificates: namespaces of NewPublicNamespace may have them.
        await Grains.GetGrain<ICertificatePolicyGrain>(ICertificatePolicyGrain.ClusterKey).ApplyAsync(
            "tests-public",
            new CertificatePolicySpec
            {
                NamespaceSelector = new LabelSelector { MatchLabels = new Dictionary<string, string> { [InMemoryNamespaceLabels.PublicLabel] = "true" } },
                Types = ["Private", "Public"],
            },
            new ResourceVersionInfo("tests-public", 1));
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Authority.Dispose();
    }

    public static string NewNamespace() => "t-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>A namespace the fixture's CertificatePolicy "tests-public" lets have Public certificates.</summary>
    public static string NewPublicNamespace() => "p-" + Guid.NewGuid().ToString("N")[..10];
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

/// <summary>Keeps every log line (message and exception) written by the silos, to search them for secrets.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
            provider._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {structured} {exception}");
        }
    }
}
