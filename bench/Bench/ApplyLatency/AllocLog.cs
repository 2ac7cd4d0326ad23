using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Notary.Bench.ApplyLatency;

/// <summary>Diagnostic (--alloc-log yes): sampled allocations (the runtime's AllocationTick, one per ~100 KB) by type while measured.</summary>
internal sealed class AllocLog : RuntimeEventLog
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();

    protected override EventKeywords Keywords => (EventKeywords)0x1; // GC, whose Verbose level has AllocationTick

    protected override string EventPrefix => "GCAllocationTick";

    protected override void Record(Func<string, object?> field)
    {
        var type = field("TypeName")?.ToString() ?? "?";
        var amount = Convert.ToInt64(field("AllocationAmount"), System.Globalization.CultureInfo.InvariantCulture);
        _bytes.AddOrUpdate(type, amount, (_, b) => b + amount);
    }

    public void Report(TextWriter output, int count)
    {
        var total = _bytes.Values.Sum();
        output.WriteLine($"alloc log: {total / count / 1024} KiB per certificate sampled; top types:");
        foreach (var (type, bytes) in _bytes.OrderByDescending(kv => kv.Value).Take(30))
        {
            output.WriteLine($"  {bytes / count / 1024.0,7:F1} KiB  {type}");
        }
    }
}
