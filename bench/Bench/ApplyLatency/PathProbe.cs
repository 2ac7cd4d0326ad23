using System.Collections.Concurrent;
using System.Diagnostics;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Watcher;

namespace Notary.Bench.ApplyLatency;

/// <summary>
/// Timestamps along Notary's own path, taken in the host (same process, same Stopwatch as the
/// client): when the watcher hands a Certificate to its grain, when the grain returns, and when
/// the grain's first Ready=True status write starts and ends. Only the first of each per
/// resource is kept: that is the one the client waits for.
/// </summary>
public sealed class PathProbe
{
    public ConcurrentDictionary<string, long> ForwardStart { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, long> ForwardEnd { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, long> ReadyWriteStart { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, long> ReadyWriteEnd { get; } = new(StringComparer.Ordinal);

    /// <summary>Status writes of any kind, Ready or not (a measure of round trips per issuance).</summary>
    public int StatusWrites => _statusWrites;

    private int _statusWrites;

    internal void CountStatusWrite() => Interlocked.Increment(ref _statusWrites);
}

/// <summary>The watcher's sink, timed: the real <see cref="GrainForwarder"/> behind it.</summary>
public sealed class ProbedSink(IResourceEventSink inner, PathProbe probe) : IResourceEventSink
{
    public async Task ApplyCertificateAsync(ResourceKey resource, CertificateSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken)
    {
        probe.ForwardStart.TryAdd(resource.ToString(), Stopwatch.GetTimestamp());
        await inner.ApplyCertificateAsync(resource, spec, origin, cancellationToken).ConfigureAwait(false);
        probe.ForwardEnd.TryAdd(resource.ToString(), Stopwatch.GetTimestamp());
    }

    public Task RenewCertificateAsync(ResourceKey resource, string token, CancellationToken cancellationToken) =>
        inner.RenewCertificateAsync(resource, token, cancellationToken);

    public Task ApplyKeystoreAsync(ResourceKey resource, KeystoreSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        inner.ApplyKeystoreAsync(resource, spec, origin, cancellationToken);

    public Task ApplyTruststoreAsync(ResourceKey resource, TruststoreSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        inner.ApplyTruststoreAsync(resource, spec, origin, cancellationToken);

    public Task DeleteAsync(ResourceKind kind, ResourceKey resource, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        inner.DeleteAsync(kind, resource, origin, cancellationToken);

    public Task MetadataSecretChangedAsync(ResourceKey secret, CancellationToken cancellationToken) =>
        inner.MetadataSecretChangedAsync(secret, cancellationToken);

    public Task StoredSecretDeletedAsync(ResourceKind kind, ResourceKey store, CancellationToken cancellationToken) =>
        inner.StoredSecretDeletedAsync(kind, store, cancellationToken);

    public Task ApplyCertificatePolicyAsync(string name, CertificatePolicySpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        inner.ApplyCertificatePolicyAsync(name, spec, origin, cancellationToken);

    public Task DeleteCertificatePolicyAsync(string name, CancellationToken cancellationToken) =>
        inner.DeleteCertificatePolicyAsync(name, cancellationToken);

    public Task CertificatePoliciesListedAsync(IReadOnlyDictionary<string, string> existing, CancellationToken cancellationToken) =>
        inner.CertificatePoliciesListedAsync(existing, cancellationToken);
}

/// <summary>The grains' status writer, timed: the real KubernetesStatusWriter behind it.</summary>
public sealed class ProbedStatusWriter(IStatusWriter inner, PathProbe probe) : IStatusWriter
{
    public async Task WriteCertificateStatusAsync(ResourceKey resource, CertificateStatus status, CancellationToken cancellationToken)
    {
        probe.CountStatusWrite();
        var key = resource.ToString();
        var ready = status.IsReady;
        if (ready)
        {
            probe.ReadyWriteStart.TryAdd(key, Stopwatch.GetTimestamp());
        }

        await inner.WriteCertificateStatusAsync(resource, status, cancellationToken).ConfigureAwait(false);
        if (ready)
        {
            probe.ReadyWriteEnd.TryAdd(key, Stopwatch.GetTimestamp());
        }
    }

    public Task WriteStoreStatusAsync(ResourceKey resource, ResourceKind kind, StoreStatus status, CancellationToken cancellationToken)
    {
        probe.CountStatusWrite();
        return inner.WriteStoreStatusAsync(resource, kind, status, cancellationToken);
    }
}
