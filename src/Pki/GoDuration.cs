using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Notary.Pki;

/// <summary>
/// Go-style durations as Kubernetes users write them: "2160h", "30m", "90m30s", "1h30m", "1.5h", "500ms".
/// Parsing follows Go's time.ParseDuration, including its range (an int64 count of nanoseconds,
/// about 292 years), so a value Kubernetes tooling accepts is accepted here and vice versa.
/// TimeSpan counts 100 ns ticks, so sub-tick remainders (e.g. "150ns") are truncated.
/// </summary>
public static class GoDuration
{
    private const string Expected = "expected a Go duration such as \"2160h\", \"30m\" or \"90m30s\"";

    /// <summary>Go's largest duration: 2562047h47m16.854775807s.</summary>
    private const ulong MaxNanoseconds = long.MaxValue;

    private const ulong NanosecondsPerTick = 100;

    /// <summary>Parses or throws <see cref="FormatException"/> with a message that quotes the value and says what is accepted.</summary>
    public static TimeSpan Parse(string value) =>
        TryParse(value, out var duration, out var error) ? duration : throw new FormatException(error);

    public static bool TryParse(string? value, out TimeSpan duration, [NotNullWhen(false)] out string? error)
    {
        duration = TimeSpan.Zero;
        error = Parse(value, out var nanoseconds, out var negative);
        if (error is not null)
        {
            return false;
        }

        var ticks = (long)(nanoseconds / NanosecondsPerTick);
        duration = TimeSpan.FromTicks(negative ? -ticks : ticks);
        return true;
    }

    /// <summary>Formats as Go does ("2160h0m0s", "30m0s", "1.5s", "500ms", "0s").</summary>
    public static string Format(TimeSpan duration)
    {
        // UInt128 because TimeSpan.MaxValue in nanoseconds does not fit a long.
        var negative = duration.Ticks < 0;
        var magnitude = (UInt128)(negative ? -(Int128)duration.Ticks : duration.Ticks) * NanosecondsPerTick;
        if (magnitude == 0)
        {
            return "0s";
        }

        var text = new StringBuilder();
        if (negative)
        {
            text.Append('-');
        }

        if (magnitude < 1_000_000_000)
        {
            // Below one second Go switches to the largest unit that keeps an integer part.
            var small = (ulong)magnitude;
            var (unit, digits, suffix) = small switch
            {
                < 1_000 => (1UL, 0, "ns"),
                < 1_000_000 => (1_000UL, 3, "µs"),
                _ => (1_000_000UL, 6, "ms"),
            };
            AppendWithFraction(text, small, unit, digits);
            return text.Append(suffix).ToString();
        }

        var totalSeconds = magnitude / 1_000_000_000;
        var hours = totalSeconds / 3600;
        var minutes = totalSeconds / 60 % 60;
        if (hours > 0)
        {
            text.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }

        if (hours > 0 || minutes > 0)
        {
            text.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }

        AppendWithFraction(text, magnitude % 60_000_000_000, 1_000_000_000, 9);
        return text.Append('s').ToString();
    }

    private static void AppendWithFraction(StringBuilder text, UInt128 value, ulong unit, int digits)
    {
        text.Append((value / unit).ToString(CultureInfo.InvariantCulture));
        var fraction = (value % unit).ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0').TrimEnd('0');
        if (fraction.Length > 0)
        {
            text.Append('.').Append(fraction);
        }
    }

    /// <summary>Returns null on success, otherwise the error message.</summary>
    private static string? Parse(string? value, out ulong nanoseconds, out bool negative)
    {
        nanoseconds = 0;
        negative = false;
        if (string.IsNullOrEmpty(value))
        {
            return $"invalid duration \"\": the value is empty; {Expected}";
        }

        var s = value.AsSpan();
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s is "0")
        {
            return null;
        }

        if (s.IsEmpty)
        {
            return Invalid(value, "a sign needs a number and a unit after it");
        }

        ulong total = 0;
        while (!s.IsEmpty)
        {
            if (!(s[0] == '.' || char.IsAsciiDigit(s[0])))
            {
                return Invalid(value, $"unexpected \"{s[0]}\" where a number should start");
            }

            var integerDigits = CountDigits(s);
            if (!TryParseInteger(s[..integerDigits], out var whole))
            {
                return OutOfRange(value);
            }

            s = s[integerDigits..];
            var fractionDigits = 0;
            ReadOnlySpan<char> fraction = default;
            if (!s.IsEmpty && s[0] == '.')
            {
                fractionDigits = CountDigits(s[1..]);
                fraction = s.Slice(1, fractionDigits);
                s = s[(1 + fractionDigits)..];
            }

            if (integerDigits == 0 && fractionDigits == 0)
            {
                return Invalid(value, "a \".\" needs digits before or after it");
            }

            var unitLength = 0;
            while (unitLength < s.Length && !(s[unitLength] == '.' || char.IsAsciiDigit(s[unitLength])))
            {
                unitLength++;
            }

            if (unitLength == 0)
            {
                return Invalid(value, "missing unit (ns, us, µs, ms, s, m or h)");
            }

            var unitText = s[..unitLength];
            s = s[unitLength..];
            if (!TryGetUnit(unitText, out var unit))
            {
                return Invalid(value, $"unknown unit \"{unitText}\" (use ns, us, µs, ms, s, m or h)");
            }

            // Exact arithmetic in UInt128: the fraction may carry more digits than a double holds.
            var amount = (UInt128)whole * unit;
            if (fractionDigits > 0)
            {
                amount += FractionOf(fraction, unit);
            }

            // Go allows one more nanosecond below zero than above it (int64's range).
            var sum = amount + total;
            if (sum > MaxNanoseconds + (negative ? 1UL : 0UL))
            {
                return OutOfRange(value);
            }

            total = (ulong)sum;
        }

        nanoseconds = total;
        return null;
    }

    private static int CountDigits(ReadOnlySpan<char> s)
    {
        var count = 0;
        while (count < s.Length && char.IsAsciiDigit(s[count]))
        {
            count++;
        }

        return count;
    }

    private static bool TryParseInteger(ReadOnlySpan<char> digits, out ulong result)
    {
        result = 0;
        foreach (var c in digits)
        {
            var next = (UInt128)result * 10 + (uint)(c - '0');
            if (next > MaxNanoseconds + 1)
            {
                return false;
            }

            result = (ulong)next;
        }

        return true;
    }

    /// <summary>The fraction's share of one unit, truncated to whole nanoseconds as Go does.</summary>
    private static UInt128 FractionOf(ReadOnlySpan<char> fraction, ulong unit)
    {
        // Digits beyond 19 cannot change a nanosecond count of any unit up to an hour.
        var significant = fraction[..Math.Min(fraction.Length, 19)];
        UInt128 numerator = 0;
        UInt128 denominator = 1;
        foreach (var c in significant)
        {
            numerator = numerator * 10 + (uint)(c - '0');
            denominator *= 10;
        }

        return numerator * unit / denominator;
    }

    private static bool TryGetUnit(ReadOnlySpan<char> unit, out ulong nanoseconds)
    {
        nanoseconds = unit switch
        {
            "ns" => 1,
            "us" or "µs" or "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => 0,
        };
        return nanoseconds != 0;
    }

    private static string Invalid(string value, string reason) => $"invalid duration \"{value}\": {reason}; {Expected}";

    private static string OutOfRange(string value) =>
        $"invalid duration \"{value}\": out of range, the largest Go duration is 2562047h47m16.854775807s";
}
