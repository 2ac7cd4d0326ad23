using System.Globalization;
using System.Text;

namespace Notary.CustomResources;

/// <summary>Text from users (a Breach's reason, a name) made one line before it goes into status, Events and logs.</summary>
public static class OneLine
{
    /// <summary>
    /// User input made safe for a log line, an Event or a terminal: control, format (bidi
    /// overrides, zero-width) and line-separator characters become spaces, runs of spaces one,
    /// the ends trimmed, and at most <paramref name="max"/> characters kept ("…" marks a cut).
    /// </summary>
    public static string Clean(string text, int max)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            var blank = char.IsWhiteSpace(c) || char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
            if (blank)
            {
                space = sb.Length > 0;
                continue;
            }

            if (space)
            {
                sb.Append(' ');
                space = false;
            }

            sb.Append(c);
        }

        if (sb.Length <= max)
        {
            return sb.ToString();
        }

        var cut = Math.Max(0, max - 1);
        if (cut > 0 && char.IsHighSurrogate(sb[cut - 1]))
        {
            cut--;
        }

        return sb.ToString(0, cut).TrimEnd() + "…";
    }
}
