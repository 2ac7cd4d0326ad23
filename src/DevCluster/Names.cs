using System.Text.RegularExpressions;

namespace Notary.DevCluster;

/// <summary>Name and label validation with the real server's messages (apimachinery validation).</summary>
internal static partial class Names
{
    private const string SubdomainFormat = @"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
    private const string LabelFormat = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

    [GeneratedRegex("^" + SubdomainFormat + "$")]
    private static partial Regex Subdomain();

    [GeneratedRegex("^" + LabelFormat + "$")]
    private static partial Regex Label();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex LabelValuePattern();

    [GeneratedRegex("^[-._a-zA-Z0-9]+$")]
    private static partial Regex ConfigKeyPattern();

    public static string? DnsSubdomain(string name)
    {
        if (name.Length > 253)
        {
            return "must be no more than 253 characters";
        }

        return Subdomain().IsMatch(name)
            ? null
            : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '" + SubdomainFormat + "')";
    }

    public static string? DnsLabel(string name)
    {
        if (name.Length > 63)
        {
            return "must be no more than 63 characters";
        }

        return Label().IsMatch(name)
            ? null
            : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '" + LabelFormat + "')";
    }

    public static string? PathSegment(string name)
    {
        if (name is "." or "..")
        {
            return $"may not be '{name}'";
        }

        return name.Contains('/', StringComparison.Ordinal) ? "may not contain '/'" : name.Contains('%', StringComparison.Ordinal) ? "may not contain '%'" : null;
    }

    public static string? LabelKey(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash >= 0 ? key[(slash + 1)..] : key;
        if (slash >= 0 && DnsSubdomain(key[..slash]) is not null)
        {
            return "prefix part " + DnsSubdomain(key[..slash]);
        }

        if (name.Length == 0 || name.Length > 63 || !LabelValuePattern().IsMatch(name))
        {
            return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        }

        return null;
    }

    public static string? LabelValue(string value) =>
        value.Length <= 63 && LabelValuePattern().IsMatch(value)
            ? null
            : "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    public static string? ConfigKey(string key) =>
        ConfigKeyPattern().IsMatch(key) && key is not "." and not ".."
            ? null
            : "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
}
