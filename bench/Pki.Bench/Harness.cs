using System.Collections.Concurrent;
using System.Diagnostics;

namespace Notary.Pki.Bench;

/// <summary>One unit of work. Instances are per thread; <see cref="Run"/> is what gets timed.</summary>
internal interface IOperation<out T> : IDisposable
{
    T Run();
}

internal enum RunMode
{
    Single,
    Parallel,
}

/// <summary>One backend's implementation of a workload.</summary>
internal sealed record BenchCell<T>(string Backend, Func<IOperation<T>> CreateOperation);

/// <summary>
/// How long each (cell, mode) is measured: until it has <see cref="MaxSamples"/> operations, or it
/// has run for <see cref="Seconds"/> and has at least <see cref="MinSamples"/>.
/// </summary>
internal sealed record Budget(double Seconds, int MaxSamples, int MinSamples, double WarmupSeconds, bool KeepAllOutputs)
{
    /// <summary>Cells take turns in slices of this length so that drift on a shared machine hits every backend alike.</summary>
    public double SliceSeconds => Math.Max(0.05, Seconds / 8);
}

internal sealed record CellResult(
    string Workload,
    string Backend,
    RunMode Mode,
    int Threads,
    long Operations,
    double OpsPerSecond,
    double MeanMs,
    double MedianMs,
    double P90Ms,
    double MinMs,
    double MaxMs,
    double AllocatedBytesPerOp);

/// <summary>
/// A Stopwatch harness: warm-up, then the cells of one workload measured in interleaved slices,
/// first on one thread, then with Parallel.For on every core. Single-thread samples are per
/// operation; parallel throughput is operations over the wall-clock time of whole batches, and
/// its latency figures are the per-operation times seen inside the batches.
/// </summary>
internal sealed class Harness(Budget budget, TextWriter log)
{
    private readonly int _cores = Environment.ProcessorCount;

    public (IReadOnlyList<CellResult> Results, IReadOnlyList<string> Failures) Run<T>(
        string workload, IReadOnlyList<BenchCell<T>> cells, Func<T, IEnumerable<string>> verify)
    {
        var states = cells.Select(c => new CellState<T>(c) { KeepAll = budget.KeepAllOutputs }).ToList();
        var results = new List<CellResult>();
        try
        {
            foreach (var state in states)
            {
                WarmUp(workload, state);
            }

            results.AddRange(Measure(workload, states, RunMode.Single));
            results.AddRange(Measure(workload, states, RunMode.Parallel));
        }
        finally
        {
            foreach (var state in states)
            {
                state.Dispose();
            }
        }

        var failures = new List<string>();
        foreach (var state in states)
        {
            foreach (var output in state.Kept)
            {
                failures.AddRange(verify(output).Select(f => $"{workload} [{state.Cell.Backend}]: {f}"));
            }

            log.WriteLine($"  verified {state.Kept.Count} output(s) of {workload} [{state.Cell.Backend}]");
        }

        return (results, failures);
    }

    private void WarmUp<T>(string workload, CellState<T> state)
    {
        if (budget.WarmupSeconds <= 0)
        {
            return;
        }

        // At least one operation, then until the warm-up time has passed: enough for tiered JIT to
        // reach the hot loops of the managed code (BouncyCastle is all managed).
        var operation = state.SingleOperation;
        long start = Stopwatch.GetTimestamp();
        int count = 0;
        do
        {
            state.Keep(operation.Run(), always: count < 3);
            count++;
        }
        while (Stopwatch.GetElapsedTime(start).TotalSeconds < budget.WarmupSeconds);

        log.WriteLine($"  warm-up {workload} [{state.Cell.Backend}]: {count} op(s) in {Stopwatch.GetElapsedTime(start).TotalSeconds:F1} s");
    }

    private IEnumerable<CellResult> Measure<T>(string workload, List<CellState<T>> states, RunMode mode)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        var measurements = states.Select(_ => new Measurement()).ToList();
        if (mode == RunMode.Parallel)
        {
            foreach (var state in states)
            {
                state.FillPool(_cores);
                if (budget.WarmupSeconds > 0)
                {
                    // One discarded batch: thread-pool ramp-up and the per-thread operations' first use.
                    RunBatch(state, _cores, new Measurement());
                }
            }
        }

        for (int round = 0; measurements.Any(m => !IsDone(m)); round++)
        {
            // Rotate who goes first each round.
            for (int k = 0; k < states.Count; k++)
            {
                int i = (round + k) % states.Count;
                if (IsDone(measurements[i]))
                {
                    continue;
                }

                if (mode == RunMode.Single)
                {
                    RunSlice(states[i], measurements[i]);
                }
                else
                {
                    RunBatch(states[i], BatchSize(measurements[i], states[i].SingleMeanSeconds), measurements[i]);
                }
            }
        }

        for (int i = 0; i < states.Count; i++)
        {
            var result = measurements[i].ToResult(workload, states[i].Cell.Backend, mode, mode == RunMode.Single ? 1 : _cores);
            if (mode == RunMode.Single)
            {
                states[i].SingleMeanSeconds = result.MeanMs / 1000;
            }

            log.WriteLine($"  {workload} [{states[i].Cell.Backend}] {mode.ToString().ToLowerInvariant()}: " +
                $"{result.Operations} ops, {result.OpsPerSecond:F1} ops/s, mean {result.MeanMs:F2} ms, median {result.MedianMs:F2} ms");
            yield return result;
        }
    }

    private bool IsDone(Measurement m) =>
        m.Operations >= budget.MaxSamples || (m.Seconds >= budget.Seconds && m.Operations >= budget.MinSamples);

    private int BatchSize(Measurement soFar, double singleMeanSeconds)
    {
        // About one slice of work spread over all cores, never fewer operations than cores.
        double perOp = singleMeanSeconds > 0 ? singleMeanSeconds : budget.SliceSeconds;
        long wanted = (long)Math.Round(budget.SliceSeconds * _cores / perOp);
        long remaining = budget.MaxSamples - soFar.Operations;
        return (int)Math.Max(_cores, Math.Min(wanted, remaining));
    }

    private void RunSlice<T>(CellState<T> state, Measurement measurement)
    {
        var operation = state.SingleOperation;
        long sliceStart = Stopwatch.GetTimestamp();
        do
        {
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            T output = operation.Run();
            long end = Stopwatch.GetTimestamp();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            double seconds = (double)(end - start) / Stopwatch.Frequency;
            measurement.Add(seconds, allocated);
            measurement.Seconds += seconds;
            state.Keep(output, always: measurement.Operations == 1);
        }
        while (!IsDone(measurement) && Stopwatch.GetElapsedTime(sliceStart).TotalSeconds < budget.SliceSeconds);
    }

    private void RunBatch<T>(CellState<T> state, int size, Measurement measurement)
    {
        var latencies = new ConcurrentBag<double[]>();
        var options = new ParallelOptions { MaxDegreeOfParallelism = _cores };
        bool keepFirst = measurement.Operations == 0;
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        Parallel.For(
            0,
            size,
            options,
            () => (Operation: state.TakeFromPool(), Samples: new List<double>()),
            (i, _, local) =>
            {
                long t0 = Stopwatch.GetTimestamp();
                T output = local.Operation.Run();
                local.Samples.Add((double)(Stopwatch.GetTimestamp() - t0) / Stopwatch.Frequency);
                state.Keep(output, always: keepFirst && i == 0);
                return local;
            },
            local =>
            {
                latencies.Add([.. local.Samples]);
                state.ReturnToPool(local.Operation);
            });
        double wall = (double)(Stopwatch.GetTimestamp() - start) / Stopwatch.Frequency;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        var all = latencies.SelectMany(l => l).ToList();
        for (int i = 0; i < all.Count; i++)
        {
            measurement.Add(all[i], i == 0 ? allocated : 0);
        }

        measurement.Seconds += wall;
    }

    private sealed class CellState<T>(BenchCell<T> cell) : IDisposable
    {
        private readonly ConcurrentBag<IOperation<T>> _pool = [];
        private readonly List<IOperation<T>> _created = [];
        private readonly ConcurrentQueue<T> _kept = new();
        private readonly Lock _gate = new();
        private IOperation<T>? _single;

        public BenchCell<T> Cell { get; } = cell;

        public bool KeepAll { get; init; }

        public double SingleMeanSeconds { get; set; }

        public IOperation<T> SingleOperation => _single ??= Create();

        public IReadOnlyCollection<T> Kept => _kept;

        public void Keep(T output, bool always)
        {
            if (always || KeepAll)
            {
                _kept.Enqueue(output);
            }
        }

        public void FillPool(int count)
        {
            while (_pool.Count < count)
            {
                _pool.Add(Create());
            }
        }

        public IOperation<T> TakeFromPool() => _pool.TryTake(out var operation) ? operation : Create();

        public void ReturnToPool(IOperation<T> operation) => _pool.Add(operation);

        public void Dispose()
        {
            foreach (var operation in _created)
            {
                operation.Dispose();
            }
        }

        private IOperation<T> Create()
        {
            var operation = Cell.CreateOperation();
            lock (_gate)
            {
                _created.Add(operation);
            }

            return operation;
        }
    }

    private sealed class Measurement
    {
        private readonly List<double> _samples = [];
        private long _allocated;

        public long Operations => _samples.Count;

        /// <summary>Measured time: the sum of operation times on one thread, the batches' wall time in parallel.</summary>
        public double Seconds { get; set; }

        public void Add(double seconds, long allocatedBytes)
        {
            _samples.Add(seconds);
            _allocated += allocatedBytes;
        }

        public CellResult ToResult(string workload, string backend, RunMode mode, int threads)
        {
            var sorted = _samples.Order().ToArray();
            double Ms(double s) => s * 1000;
            return new CellResult(
                workload,
                backend,
                mode,
                threads,
                sorted.Length,
                sorted.Length / Seconds,
                Ms(sorted.Average()),
                Ms(Percentile(sorted, 0.5)),
                Ms(Percentile(sorted, 0.9)),
                Ms(sorted[0]),
                Ms(sorted[^1]),
                (double)_allocated / sorted.Length);
        }

        private static double Percentile(double[] sorted, double p)
        {
            double rank = p * (sorted.Length - 1);
            int low = (int)Math.Floor(rank);
            int high = (int)Math.Ceiling(rank);
            return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
        }
    }
}
