using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Notary.DevCluster;
using Notary.Silo;

namespace Notary.Bench.Scenarios;

/// <summary>
/// secret-watch (issue 17): Notary's resident memory with N unrelated Secrets of a given size in
/// the cluster versus none. The watcher lists and watches every Secret in the cluster; since it
/// reads them as metadata only, their size must not matter. Goal: N = 2,000 of 512 KiB adds less
/// than 50 MB.
/// </summary>
/// <remarks>
/// DevCluster holds the Secrets (about 3 GB of JSON nodes at the goal size), so Notary runs as a
/// separate process, the production command exactly as an operator starts it
/// (<c>dotnet Notary.Silo.dll run --kubeconfig ...</c>, one silo, localhost clustering), and the
/// measure is that process's resident set (VmRSS of /proc/PID/status: what a container memory
/// limit counts), sampled after its watcher has listed the Secrets and watches them, plus its peak
/// (VmHWM: a list of full Secrets would show there even if the heap shrank afterwards). Each run
/// starts a fresh process: once with no Secret but Notary's own, once with the N Secrets. The
/// benchmark checks that the run it measured listed them all (the watcher's own "Listed secrets: K
/// objects" line) and that every list and watch of Secrets asked for metadata (DevCluster's audit).
/// </remarks>
public sealed partial class SecretWatchScenario : IScenario
{
    private const string Namespace = "bench-secrets";
    private const int MiB = 1024 * 1024;

    public string Name => "secret-watch";

    public string Description => "Notary's resident memory (a separate `run` process) with N unrelated Secrets of --size bytes versus none; goal: 2,000 x 512 KiB adds < 50 MB";

    public int DefaultCount => 2000;

    public async Task<BenchResult> RunAsync(BenchArgs args, TextWriter output, CancellationToken cancellationToken)
    {
        var count = args.CountOr(DefaultCount);
        var size = args.IntOption("size", 512 * 1024);
        var settle = TimeSpan.FromSeconds(args.IntOption("settle-seconds", 10, minimum: 0));
        var timeout = TimeSpan.FromSeconds(args.IntOption("timeout-seconds", 300));
        var silo = args.Option("silo", Path.Combine(AppContext.BaseDirectory, "Notary.Silo.dll"));
        if (!File.Exists(silo))
        {
            throw new ArgumentException($"--silo {silo} does not exist: build src/Silo (bench/Bench builds it) or name a Notary.Silo.dll");
        }

        var root = Directory.CreateTempSubdirectory("notary-bench-secret-watch-").FullName;
        try
        {
            await using var cluster = await DevClusterServer.StartAsync(new DevClusterOptions { Port = 0, CrdDirectories = [NotaryHost.CrdDirectory] }, cancellationToken);
            var kubeconfig = cluster.WriteKubeconfig(Path.Combine(root, "kubeconfig"));
            using var client = new k8s.Kubernetes(cluster.ClientConfiguration());
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } }, cancellationToken: cancellationToken);

            var baseline = await MeasureAsync("baseline", cluster, silo, kubeconfig, minimumListed: 0, settle, timeout, output, cancellationToken);

            var creating = Stopwatch.StartNew();
            await CreateSecretsAsync(client, count, size, cancellationToken);
            output.WriteLine($"created {count} Secrets of {size} bytes in {creating.Elapsed.TotalSeconds:F0} s");

            var loaded = await MeasureAsync("loaded", cluster, silo, kubeconfig, minimumListed: count, settle, timeout, output, cancellationToken);

            var growth = loaded.RssMb - baseline.RssMb;
            output.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
            output.WriteLine($"growth {growth:F1} MB for {count} x {size} B = {(double)count * size / MiB:F0} MiB of Secret data in the cluster: goal (< 50 MB at 2,000 x 512 KiB) {(growth < 50 ? "met" : "MISSED")}");
            // The peak resident set (VmHWM) is printed, not in the RESULT line, whose keys the issue fixes.
            output.WriteLine($"peak resident: baseline {baseline.PeakMb:F1} MB, loaded {loaded.PeakMb:F1} MB, growth {loaded.PeakMb - baseline.PeakMb:F1} MB");
            return new BenchResult(Name)
                .Add("count", count)
                .Add("size", size)
                .Add("baseline_mb", baseline.RssMb, 1)
                .Add("loaded_mb", loaded.RssMb, 1)
                .Add("growth_mb", growth, 1);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private sealed record Measurement(double RssMb, double PeakMb, int Listed);

    /// <summary>Starts Notary, waits until its watcher has listed the Secrets and watches them, lets it settle, samples its memory, stops it.</summary>
    private static async Task<Measurement> MeasureAsync(string phase, DevClusterServer cluster, string silo, string kubeconfig, int minimumListed, TimeSpan settle, TimeSpan timeout,
        TextWriter output, CancellationToken cancellationToken)
    {
        var auditFrom = cluster.Audit.Count;
        var listed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var recent = new Queue<string>();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { silo, "run", "--kubeconfig", kubeconfig, "--api-port", Port() })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["Notary__Api__Address"] = "127.0.0.1";
        start.Environment["Notary__Cluster__SiloPort"] = Port();
        // Builds before issue 17 opened an Orleans gateway (30000 by default): a free port keeps an older --silo from clashing.
        start.Environment["Notary__Cluster__GatewayPort"] = Port();
        start.Environment["KUBERNETES_SERVICE_HOST"] = "";
        // The product's default logging (its appsettings.json: Information); the watcher's
        // "Listed secrets: K objects" line is the signal that the list is in, and its size.
        start.Environment["Logging__Console__FormatterName"] = "simple";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (recent)
            {
                recent.Enqueue(line);
                if (recent.Count > 60)
                {
                    recent.Dequeue();
                }
            }

            if (ListedSecrets().Match(line) is { Success: true } match)
            {
                listed.TrySetResult(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var started = Stopwatch.StartNew();
            int objects;
            try
            {
                objects = await listed.Task.WaitAsync(timeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                throw new InvalidOperationException($"{phase}: Notary did not list the Secrets within {timeout.TotalSeconds:F0} s; its last lines:\n{Recent()}");
            }

            if (objects < minimumListed)
            {
                throw new InvalidOperationException($"{phase}: Notary listed {objects} Secrets, fewer than the {minimumListed} created");
            }

            // The watch of Secrets is open once the list is handled; then the process settles.
            var deadline = DateTime.UtcNow + timeout;
            while (!cluster.Audit.Skip(auditFrom).Any(r => r.Resource == "secrets" && r.Verb == "watch"))
            {
                if (DateTime.UtcNow > deadline || process.HasExited)
                {
                    throw new InvalidOperationException($"{phase}: Notary never watched Secrets; its last lines:\n{Recent()}");
                }

                await Task.Delay(100, cancellationToken);
            }

            output.WriteLine($"{phase}: Notary listed {objects} Secrets {started.Elapsed.TotalSeconds:F1} s after its start and watches them; settling {settle.TotalSeconds:F0} s");
            await Task.Delay(settle, cancellationToken);

            // Five seconds of samples: the median, so that one collection in flight does not decide it.
            var samples = new List<double>();
            for (var i = 0; i < 10; i++)
            {
                samples.Add(StatusKb(process.Id, "VmRSS") / 1024.0);
                await Task.Delay(500, cancellationToken);
            }

            samples.Sort();
            var rss = samples[samples.Count / 2];
            var peak = StatusKb(process.Id, "VmHWM") / 1024.0;
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{phase}: Notary exited while measured; its last lines:\n{Recent()}");
            }

            var secretReads = cluster.Audit.Skip(auditFrom).Where(r => r.Resource == "secrets" && r.Verb is "list" or "watch").ToList();
            var full = secretReads.Where(r => !r.Accept.Contains("as=PartialObjectMetadata", StringComparison.Ordinal)).ToList();
            output.WriteLine($"{phase}: resident {rss:F1} MB (samples {samples[0]:F1}-{samples[^1]:F1}), peak {peak:F1} MB; " +
                $"{secretReads.Count} lists/watches of Secrets, {full.Count} of them for whole objects");
            return new Measurement(rss, peak, objects);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync(CancellationToken.None);
        }

        string Recent()
        {
            lock (recent)
            {
                return string.Join('\n', recent);
            }
        }
    }

    /// <summary>N Secrets of random bytes (incompressible, all different), four creates in flight.</summary>
    private static async Task CreateSecretsAsync(k8s.Kubernetes client, int count, int size, CancellationToken cancellationToken)
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = $"unrelated-{i:D5}", Labels = new Dictionary<string, string> { ["app"] = "unrelated" } },
                Data = new Dictionary<string, byte[]> { ["blob"] = RandomNumberGenerator.GetBytes(size) },
            }, Namespace, cancellationToken: ct);
        });
    }

    private static long StatusKb(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no {field}");
    }

    private static string Port() => FreePorts.Next().ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Listed secrets: (\d+) objects")]
    private static partial Regex ListedSecrets();
}
