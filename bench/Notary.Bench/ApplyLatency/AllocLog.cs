using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Notary.Bench.ApplyLatency;

/// <summary>Diagnostic (--alloc-log yes): sampled allocations (the runtime's AllocationTick, one per ~100 KB) by type while measured.</summary>
internal sealed class AllocLog : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private volatile bool _recording;

    public void Start() => _recording = true;

    public void Stop() => _recording = false;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var names = eventData.PayloadNames!;
        var type = eventData.Payload[names.IndexOf("TypeName")]?.ToString() ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[names.IndexOf("AllocationAmount")], System.Globalization.CultureInfo.InvariantCulture);
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
