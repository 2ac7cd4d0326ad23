using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Issuers;
using Notary.Grains.Protection;

namespace Notary.Grains.Tests.Fakes;

/// <summary>
/// Every port Notary's grains take, for the silos that the grain tests and the benchmarks host
/// (the product's are wired by NotaryHost). Each is the one a fixture sets here or an in-memory
/// fake that holds nothing; the ports the grains take only when present (namespace labels,
/// CertificatePolicy status, a stand-in for the CA rotation grains, acm issuers) are registered
/// only when set. A port a grain gains is added here once, and every test and benchmark silo
/// has it (linked into bench/Bench, like the fakes).
/// </summary>
public sealed class GrainPorts
{
    public TimeProvider Time { get; init; } = TimeProvider.System;

    public ISecretStore Store { get; init; } = new InMemorySecretStore();

    public IStatusWriter Status { get; init; } = new RecordingStatusWriter();

    public IEventRecorder Events { get; init; } = new RecordingEventRecorder();

    public IServiceMetadataSource Metadata { get; init; } = new InMemoryMetadataSource();

    public ITrustSourceReader TrustSources { get; init; } = new InMemoryTrustSources();

    public IAlertSink Alerts { get; init; } = new RecordingAlertSink();

    public INotaryMetrics Metrics { get; init; } = new RecordingMetrics();

    public IWorkloadRestarter Workloads { get; init; } = new FakeWorkloadRestarter();

    /// <summary>The built-in CA. Required: the issuer grains hold it (and the default <see cref="Issuers"/> signs with it).</summary>
    public required ICertificateAuthoritySource Authority { get; init; }

    /// <summary>The issuers by name; null: the built-in issuer alone, over <see cref="Authority"/> on <see cref="Time"/>.</summary>
    public IIssuerResolver? Issuers { get; init; }

    public ICaSecretReader CaSecrets { get; init; } = new InMemoryCaSecrets();

    public IIssuerStatusWriter IssuerStatus { get; init; } = new RecordingIssuerStatus();

    /// <summary>The state data keys (state protection is registered over them).</summary>
    public IDataKeySource DataKeys { get; init; } = new EphemeralDataKeySource();

    public INamespaceLabelSource? NamespaceLabels { get; init; }

    public ICertificatePolicyStatusWriter? PolicyStatus { get; init; }

    public ICaRotationLocator? Rotations { get; init; }

    public IAcmIssuerFactory? Acm { get; init; }
}

public static class GrainPortRegistration
{
    /// <summary>
    /// Registers the clock of <paramref name="ports"/>, each of its ports that is not registered
    /// yet (a host that registers its own, such as real metrics, does so first), the store write
    /// gate, and the state protection over the data keys.
    /// </summary>
    public static IServiceCollection AddNotaryGrainPorts(this IServiceCollection services, GrainPorts ports)
    {
        // Replaces the system clock Orleans may have registered: the grains' clock is the fixture's.
        services.AddSingleton(ports.Time);
        services.TryAddSingleton(ports.Store);
        services.TryAddSingleton(ports.Status);
        services.TryAddSingleton(ports.Events);
        services.TryAddSingleton(ports.Metadata);
        services.TryAddSingleton(ports.TrustSources);
        services.TryAddSingleton(ports.Alerts);
        services.TryAddSingleton(ports.Metrics);
        services.TryAddSingleton(ports.Workloads);
        services.TryAddSingleton(ports.Authority);
        services.TryAddSingleton(ports.Issuers ?? new IssuerResolver([new BuiltInIssuer(ports.Authority, ports.Time)], BuiltInIssuer.DefaultName));
        services.TryAddSingleton(ports.CaSecrets);
        services.TryAddSingleton(ports.IssuerStatus);
        services.TryAddSingleton(ports.DataKeys);
        services.AddNotaryStateProtection();
        services.TryAddSingleton<StoreWriteGate>();
        AddIfSet(services, ports.NamespaceLabels);
        AddIfSet(services, ports.PolicyStatus);
        AddIfSet(services, ports.Rotations);
        AddIfSet(services, ports.Acm);
        return services;
    }

    private static void AddIfSet<T>(IServiceCollection services, T? port)
        where T : class
    {
        if (port is not null)
        {
            services.TryAddSingleton(port);
        }
    }
}
