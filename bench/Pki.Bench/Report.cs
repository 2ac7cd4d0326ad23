using System.Globalization;

namespace Notary.Pki.Bench;

/// <summary>The results of one workload (issuance or keystore encoding) for one key algorithm.</summary>
internal sealed record WorkloadResult(string Kind, LeafAlgorithm Algorithm, IReadOnlyList<CellResult> Cells)
{
    public const string Issue = "issue";
    public const string Pkcs12 = "pkcs12";

    public CellResult Cell(string backend, RunMode mode) => Cells.Single(c => c.Backend == backend && c.Mode == mode);
}

/// <summary>Prints Markdown tables (pasted as they are into bench/RESULTS.md) and the RESULT lines.</summary>
internal static class Report
{
    public const string DotNet = "dotnet";
    public const string BouncyCastle = "bouncycastle";
    public const string DotNetNotarySettings = "dotnet-notary-settings";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Print(TextWriter output, IReadOnlyList<WorkloadResult> workloads)
    {
        output.WriteLine();
        output.WriteLine("| workload | backend | mode | n | ops/s | mean ms | median ms | p90 ms | min..max ms | managed alloc/op |");
        output.WriteLine("|---|---|---|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var workload in workloads)
        {
            foreach (var c in workload.Cells)
            {
                output.WriteLine(string.Create(Inv,
                    $"| {workload.Kind} {workload.Algorithm} | {c.Backend} | {Mode(c)} | {c.Operations} | {c.OpsPerSecond:F1} | " +
                    $"{c.MeanMs:F2} | {c.MedianMs:F2} | {c.P90Ms:F2} | {c.MinMs:F1}..{c.MaxMs:F1} | {Bytes(c.AllocatedBytesPerOp)} |"));
            }
        }

        output.WriteLine();
        output.WriteLine("| workload | .NET ops/s (1 thread) | BC ops/s (1 thread) | .NET/BC | .NET median ms | BC median ms | .NET ops/s (all cores) | BC ops/s (all cores) | .NET/BC |");
        output.WriteLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var workload in workloads)
        {
            var ds = workload.Cell(DotNet, RunMode.Single);
            var bs = workload.Cell(BouncyCastle, RunMode.Single);
            var dp = workload.Cell(DotNet, RunMode.Parallel);
            var bp = workload.Cell(BouncyCastle, RunMode.Parallel);
            output.WriteLine(string.Create(Inv,
                $"| {workload.Kind} {workload.Algorithm} | {ds.OpsPerSecond:F1} | {bs.OpsPerSecond:F1} | {Ratio(ds, bs):F2} | " +
                $"{ds.MedianMs:F2} | {bs.MedianMs:F2} | {dp.OpsPerSecond:F1} | {bp.OpsPerSecond:F1} | {Ratio(dp, bp):F2} |"));
        }
    }

    /// <summary>
    /// One RESULT line per algorithm. The leading fields are single-threaded throughput (the cleanest
    /// comparison of the backends); the parallel_* fields are the same on all cores.
    /// </summary>
    public static void PrintResultLines(TextWriter output, IReadOnlyList<WorkloadResult> workloads)
    {
        output.WriteLine();
        foreach (var w in workloads)
        {
            var ds = w.Cell(DotNet, RunMode.Single);
            var bs = w.Cell(BouncyCastle, RunMode.Single);
            var dp = w.Cell(DotNet, RunMode.Parallel);
            var bp = w.Cell(BouncyCastle, RunMode.Parallel);
            string name = w.Kind == WorkloadResult.Issue ? "crypto-backend" : "pkcs12-encoding";
            string line = string.Create(Inv,
                $"RESULT {name} algorithm={w.Algorithm} dotnet_per_second={ds.OpsPerSecond:F2} bouncycastle_per_second={bs.OpsPerSecond:F2} " +
                $"ratio={Ratio(ds, bs):F2} dotnet_median_ms={ds.MedianMs:F2} bouncycastle_median_ms={bs.MedianMs:F2} " +
                $"parallel_threads={dp.Threads} parallel_dotnet_per_second={dp.OpsPerSecond:F2} " +
                $"parallel_bouncycastle_per_second={bp.OpsPerSecond:F2} parallel_ratio={Ratio(dp, bp):F2}");
            if (w.Kind == WorkloadResult.Pkcs12)
            {
                var notary = w.Cells.FirstOrDefault(c => c.Backend == DotNetNotarySettings && c.Mode == RunMode.Single);
                line += string.Create(Inv, $" settings={Pkcs12Settings.BouncyCastleFixed.Name}");
                if (notary is not null)
                {
                    line += string.Create(Inv, $" dotnet_notary_settings_per_second={notary.OpsPerSecond:F2} notary_settings={Pkcs12Settings.Notary.Name}");
                }
            }

            output.WriteLine(line);
        }
    }

    private static double Ratio(CellResult dotnet, CellResult bouncyCastle) => dotnet.OpsPerSecond / bouncyCastle.OpsPerSecond;

    private static string Mode(CellResult c) => c.Mode == RunMode.Single ? "1 thread" : $"{c.Threads} threads";

    private static string Bytes(double bytes) =>
        bytes >= 1024 * 1024 ? string.Create(Inv, $"{bytes / (1024 * 1024):F1} MiB")
        : bytes >= 1024 ? string.Create(Inv, $"{bytes / 1024:F1} KiB")
        : string.Create(Inv, $"{bytes:F0} B");
}
