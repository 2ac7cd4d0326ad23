using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Notary.Bench.ApplyLatency;

/// <summary>
/// Diagnostic (--jit-log yes): which methods the JIT compiles while the N are measured, by
/// namespace and optimization tier, from the runtime's own MethodLoadVerbose events.
/// </summary>
internal sealed class JitLog : RuntimeEventLog
{
    private readonly ConcurrentQueue<(string Namespace, string Name, int Tier)> _loaded = new();

    protected override EventKeywords Keywords => (EventKeywords)0x10; // JIT

    protected override string EventPrefix => "MethodLoadVerbose";

    protected override void Record(Func<string, object?> field)
    {
        string Get(string name) => field(name)?.ToString() ?? "";
        var flags = Convert.ToInt32(field("MethodFlags"), System.Globalization.CultureInfo.InvariantCulture);
        var signature = Get("MethodSignature");
        _loaded.Enqueue(((flags & 1) != 0 ? "(dynamic) " + Get("MethodNamespace") : Get("MethodNamespace"), Get("MethodName") + signature[..Math.Min(60, signature.Length)], (flags >> 7) & 0x7));
    }

    public void Report(TextWriter output)
    {
        var all = _loaded.ToList();
        output.WriteLine($"jit log: {all.Count} methods loaded; by tier: " + string.Join(", ", all.GroupBy(m => m.Tier).OrderBy(g => g.Key).Select(g => $"tier{g.Key}={g.Count()}")));
        foreach (var group in all.GroupBy(m => Trim(m.Namespace)).OrderByDescending(g => g.Count()).Take(40))
        {
            output.WriteLine($"  {group.Count(),5}  {group.Key}  e.g. {string.Join("; ", group.Take(3).Select(m => m.Name + "@" + m.Tier))}");
        }
    }

    private static string Trim(string ns)
    {
        var generic = ns.IndexOf('[', StringComparison.Ordinal);
        ns = generic > 0 ? ns[..generic] : ns;
        var parts = ns.Split('.');
        return string.Join('.', parts.Take(Math.Min(parts.Length, 4)));
    }
}
