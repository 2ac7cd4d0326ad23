using System.Globalization;
using System.Text;

namespace Notary.Bench;

/// <summary>
/// A scenario's figures, printed as the one line `RESULT scenario key=value ...` in the order
/// they were added. Numbers use the invariant culture so the line can be parsed anywhere.
/// </summary>
public sealed class BenchResult(string scenario)
{
    private readonly List<KeyValuePair<string, string>> _values = [];

    public string Scenario { get; } = scenario;

    public IReadOnlyList<KeyValuePair<string, string>> Values => _values;

    public BenchResult Add(string key, long value) => Add(key, value.ToString(CultureInfo.InvariantCulture));

    public BenchResult Add(string key, double value, int decimals = 2) =>
        Add(key, Math.Round(value, decimals).ToString("0.##########", CultureInfo.InvariantCulture));

    public BenchResult Add(string key, string value)
    {
        if (key.Any(char.IsWhiteSpace) || key.Contains('=') || value.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"RESULT keys and values have no spaces: '{key}={value}'");
        }

        _values.Add(new(key, value));
        return this;
    }

    public string Line()
    {
        var line = new StringBuilder("RESULT ").Append(Scenario);
        foreach (var (key, value) in _values)
        {
            line.Append(' ').Append(key).Append('=').Append(value);
        }

        return line.ToString();
    }
}
