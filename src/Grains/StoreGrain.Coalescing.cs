namespace Notary.Grains;

// Coalescing of change notifications (truststores): certificates that change together (a renewal
// storm, a CA rotation's re-issues) notify each dependent truststore once each. Rebuilt on every
// notification from certificates read before its turn among the silo's bounded writes, a
// truststore trusting K of them was encoded and written up to K times per roll phase. Coalesced:
// - a notified truststore waits StoreWriteOptions.CoalesceDelay (50 ms) for the other
//   notifications of the same change, then for a write slot (StoreWriteGate) and only then reads the
//   certificates, so the longer the silo's queue of writes, the more changes one write takes in;
//   the notifications that queued meanwhile (the grain is not reentrant) find their revision
//   written and only acknowledge it;
// - dropping previous certificates (the end of an overlap) waits while another certificate of the
//   store still rolls (see StoreBuild.DefersDrops): that roll's keystore switch drops its own
//   previous one soon after, and one write drops both.
// Make-before-break acknowledgements are unchanged: a truststore acknowledges a revision only once
// a store holding it is written (or found written). Nothing here is persisted or timed: a deferred
// drop is written by the next rebuild, at the latest when the rolls it waits for end, each of which
// notifies (a notification lost with a silo leaves it to the next resync, as any lost notification).
public abstract partial class StoreGrain<TSpec>
    where TSpec : class
{
    // The last rebuild held back dropping previous certificates (in memory only, see above).
    private bool _dropsDeferred;

    /// <summary>Whether change notifications are coalesced (truststores) or rebuilt at once (keystores: one certificate each).</summary>
    protected virtual bool CoalescesNotifications => false;

    private async Task RebuildCoalescedAsync()
    {
        if (gate.CoalesceDelay > TimeSpan.Zero)
        {
            // Real time, not the grain's clock: this waits for the other notifications of the same
            // change to arrive (they queue behind this turn), which takes wall-clock time.
            await Task.Delay(gate.CoalesceDelay);
        }

        // The slot first, then the certificates: what changed while this store queued for its
        // write is in this one write. One of the slots coalesced rebuilds share (all but one), so
        // that stuck ones never stall direct writes such as a quarantine's rebuild.
        using var slot = await gate.EnterCoalescedAsync();
        await ReconcileAsync(force: false, held: slot);
    }
}
