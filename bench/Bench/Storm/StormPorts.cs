using System.Collections.Concurrent;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Bench.Storm;

/// <summary>
/// The system clock moved forward by <see cref="Offset"/>: the grains (and the built-in issuer)
/// read it, so moving it past the certificates' renewal time makes every lifecycle reminder find
/// its certificate due, as it would at that date. Timers stay on the system clock.
/// </summary>
internal sealed class ShiftedTime : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}

/// <summary>
/// The secret store the grains write to, recording every successful write with a global
/// sequence number taken once the write is stored (before the grain goes on to acknowledge it),
/// so that the order in which stores were published can be checked across resources.
/// </summary>
internal sealed class WriteLog(ISecretStore inner) : ISecretStore
{
    private readonly ConcurrentQueue<(long Sequence, StoreWrite Write)> _writes = new();
    private long _sequence;

    public long Sequence => Interlocked.Read(ref _sequence);

    /// <summary>Every write after <paramref name="sequence"/>, in order.</summary>
    public IReadOnlyList<(long Sequence, StoreWrite Write)> Since(long sequence) =>
        [.. _writes.Where(w => w.Sequence > sequence).OrderBy(w => w.Sequence)];

    public async Task<StoredLocation> PutAsync(StoreWrite write, CancellationToken cancellationToken)
    {
        var stored = await inner.PutAsync(write, cancellationToken);
        _writes.Enqueue((Interlocked.Increment(ref _sequence), write));
        return stored;
    }

    public Task<bool> DeleteAsync(ResourceKey resource, ResourceKind kind, CancellationToken cancellationToken) =>
        inner.DeleteAsync(resource, kind, cancellationToken);
}

/// <summary>
/// The status writer: passes every status on, and completes <see cref="Done"/> the moment the
/// last of the armed stores publishes a status its predicate calls final. A store's status is
/// published after its Secret was written, so that moment is the end of the storm, observed
/// without polling.
/// </summary>
internal sealed class StormStatus(IStatusWriter inner) : IStatusWriter
{
    private volatile Func<ResourceKind, ResourceKey, StoreStatus, bool>? _isFinal;
    private readonly ConcurrentDictionary<(ResourceKind, ResourceKey), bool> _final = new();
    private int _expected;

    public TaskCompletionSource Done { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int FinalCount => _final.Count;

    public void Arm(int expected, Func<ResourceKind, ResourceKey, StoreStatus, bool> isFinal)
    {
        _final.Clear();
        Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _expected = expected;
        _isFinal = isFinal;
    }

    public Task WriteCertificateStatusAsync(ResourceKey resource, CertificateStatus status, CancellationToken cancellationToken) =>
        inner.WriteCertificateStatusAsync(resource, status, cancellationToken);

    public Task WriteStoreStatusAsync(ResourceKey resource, ResourceKind kind, StoreStatus status, CancellationToken cancellationToken)
    {
        if (_isFinal is { } isFinal && isFinal(kind, resource, status) && _final.TryAdd((kind, resource), true) && _final.Count >= _expected)
        {
            Done.TrySetResult();
        }

        return inner.WriteStoreStatusAsync(resource, kind, status, cancellationToken);
    }
}
