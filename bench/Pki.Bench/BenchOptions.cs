using System.Globalization;

namespace Notary.Pki.Bench;

/// <summary>Command line: [--smoke] [--count N] [--seconds S] [--rsa4096-count N] [--algorithms a,b] [--samples DIR].</summary>
internal sealed record BenchOptions(
    bool Smoke,
    int Count,
    double Seconds,
    int Rsa4096Count,
    IReadOnlyList<LeafAlgorithm> Algorithms,
    string? SamplesDirectory)
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/Pki.Bench -- [options]
          --smoke              tiny counts, no RSA 4096; exit 1 if any output fails verification
          --count N            at most N operations per backend, algorithm and mode (default 100000);
                               a cell stops at N, or after --seconds once it has its minimum
                               samples (RSA 20, RSA 4096 3, others 5)
          --seconds S          measure each backend, algorithm and mode for S seconds (default 4)
          --rsa4096-count N    at most N operations for RSA 4096 (default 8; 0 leaves it out)
          --algorithms LIST    comma-separated subset of rsa2048,rsa3072,ecdsa-p256,ecdsa-p384,rsa4096
          --samples DIR        write one certificate, key and keystore per backend to DIR for openssl
        """;

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        bool smoke = false;
        int? count = null;
        double? seconds = null;
        int rsa4096Count = 8;
        List<LeafAlgorithm>? algorithms = null;
        string? samples = null;

        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--smoke":
                    smoke = true;
                    break;
                case "--count":
                    count = PositiveInt(args[i], Value());
                    break;
                case "--seconds":
                    string s = Value();
                    seconds = double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d >= 0
                        ? d
                        : throw new ArgumentException($"--seconds wants a number of seconds >= 0, got '{s}'");
                    break;
                case "--rsa4096-count":
                    string r = Value();
                    rsa4096Count = int.TryParse(r, CultureInfo.InvariantCulture, out int n) && n >= 0
                        ? n
                        : throw new ArgumentException($"--rsa4096-count wants an integer >= 0, got '{r}'");
                    break;
                case "--algorithms":
                    algorithms = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(a => LeafAlgorithm.Find(a) ?? throw new ArgumentException(
                            $"unknown algorithm '{a}'; choose from {string.Join(",", LeafAlgorithm.All)}"))];
                    break;
                case "--samples":
                    samples = Value();
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        algorithms ??= [.. LeafAlgorithm.All.Where(a => a != LeafAlgorithm.Rsa4096 || (!smoke && rsa4096Count > 0))];
        return new BenchOptions(
            smoke,
            count ?? (smoke ? 1 : 100_000),
            seconds ?? (smoke ? 0 : 4),
            rsa4096Count,
            algorithms,
            samples);
    }

    /// <summary>The budget for one workload; RSA 4096 is capped at its small count.</summary>
    public Budget BudgetFor(LeafAlgorithm? algorithm) => new(
        Seconds,
        algorithm == LeafAlgorithm.Rsa4096 ? Math.Max(1, Math.Min(Count, Rsa4096Count)) : Count,
        MinSamples: Smoke ? 1 : Math.Min(Count, MinSamplesFor(algorithm)),
        WarmupSeconds: Smoke ? 0 : 1,
        KeepAllOutputs: Smoke);

    /// <summary>
    /// RSA key generation time varies a lot from key to key (it is a search for primes), so RSA
    /// needs more samples than ECDSA for a stable mean and median; RSA 4096 is too slow for many.
    /// </summary>
    private static int MinSamplesFor(LeafAlgorithm? algorithm) =>
        algorithm == LeafAlgorithm.Rsa4096 ? 3
        : algorithm?.Kind == KeyKind.Rsa ? 20
        : 5;

    private static int PositiveInt(string option, string value) =>
        int.TryParse(value, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new ArgumentException($"{option} wants an integer > 0, got '{value}'");
}
