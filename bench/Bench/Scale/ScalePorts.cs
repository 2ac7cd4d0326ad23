using System.Collections.Concurrent;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Bench.Scale;

/// <summary>One ECDSA P-256 root for the whole run: the restarted silo must see the same CA, as it would from its Secret.</summary>
public sealed class FixedAuthority : ICertificateAuthoritySource, IDisposable
{
    public CertificateAuthority Authority { get; } =
        CertificateAuthority.CreateRoot("Notary Scale Bench Root CA", TimeSpan.FromDays(3650), DateTimeOffset.UtcNow, new KeySpec(KeyAlgorithm.Ecdsa, 256));

    public Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken) => Task.FromResult(Authority);

    public void Dispose() => Authority.Dispose();
}

/// <summary>Counts Events by reason ("Issued", ...); keeps no message.</summary>
public sealed class CountingEvents : IEventRecorder
{
    private readonly ConcurrentDictionary<string, int> _byReason = new(StringComparer.Ordinal);

    public int Count(string reason) => _byReason.GetValueOrDefault(reason);

    public IReadOnlyDictionary<string, int> ByReason => _byReason;

    public Task RecordAsync(ResourceKey resource, ResourceKind kind, EventSeverity severity, string reason, string message, CancellationToken cancellationToken)
    {
        _byReason.AddOrUpdate(reason, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}

/// <summary>Counts alerts; none is expected (90-day certificates, idle for minutes).</summary>
public sealed class CountingAlerts : IAlertSink
{
    private int _sent;

    public int Sent => Volatile.Read(ref _sent);

    public Task SendAsync(Alert alert, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sent);
        return Task.CompletedTask;
    }
}
