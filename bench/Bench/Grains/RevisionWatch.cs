using System.Collections.Concurrent;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Bench.Grains;

/// <summary>
/// The status writer of the bench silo: records like the tests' writer, and completes a task at
/// the moment the last of a set of truststores publishes a Ready status built from a given
/// certificate revision. A store's status is published after its Secret was written, so that
/// moment is when every truststore has been rebuilt; counting here costs the grains nothing
/// that a poll of every store would.
/// </summary>
public sealed class RevisionWatch(RecordingStatusWriter inner) : IStatusWriter
{
    private volatile Expectation[] _expectations = [];

    public RecordingStatusWriter Recorded => inner;

    /// <summary>
    /// Starts watching (replacing what was watched); the task completes once <paramref name="count"/>
    /// distinct truststores are Ready at <paramref name="revision"/> or later and, where given,
    /// satisfy <paramref name="also"/> (e.g. no longer hold a previous certificate).
    /// </summary>
    public Task Expect(string certificateKey, long revision, int count, Func<StoreStatus, bool>? also = null) =>
        ExpectAll([(certificateKey, revision, count, also)])[0];

    /// <summary>Several expectations watched at once (the two halves of a make-before-break roll).</summary>
    public IReadOnlyList<Task> ExpectAll(IReadOnlyList<(string CertificateKey, long Revision, int Count, Func<StoreStatus, bool>? Also)> expectations)
    {
        var created = expectations.Select(e => new Expectation(e.CertificateKey, e.Revision, e.Count, e.Also)).ToArray();
        _expectations = created;
        return [.. created.Select(e => e.Done.Task)];
    }

    public Task WriteCertificateStatusAsync(ResourceKey resource, CertificateStatus status, CancellationToken cancellationToken) =>
        inner.WriteCertificateStatusAsync(resource, status, cancellationToken);

    public Task WriteStoreStatusAsync(ResourceKey resource, ResourceKind kind, StoreStatus status, CancellationToken cancellationToken)
    {
        if (kind == ResourceKind.Truststore)
        {
            foreach (var expectation in _expectations)
            {
                expectation.Observe(resource, status);
            }
        }

        return inner.WriteStoreStatusAsync(resource, kind, status, cancellationToken);
    }

    private sealed class Expectation(string certificateKey, long revision, int count, Func<StoreStatus, bool>? also)
    {
        private readonly ConcurrentDictionary<ResourceKey, bool> _rebuilt = new();

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Observe(ResourceKey resource, StoreStatus status)
        {
            if (status.IsReady && status.CertificateRevisions.TryGetValue(certificateKey, out var built) && built >= revision
                && (also is null || also(status)) && _rebuilt.TryAdd(resource, true) && _rebuilt.Count >= count)
            {
                Done.TrySetResult();
            }
        }
    }
}
