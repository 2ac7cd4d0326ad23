using System.Diagnostics.Tracing;

namespace Notary.Bench.ApplyLatency;

/// <summary>
/// A diagnostic over the runtime's own events (the Microsoft-Windows-DotNETRuntime source) that
/// records only between <see cref="Start"/> and <see cref="Stop"/>, i.e. while the N are measured.
/// </summary>
internal abstract class RuntimeEventLog : EventListener
{
    private volatile bool _recording;

    /// <summary>The runtime keywords to enable (read from the base constructor: a constant).</summary>
    protected abstract EventKeywords Keywords { get; }

    /// <summary>The name the events of interest start with.</summary>
    protected abstract string EventPrefix { get; }

    public void Start() => _recording = true;

    public void Stop() => _recording = false;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, Keywords);
        }
    }

    protected sealed override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (_recording && eventData.EventName is not null && eventData.EventName.StartsWith(EventPrefix, StringComparison.Ordinal)
            && eventData.Payload is { } payload && eventData.PayloadNames is { } names)
        {
            Record(name => payload[names.IndexOf(name)]);
        }
    }

    /// <summary>One recorded event, its payload read by field name.</summary>
    protected abstract void Record(Func<string, object?> field);
}
