namespace Notary.Grains;

// Coalescing of change notifications (truststores): certificates that change together (a renewal
// storm, a CA rotation's re-issues, a breach of a shared certificate) notify each dependent
// truststore once each. Rebuilt on every notification, a truststore trusting K of them would be
// encoded and written up to K times per roll phase; coalesced, it is written once per phase:
// - a notification only schedules a rebuild (StoreWriteOptions.CoalesceDelay later, one timer for
//   all that arrive meanwhile; the grain is not reentrant, so those arriving during the rebuild
//   schedule the next one);
// - the rebuild first waits for a write slot (StoreWriteGate) and only then reads the
//   certificates, so the longer the silo's queue of writes, the more changes one write takes in;
// - dropping previous certificates (the end of an overlap) waits while another certificate of the
//   store still rolls (see StoreBuild.DefersDrops): that roll's keystore switch drops its own
//   previous one soon after, and one write drops both.
// Make-before-break acknowledgements are unchanged: a truststore acknowledges a revision only once
// a store holding it is written (or found written). Nothing here is persisted: a timer lost with
// its activation loses only the delay (the roll's reminder notifies the truststores it waits for
// again; a deferred drop is written by the next rebuild, at the latest when the rolls it waits
// for end, each of which notifies).
public abstract partial class StoreGrain<TSpec>
    where TSpec : class
{
    private IGrainTimer? _coalesced;

    // The last rebuild held back dropping previous certificates (in memory only, see above).
    private bool _dropsDeferred;

    /// <summary>Whether change notifications are coalesced (truststores) or rebuilt at once (keystores: one certificate each).</summary>
    protected virtual bool CoalescesNotifications => false;

    /// <summary>One coalesced rebuild, <see cref="StoreWriteGate.CoalesceDelay"/> from the first notification not yet built.</summary>
    private void ScheduleCoalesced() =>
        _coalesced ??= this.RegisterGrainTimer(
            async _ => await RunCoalescedAsync(),
            new GrainTimerCreationOptions { DueTime = gate.CoalesceDelay, Period = Timeout.InfiniteTimeSpan, Interleave = false, KeepAlive = true });

    private async Task RunCoalescedAsync()
    {
        _coalesced?.Dispose();
        _coalesced = null;
        if (State.Spec is null)
        {
            return;
        }

        // The slot first, then the certificates: what changed while this store queued for its
        // write is in this one write.
        using var slot = await gate.EnterAsync();
        await ReconcileAsync(force: false, coalesced: true);
    }
}
