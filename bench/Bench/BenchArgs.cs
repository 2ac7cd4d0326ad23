using System.Globalization;

namespace Notary.Bench;

/// <summary>The command line: SCENARIO [--count N] [--option value ...].</summary>
public sealed record BenchArgs(string Scenario, int? Count, IReadOnlyDictionary<string, string> Options)
{
    public const string Usage = "usage: dotnet run -c Release --project bench/Bench -- SCENARIO [--count N] [--name value ...]";

    /// <summary>--count, or the scenario's default.</summary>
    public int CountOr(int defaultCount) => Count ?? defaultCount;

    /// <summary>A scenario-specific option (--name value), or the default.</summary>
    public string Option(string name, string defaultValue) => Options.TryGetValue(name, out var value) ? value : defaultValue;

    public int IntOption(string name, int defaultValue, int minimum = 1) =>
        Options.TryGetValue(name, out var value)
            ? int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed >= minimum
                ? parsed
                : throw new ArgumentException($"--{name} must be a whole number of at least {minimum}, not '{value}'")
            : defaultValue;

    public static BenchArgs Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0].StartsWith('-'))
        {
            throw new ArgumentException("name a scenario first");
        }

        int? count = null;
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new ArgumentException($"unexpected argument '{arg}'");
            }

            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"{arg} needs a value");
            }

            var value = args[++i];
            if (arg == "--count")
            {
                count = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                    ? n
                    : throw new ArgumentException($"--count must be a positive whole number, not '{value}'");
            }
            else
            {
                options[arg[2..]] = value;
            }
        }

        return new BenchArgs(args[0], count, options);
    }
}
