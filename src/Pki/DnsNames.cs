namespace Notary.Pki;

/// <summary>
/// The DNS names a leaf may carry: lowercase RFC 1123 host names (labels of letters, digits and
/// hyphens, 1–63 characters, no hyphen at either end, 253 characters in all), with a "*" allowed
/// only as the whole leftmost label. Uppercase is refused rather than folded so the resource's
/// fqdn and the certificate's SAN are the same string.
/// </summary>
internal static class DnsNames
{
    private const int MaxNameLength = 253;
    private const int MaxLabelLength = 63;

    /// <summary>Fqdn first, then the alt names in order, duplicates removed.</summary>
    internal static List<string> Validate(string fqdn, IReadOnlyList<string>? altNames)
    {
        if (Problem(fqdn) is { } fqdnProblem)
        {
            throw new PkiException($"fqdn \"{fqdn}\" is not a valid DNS name: {fqdnProblem}");
        }

        var names = new List<string> { fqdn };
        foreach (var alt in altNames ?? [])
        {
            if (Problem(alt) is { } altProblem)
            {
                throw new PkiException($"alt name \"{alt}\" of \"{fqdn}\" is not a valid DNS name: {altProblem}");
            }

            if (!names.Contains(alt, StringComparer.Ordinal))
            {
                names.Add(alt);
            }
        }

        return names;
    }

    /// <summary>Null for a valid name, otherwise what is wrong with it.</summary>
    internal static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "it is empty";
        }

        if (name.Length > MaxNameLength)
        {
            return $"it is {name.Length} characters long, the limit is {MaxNameLength}";
        }

        var labels = name.Split('.');
        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i];
            if (label.Length == 0)
            {
                return "it has an empty label (leading, trailing or double dot)";
            }

            if (label == "*")
            {
                if (i != 0)
                {
                    return "a wildcard is allowed only as the leftmost label";
                }

                if (labels.Length < 3)
                {
                    return "a wildcard needs at least two labels after it";
                }

                continue;
            }

            if (label.Length > MaxLabelLength)
            {
                return $"label \"{label}\" is longer than {MaxLabelLength} characters";
            }

            foreach (var c in label)
            {
                if (c == '*')
                {
                    return "a wildcard must be a whole label (\"*.example.com\")";
                }

                if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
                {
                    return $"label \"{label}\" contains '{c}'; only lowercase letters, digits and '-' are allowed";
                }
            }

            if (label[0] == '-' || label[^1] == '-')
            {
                return $"label \"{label}\" starts or ends with '-'";
            }
        }

        return null;
    }
}
