namespace Notary.Pki.Tests;

public sealed class GoDurationTests
{
    private const string Expected = "expected a Go duration such as \"2160h\", \"30m\" or \"90m30s\"";

    public static TheoryData<string, long> ValidCases => new()
    {
        { "2160h", TimeSpan.FromHours(2160).Ticks },
        { "30m", TimeSpan.FromMinutes(30).Ticks },
        { "90m30s", (TimeSpan.FromMinutes(90) + TimeSpan.FromSeconds(30)).Ticks },
        { "1h30m", TimeSpan.FromMinutes(90).Ticks },
        { "1.5h", TimeSpan.FromMinutes(90).Ticks },
        { "500ms", TimeSpan.FromMilliseconds(500).Ticks },
        { "1.5s", TimeSpan.FromMilliseconds(1500).Ticks },
        { ".5s", TimeSpan.FromMilliseconds(500).Ticks },
        { "1.s", TimeSpan.FromSeconds(1).Ticks },
        { "0", 0 },
        { "-0", 0 },
        { "0s", 0 },
        { "-1h", -TimeSpan.FromHours(1).Ticks },
        { "+5s", TimeSpan.FromSeconds(5).Ticks },
        { "1us", 10 },
        { "1µs", 10 },
        { "1μs", 10 },
        { "100ns", 1 },
        { "150ns", 1 },
        { "1h1h", TimeSpan.FromHours(2).Ticks },
        { "1h2m3s4ms5us600ns", TimeSpan.FromHours(1).Ticks + TimeSpan.FromMinutes(2).Ticks + TimeSpan.FromSeconds(3).Ticks + TimeSpan.FromMilliseconds(4).Ticks + 50 + 6 },
        { "0.000000001h", 36 },
        { "2562047h", TimeSpan.FromHours(2562047).Ticks },
        { "9223372036854775807ns", 92233720368547758 },
        { "-9223372036854775808ns", -92233720368547758 },
    };

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void Parses_like_go(string value, long expectedTicks)
    {
        Assert.Equal(TimeSpan.FromTicks(expectedTicks), GoDuration.Parse(value));
        Assert.True(GoDuration.TryParse(value, out var duration, out var error));
        Assert.Equal(expectedTicks, duration.Ticks);
        Assert.Null(error);
    }

    public static TheoryData<string?, string> InvalidCases => new()
    {
        { "", $"invalid duration \"\": the value is empty; {Expected}" },
        { null, $"invalid duration \"\": the value is empty; {Expected}" },
        { "abc", $"invalid duration \"abc\": unexpected \"a\" where a number should start; {Expected}" },
        { "10", $"invalid duration \"10\": missing unit (ns, us, µs, ms, s, m or h); {Expected}" },
        { "5d", $"invalid duration \"5d\": unknown unit \"d\" (use ns, us, µs, ms, s, m or h); {Expected}" },
        { "1H", $"invalid duration \"1H\": unknown unit \"H\" (use ns, us, µs, ms, s, m or h); {Expected}" },
        { "1h 30m", $"invalid duration \"1h 30m\": unknown unit \"h \" (use ns, us, µs, ms, s, m or h); {Expected}" },
        { " 1h", $"invalid duration \" 1h\": unexpected \" \" where a number should start; {Expected}" },
        { "-", $"invalid duration \"-\": a sign needs a number and a unit after it; {Expected}" },
        { ".s", $"invalid duration \".s\": a \".\" needs digits before or after it; {Expected}" },
        { "1.5.5h", $"invalid duration \"1.5.5h\": missing unit (ns, us, µs, ms, s, m or h); {Expected}" },
        { "h", $"invalid duration \"h\": unexpected \"h\" where a number should start; {Expected}" },
        { "2562048h", "invalid duration \"2562048h\": out of range, the largest Go duration is 2562047h47m16.854775807s" },
        { "9223372036854775808ns", "invalid duration \"9223372036854775808ns\": out of range, the largest Go duration is 2562047h47m16.854775807s" },
        { "99999999999999999999h", "invalid duration \"99999999999999999999h\": out of range, the largest Go duration is 2562047h47m16.854775807s" },
        { "2562047h47m16.854775808s", "invalid duration \"2562047h47m16.854775808s\": out of range, the largest Go duration is 2562047h47m16.854775807s" },
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Rejects_with_a_message_that_quotes_the_value(string? value, string message)
    {
        Assert.False(GoDuration.TryParse(value, out var duration, out var error));
        Assert.Equal(TimeSpan.Zero, duration);
        Assert.Equal(message, error);
        if (value is not null)
        {
            var exception = Assert.Throws<FormatException>(() => GoDuration.Parse(value));
            Assert.Equal(message, exception.Message);
        }
    }

    public static TheoryData<long, string> FormatCases => new()
    {
        { TimeSpan.FromHours(2160).Ticks, "2160h0m0s" },
        { TimeSpan.FromMinutes(30).Ticks, "30m0s" },
        { TimeSpan.FromMinutes(90).Ticks, "1h30m0s" },
        { (TimeSpan.FromMinutes(90) + TimeSpan.FromSeconds(30)).Ticks, "1h30m30s" },
        { TimeSpan.FromMilliseconds(1500).Ticks, "1.5s" },
        { TimeSpan.FromMilliseconds(500).Ticks, "500ms" },
        { TimeSpan.FromMilliseconds(1.5).Ticks, "1.5ms" },
        { 15, "1.5µs" },
        { 1, "100ns" },
        { 0, "0s" },
        { -TimeSpan.FromSeconds(90).Ticks, "-1m30s" },
        { TimeSpan.FromSeconds(1).Ticks + 1, "1.0000001s" },
        { TimeSpan.FromHours(1).Ticks + 1, "1h0m0.0000001s" },
        { TimeSpan.MaxValue.Ticks, "256204778h48m5.4775807s" },
        { TimeSpan.MinValue.Ticks, "-256204778h48m5.4775808s" },
    };

    [Theory]
    [MemberData(nameof(FormatCases))]
    public void Formats_like_go(long ticks, string expected) =>
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromTicks(ticks)));

    [Theory]
    [InlineData("2160h")]
    [InlineData("1h30m0.5s")]
    [InlineData("-45m")]
    [InlineData("750ms")]
    [InlineData("3µs")]
    public void Format_then_parse_round_trips(string value)
    {
        var duration = GoDuration.Parse(value);
        Assert.Equal(duration, GoDuration.Parse(GoDuration.Format(duration)));
    }
}
