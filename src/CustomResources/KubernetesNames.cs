using System.Text.RegularExpressions;

namespace Notary.CustomResources;

/// <summary>Kubernetes' own rules for names and label values (apimachinery validation).</summary>
public static partial class KubernetesNames
{
    /// <summary>An RFC 1123 label, as namespace names must be: lowercase alphanumerics and '-', at most 63.</summary>
    public static bool IsDnsLabel(string? value) => value is { Length: > 0 and <= 63 } && DnsLabel().IsMatch(value);

    /// <summary>An RFC 1123 subdomain, as most object names must be: labels joined by '.', at most 253.</summary>
    public static bool IsDnsSubdomain(string? value) => value is { Length: > 0 and <= 253 } && DnsSubdomain().IsMatch(value);

    /// <summary>A valid label value: empty, or at most 63 alphanumerics, '-', '_' and '.', alphanumeric at both ends.</summary>
    public static bool IsLabelValue(string? value) => value is not null && value.Length <= 63 && LabelValue().IsMatch(value);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelValue();
}
