using System.Diagnostics;

namespace Notary.Bench.Grains;

/// <summary>
/// Wall time, CPU time of this process and managed allocation of one measured part. On a shared
/// machine the wall time moves with the other users' load; CPU time per item barely does, so it
/// is printed beside the figures to tell overhead from noise.
/// </summary>
public sealed class Cost
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly long _allocated = GC.GetTotalAllocatedBytes();

    public TimeSpan Wall { get; private set; }

    public TimeSpan Cpu { get; private set; }

    public long Allocated { get; private set; }

    public static Cost Start() => new();

    /// <summary>Stops the measure; returns this for the figures.</summary>
    public Cost Stop()
    {
        Wall = _clock.Elapsed;
        Cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpu;
        Allocated = GC.GetTotalAllocatedBytes() - _allocated;
        return this;
    }

    /// <summary>Adds another measure of the same kind (a second half).</summary>
    public Cost Plus(Cost other) => new() { Wall = Wall + other.Wall, Cpu = Cpu + other.Cpu, Allocated = Allocated + other.Allocated };

    public string Describe(int items, string what) =>
        $"{Wall.TotalSeconds:0.00} s wall, {Cpu.TotalMilliseconds / items:0.0} ms CPU and {Allocated / items / 1024} KiB allocated per {what}";
}
