using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Bench.Scale;

/// <summary>
/// What the benchmark knows of its N certificates: per index, a 64-bit hash of the serial number
/// first seen Ready, and which indexes were confirmed (Ready with that serial) and applied in the
/// current phase. The arrays are allocated before the memory baseline, so the ledger costs the
/// measured heap nothing per certificate; it keeps no string, no status, nothing that grows.
/// </summary>
public sealed class CertificateLedger
{
    private const string NamePrefix = "c-";
    private readonly long[] _serials;
    private readonly int[] _confirmed;
    private readonly int[] _applied;
    private int _confirmedCount;
    private int _appliedCount;
    private int _mismatched;
    private int _notReady;

    public CertificateLedger(int count)
    {
        Count = count;
        _serials = new long[count];
        _confirmed = new int[count];
        _applied = new int[count];
    }

    public int Count { get; }

    /// <summary>Certificates Ready with their first serial in this phase.</summary>
    public int Confirmed => Volatile.Read(ref _confirmedCount);

    /// <summary>Certificates whose apply (the watcher's grain call) returned in this phase.</summary>
    public int Applied => Volatile.Read(ref _appliedCount);

    /// <summary>Ready with a serial other than the first one seen: a re-issue.</summary>
    public int Mismatched => Volatile.Read(ref _mismatched);

    /// <summary>Status writes that were not Ready (an issuance failed).</summary>
    public int NotReady => Volatile.Read(ref _notReady);

    public static string Namespace(int index) => $"scale-{index / 1000:D3}";

    public static string Name(int index) => $"{NamePrefix}{index:D6}";

    public static ResourceKey Key(int index) => new(Namespace(index), Name(index));

    public static string Fqdn(int index) => $"{Name(index)}.{Namespace(index)}.svc.cluster.local";

    /// <summary>Starts a phase: nothing confirmed or applied yet; the serials stay.</summary>
    public void NewPhase()
    {
        Array.Clear(_confirmed);
        Array.Clear(_applied);
        Volatile.Write(ref _confirmedCount, 0);
        Volatile.Write(ref _appliedCount, 0);
    }

    public void StatusWritten(ResourceKey resource, CertificateStatus status)
    {
        var index = IndexOf(resource);
        if (!status.IsReady || status.SerialNumber is null)
        {
            Interlocked.Increment(ref _notReady);
            return;
        }

        var hash = Hash(status.SerialNumber);
        var first = Interlocked.CompareExchange(ref _serials[index], hash, 0);
        if (first != 0 && first != hash)
        {
            Interlocked.Increment(ref _mismatched);
            return;
        }

        if (Interlocked.Exchange(ref _confirmed[index], 1) == 0)
        {
            Interlocked.Increment(ref _confirmedCount);
        }
    }

    public void ApplyReturned(ResourceKey resource)
    {
        if (Interlocked.Exchange(ref _applied[IndexOf(resource)], 1) == 0)
        {
            Interlocked.Increment(ref _appliedCount);
        }
    }

    /// <summary>Whether <paramref name="serialNumber"/> is the serial first seen Ready for the certificate.</summary>
    public bool IsFirstSerial(int index, string serialNumber) => _serials[index] == Hash(serialNumber);

    private int IndexOf(ResourceKey resource)
    {
        var name = resource.Name;
        if (!name.StartsWith(NamePrefix, StringComparison.Ordinal)
            || !int.TryParse(name.AsSpan(NamePrefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            || index >= Count
            || resource.Namespace != Namespace(index))
        {
            throw new InvalidOperationException($"{resource} is not one of the benchmark's certificates.");
        }

        return index;
    }

    /// <summary>FNV-1a, 64 bits, never 0 (0 marks "no serial yet"): a collision between two serials of one certificate is 1 in 2^64.</summary>
    private static long Hash(string serialNumber)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in serialNumber.ToUpperInvariant())
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return (long)(hash | 1);
    }
}

/// <summary>The status writer port: every write goes to the ledger, nothing is kept.</summary>
public sealed class LedgerStatusWriter(CertificateLedger ledger) : IStatusWriter
{
    public Task WriteCertificateStatusAsync(ResourceKey resource, CertificateStatus status, CancellationToken cancellationToken)
    {
        ledger.StatusWritten(resource, status);
        return Task.CompletedTask;
    }

    public Task WriteStoreStatusAsync(ResourceKey resource, ResourceKind kind, StoreStatus status, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("The scale benchmark has no stores.");
}
