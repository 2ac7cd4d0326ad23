using System.Text.RegularExpressions;

namespace Notary.Adapters.Kubernetes.Tests.Support;

/// <summary>
/// Compiles a CRD pattern so that .NET matches what the API server (Go RE2) matches. The one
/// difference that matters for anchored patterns: .NET's '$' also matches before a final newline,
/// Go's only at the end of the text, so "1h\n" would pass here and fail there.
/// </summary>
internal static class GoPattern
{
    public static Regex Compile(string pattern)
    {
        if (pattern.EndsWith('$') && !pattern.EndsWith(@"\$", StringComparison.Ordinal))
        {
            pattern = pattern[..^1] + @"\z";
        }

        return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }
}
