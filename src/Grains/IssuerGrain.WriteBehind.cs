using System.Diagnostics;
using Notary.Grains.Abstractions;

namespace Notary.Grains;

// The built-in root's record of which root signed each certificate (State.Issued), written behind.
// Every default-path certificate goes through this one grain, so the map holds every certificate
// of the cluster; written whole at each issuance, N certificates cost O(N^2) bytes of state
// writes (100,000 certificates: ~13 MB a write). Its changes from issuances and adoptions are
// therefore written at most once a second of real time (Stopwatch and Task.Delay on the system
// clock, not the grain's TimeProvider: a test's fake clock must not hold a write back or bring it
// forward), by a call the grain makes on itself (FlushAsync: a turn of its own, never a state
// half-changed by another call), and before deactivation, at the root-check reminder, before a
// rotation begins and when it tells this grain it moved on; so are removals (UnwatchAsync: a
// certificate deleted or moved to another issuer). Every other change (spec, readiness, rotation
// fields, WatchAsync's Waiting, Delete) is written at once, and takes the pending records along. ca and acm issuers write at once as before (their maps are per issuer).
//
// Why a record lost with a crashed silo (at most the last second's) does not break trust-first:
// - The rotation's phase decisions never read this map from storage. BeginAsync gets the list
//   from the in-memory map (which holds the unwritten records; they are written first), and
//   during a rotation each issuance tells the rotation at once (OnIssuedAsync, not written
//   behind); whether the new root may sign is asked of the rotation (MaySignWithNewCaAsync).
// - A lost re-issue (the certificate moved to the new root) leaves the old fingerprint: the
//   conservative side, a later rotation re-issues it once more; never "on the new root" wrongly.
// - A lost first issuance: the certificate is missing from the map, as it was before when a crash
//   fell between signing and the write. The watcher's resync (every 10 minutes by default) asks
//   each default-path certificate to adopt itself (CertificateGrain.AdoptByBuiltinRootAsync, now
//   asked at every resync, since the certificate cannot know its record was lost); AdoptAsync
//   records the root found in the certificate's own chain, and during a rotation hands it to the
//   rotation, which re-issues it trust-first. Should the rotation have ended before that resync
//   (it may take less than the resync period), AdoptAsync finds the certificate on a root no
//   longer in use with no rotation running and has it re-issued from the root in use: its peers
//   trust only that root by then, so until that resync it is refused, the same exposure as a
//   crash between signing and the write had before, now for the last second's records.
public sealed partial class IssuerGrain
{
    /// <summary>The built-in root writes the certificates it records at most this often (real time).</summary>
    public static readonly TimeSpan IssuedWriteInterval = TimeSpan.FromSeconds(1);

    // Records changed since the last state write; a flush is scheduled; the last write (Stopwatch).
    private bool _unflushed;
    private bool _flushScheduled;
    private long _lastWrite;
    private bool _deactivating;

    private Task SaveAsync()
    {
        _unflushed = false;
        _lastWrite = Stopwatch.GetTimestamp();
        return Persistence.SaveAsync(state, DeactivateOnIdle);
    }

    /// <summary>Saves a change of State.Issued or State.Waiting from an issuance or an adoption: the built-in root writes it behind.</summary>
    private Task SaveRecordsAsync()
    {
        if (!_builtinRoot || _deactivating)
        {
            return SaveAsync();
        }

        var since = _lastWrite == 0 ? TimeSpan.MaxValue : Stopwatch.GetElapsedTime(_lastWrite);
        if (since >= IssuedWriteInterval)
        {
            return SaveAsync();
        }

        _unflushed = true;
        if (!_flushScheduled)
        {
            _flushScheduled = true;
            _ = FlushLaterAsync(IssuedWriteInterval - since);
        }

        return Task.CompletedTask;
    }

    private async Task FlushLaterAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, TimeProvider.System);
            if (!_deactivating)
            {
                await GrainFactory.GetGrain<IIssuerGrain>(_key).FlushAsync();
            }
        }
        catch (Exception ex)
        {
            _flushScheduled = false;
            Log.IssuerFlushFailed(logger, _key, ex.GetType().Name, ex.Message);
        }
    }

    public async Task FlushAsync()
    {
        _flushScheduled = false;
        await FlushRecordsAsync();
    }

    /// <summary>Writes the records not written yet, if any.</summary>
    private async Task FlushRecordsAsync()
    {
        if (_unflushed)
        {
            await SaveAsync();
        }
    }

    private async Task FlushOnDeactivateAsync()
    {
        _deactivating = true;
        try
        {
            await FlushRecordsAsync();
        }
        catch (Exception ex)
        {
            Log.IssuerFlushFailed(logger, _key, ex.GetType().Name, ex.Message);
        }
    }
}
