namespace Notary.Pki;

/// <summary>Go-style durations as Kubernetes users write them: "2160h", "30m", "90m30s", "1h30m", "1.5h", "500ms".</summary>
public static class GoDuration
{
    /// <summary>Parses or throws <see cref="FormatException"/> with a message that quotes the value and says what is accepted.</summary>
    public static TimeSpan Parse(string value) => throw new NotImplementedException();

    public static bool TryParse(string? value, out TimeSpan duration, out string? error) => throw new NotImplementedException();

    /// <summary>Formats as Go does ("2160h0m0s").</summary>
    public static string Format(TimeSpan duration) => throw new NotImplementedException();
}
