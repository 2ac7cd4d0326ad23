using k8s.Autorest;
using k8s.LeaderElection;

namespace Notary.Watcher;

/// <summary>
/// The watcher's health signal: when it last heard from the API server. Every instance, leader
/// or standby, reads or renews its Lease every RetryPeriod (2 s by default), so a contact older
/// than a few of those means the API server is unreachable (or refuses Notary) from this pod.
/// </summary>
public sealed class ApiServerContact(TimeProvider time)
{
    private long _lastTicks = long.MinValue;

    /// <summary>When the API server last answered a Lease read, create or renewal; null before the first answer.</summary>
    public DateTimeOffset? LastContact
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastTicks);
            return ticks == long.MinValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    public void Record() => Interlocked.Exchange(ref _lastTicks, time.GetUtcNow().UtcTicks);

    /// <summary>The Lease lock, recording each answer the API server gives it.</summary>
    internal ILock Track(ILock inner) => new RecordingLock(inner, this);

    private sealed class RecordingLock(ILock inner, ApiServerContact contact) : ILock
    {
        public string Identity => inner.Identity;

        public async Task<LeaderElectionRecord> GetAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                var record = await inner.GetAsync(cancellationToken).ConfigureAwait(false);
                contact.Record();
                return record;
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // No Lease yet: an answer all the same.
                contact.Record();
                throw;
            }
        }

        public async Task<bool> CreateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default)
        {
            var created = await inner.CreateAsync(record, cancellationToken).ConfigureAwait(false);
            if (created)
            {
                contact.Record();
            }

            return created;
        }

        public async Task<bool> UpdateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default)
        {
            var updated = await inner.UpdateAsync(record, cancellationToken).ConfigureAwait(false);
            if (updated)
            {
                contact.Record();
            }

            return updated;
        }

        public string Describe() => inner.Describe();
    }
}
