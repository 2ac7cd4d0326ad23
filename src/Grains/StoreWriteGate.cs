using Microsoft.Extensions.Options;

namespace Notary.Grains;

/// <summary>
/// How many keystores and truststores one silo builds and writes at once (configuration section
/// <c>Notary:Store</c>, e.g. <c>Notary__Store__MaxConcurrentWrites=8</c>).
/// </summary>
public sealed class StoreWriteOptions
{
    public const string SectionName = "Notary:Store";

    /// <summary>
    /// Store writes in flight per silo: each is a PKCS12 encoding and about seven Kubernetes API
    /// calls (read and replace the Secret, an Event, the status, the reload lookup). 8 by default.
    /// </summary>
    public int MaxConcurrentWrites { get; set; } = 8;

    /// <summary>
    /// How long a truststore notified of a certificate change waits (real time) before it reads
    /// the certificates, so that certificates renewed or re-issued together are built and written
    /// once. 50 ms by default, 0 to 5 s; under load the wait for a write slot coalesces further.
    /// </summary>
    public TimeSpan CoalesceDelay { get; set; } = TimeSpan.FromMilliseconds(50);
}

/// <summary>Refuses a bound that cannot work, saying how to fix it.</summary>
public sealed class StoreWriteOptionsValidator : IValidateOptions<StoreWriteOptions>
{
    public ValidateOptionsResult Validate(string? name, StoreWriteOptions options) =>
        options.MaxConcurrentWrites is < 1 or > 256
            ? ValidateOptionsResult.Fail($"{StoreWriteOptions.SectionName}:MaxConcurrentWrites {options.MaxConcurrentWrites} must be between 1 and 256; default 8.")
            : options.CoalesceDelay < TimeSpan.Zero || options.CoalesceDelay > TimeSpan.FromSeconds(5)
                ? ValidateOptionsResult.Fail($"{StoreWriteOptions.SectionName}:CoalesceDelay {options.CoalesceDelay} must be between 00:00:00 and 00:00:05; default 00:00:00.050 (0 reads the certificates at once).")
                : ValidateOptionsResult.Success;
}

/// <summary>
/// Bounds the store writes of a silo (<see cref="StoreWriteOptions.MaxConcurrentWrites"/>). A
/// certificate with many dependents (a breach re-issue, a shared CA renewed) notifies all of them
/// at the same moment. Unbounded, their hundreds of rebuilds interleave their encodings and API
/// calls, so that each one finishes only when nearly all do: every caller waiting on one (a
/// breach's RebuildAsync) then times out together, the thread pool starves, and the API server's
/// connection is reset under the load. Bounded, they complete in turn, each in the time of one.
/// The gated section calls no other Notary grain but certificates' read-only snapshots (a coalesced
/// truststore rebuild reads them once it holds its slot; a certificate never waits on a store), so
/// a store waiting here holds up no grain but itself.
/// <para>
/// A coalesced truststore rebuild takes its slot before it reads the metadata Secret, its trust
/// sources and its certificates, so a slow or stuck API call holds a slot. Coalesced rebuilds
/// therefore share at most MaxConcurrentWrites - 1 of the slots (<see cref="EnterCoalescedAsync"/>):
/// however many of them are stuck, one slot stays free for direct writes (an apply, a retry, a
/// breach's or quarantine's rebuild), which never wait behind them. With MaxConcurrentWrites 1
/// there is no slot to spare and both kinds share the one.
/// </para>
/// </summary>
public sealed class StoreWriteGate(IOptions<StoreWriteOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentWrites, options.Value.MaxConcurrentWrites);
    private readonly SemaphoreSlim _coalesced = new(Math.Max(1, options.Value.MaxConcurrentWrites - 1), Math.Max(1, options.Value.MaxConcurrentWrites - 1));

    /// <summary>See <see cref="StoreWriteOptions.CoalesceDelay"/>.</summary>
    public TimeSpan CoalesceDelay { get; } = options.Value.CoalesceDelay;

    /// <summary>Waits for a slot; disposing the answer gives it back.</summary>
    public async Task<Slot> EnterAsync()
    {
        await _slots.WaitAsync();
        return new Slot(_slots, null);
    }

    /// <summary>Waits for a slot among those coalesced rebuilds may hold (all but one); disposing the answer gives it back.</summary>
    public async Task<Slot> EnterCoalescedAsync()
    {
        await _coalesced.WaitAsync();
        try
        {
            await _slots.WaitAsync();
        }
        catch
        {
            _coalesced.Release();
            throw;
        }

        return new Slot(_slots, _coalesced);
    }

    public void Dispose()
    {
        _slots.Dispose();
        _coalesced.Dispose();
    }

    /// <summary>One write's slot; given back once, however often disposed (a store gives it back early, before its trailing calls, and again at the end of its scope).</summary>
    public sealed class Slot(SemaphoreSlim slots, SemaphoreSlim? coalesced) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
                coalesced?.Release();
            }
        }
    }
}
