using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Issuers;
using Notary.Grains.Protection;
using Notary.Grains.Tests.Fakes;
using Notary.Pki;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Notary.Grains.Tests;

/// <summary>
/// A one-silo cluster on a fake clock for CA rotations: <c>ca</c> Issuers read their key pair
/// from <see cref="CaSecrets"/> (the tests replace a Secret's content and call
/// <c>IIssuerGrain.OnCaSecretChangedAsync</c> as the watcher does; the real issuer grain starts
/// the real CA rotation grain), the built-in issuer signs with the CA <see cref="Authority"/>
/// holds, make-before-break with a 10 s
/// propagation delay and no overlap beyond it (so a rotation ends within minutes of fake time:
/// Java checks the validity of CA-issued leaves against the real clock), and at most
/// <see cref="MaxConcurrentReissues"/> re-issues at once.
/// </summary>
public class CaRotationClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(10);
    public const int MaxConcurrentReissues = 4;

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);
    public EphemeralDataKeySource DataKeys { get; } = new();
    public InMemoryTrustSources TrustSources { get; } = new();

    public InMemorySecretStore Store { get; } = new();
    public RecordingStatusWriter Status { get; } = new();
    public RecordingEventRecorder Events { get; } = new();
    public InMemoryMetadataSource Metadata { get; } = new();
    public SwappableAuthoritySource Authority { get; } = new();
    /// <summary>The <c>ca</c> Issuers' Secrets (tls.crt, tls.key) by namespace and name.</summary>
    public InMemoryCaSecrets CaSecrets { get; } = new();
    public RecordingIssuerStatus IssuerStatus { get; } = new();
    public RecordingAlertSink Alerts { get; } = new();
    public RecordingMetrics Metrics { get; } = new();
    public FakeWorkloadRestarter Workloads { get; } = new();
    /// <summary>The grain storage, counting each grain's state writes.</summary>
    public CountingGrainStorage Storage { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        Authority.Current = CertificateAuthority.CreateRoot("Rotation Test Root A", TimeSpan.FromDays(3650), Time.GetUtcNow(), new KeySpec(KeyAlgorithm.Ecdsa, 256));
        var issuer = new BuiltInIssuer(Authority, Time);
        Store.Clock = Time;
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo
            .AddMemoryGrainStorage(GrainStorage.Name, o => o.UseNotarySerializer())
            .UseInMemoryReminderService());
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddNotaryGrainPorts(new GrainPorts
            {
                Time = Time,
                Store = Store,
                Status = Status,
                Events = Events,
                Metadata = Metadata,
                TrustSources = TrustSources,
                Alerts = Alerts,
                Metrics = Metrics,
                Workloads = Workloads,
                Authority = Authority,
                Issuers = new IssuerResolver([issuer], BuiltInIssuer.DefaultName),
                CaSecrets = CaSecrets,
                IssuerStatus = IssuerStatus,
                DataKeys = DataKeys,
            });
            host.Services.Configure<RotationOptions>(o =>
            {
                o.PropagationDelay = Delay;
                o.Overlap = TimeSpan.Zero;
                o.MaxConcurrentReissues = MaxConcurrentReissues;
                ConfigureRotation(o);
            });
            // The same memory storage, counted: registered after AddMemoryGrainStorage, so it wins.
            host.Services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, (sp, name) =>
            {
                Storage.Inner = MemoryGrainStorageFactory.Create(sp, (string)name!);
                return Storage;
            });
            host.Logging.SetMinimumLevel(LogLevel.Information);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Authority.Dispose();
    }

    /// <summary>What a fixture of its own changes in the rotation options, after the settings above.</summary>
    protected virtual void ConfigureRotation(RotationOptions options)
    {
    }

    /// <summary>A new intermediate CA (ECDSA P-256) under a new root: what a team puts into a <c>ca</c> issuer's Secret.</summary>
    public CertificateAuthority NewIntermediate(string name)
    {
        var now = Time.GetUtcNow();
        using var root = CertificateAuthority.CreateRoot(name + " Root", TimeSpan.FromDays(3650), now, new KeySpec(KeyAlgorithm.Ecdsa, 256));
        using var rootCertificate = X509Certificate2.CreateFromPem(root.CertificatePem, root.ExportPrivateKeyPem());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(rootCertificate, true, false));
        using var intermediate = request.Create(rootCertificate, now - TimeSpan.FromMinutes(5), now + TimeSpan.FromDays(365), RandomNumberGenerator.GetBytes(16));
        return CertificateAuthority.FromPem(intermediate.ExportCertificatePem() + "\n" + root.CertificatePem, key.ExportPkcs8PrivateKeyPem());
    }
}

/// <summary>The CA the built-in issuer (the default, no issuerRef) signs with; the rotation tests change a <c>ca</c> Issuer's Secret instead, BuiltinRootRotationTests this root.</summary>
public sealed class SwappableAuthoritySource : ICertificateAuthoritySource, IDisposable
{
    private readonly List<CertificateAuthority> _all = [];
    private volatile CertificateAuthority? _current;

    public CertificateAuthority Current
    {
        get => _current ?? throw new InvalidOperationException("No CA yet.");
        set
        {
            lock (_all)
            {
                _all.Add(value);
            }

            _current = value;
        }
    }

    public Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken) => Task.FromResult(Current);

    /// <summary>False: only the root in use is found (a previous root whose key is gone, e.g. a hand replacement after a restart).</summary>
    public bool KeepsReplacedKeys { get; set; } = true;

    /// <summary>Every root this source ever held, as the Kubernetes source keeps previous.key.</summary>
    public Task<CertificateAuthority?> FindAsync(string fingerprint, CancellationToken cancellationToken)
    {
        lock (_all)
        {
            return Task.FromResult(_all.Where(a => KeepsReplacedKeys || ReferenceEquals(a, _current)).LastOrDefault(a => ICertificateAuthoritySource.Fingerprint(a) == fingerprint));
        }
    }

    public void Dispose()
    {
        lock (_all)
        {
            _all.ForEach(a => a.Dispose());
        }
    }
}

[CollectionDefinition(Name)]
public sealed class CaRotationCollection : ICollectionFixture<CaRotationClusterFixture>
{
    public const string Name = "ca-rotation";
}

/// <summary>
/// The rotation cluster with Rotation:MaxWait at <see cref="MaxWait"/>, for a rotation that goes on
/// without a store: a collection of its own, so that its fake clock moving past MaxWait never
/// reaches the other rotation tests (their Java handshakes check validity on the real clock).
/// </summary>
public sealed class StuckRotationClusterFixture : CaRotationClusterFixture
{
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(5);

    protected override void ConfigureRotation(RotationOptions options) => options.MaxWait = MaxWait;
}

[CollectionDefinition(Name)]
public sealed class StuckRotationCollection : ICollectionFixture<StuckRotationClusterFixture>
{
    public const string Name = "ca-rotation-stuck";
}
