using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>Label selectors (=, ==, !=, in, notin, exists, !key, gt, lt) and field selectors (=, ==, !=).</summary>
internal static class Selectors
{
    private static readonly HashSet<string> EventFields = new(StringComparer.Ordinal)
    {
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
        "reason", "reportingComponent", "source", "type",
        "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "regarding.apiVersion",
        "regarding.resourceVersion", "regarding.fieldPath", "reportingController",
    };

    public static Func<JsonObject, bool> Labels(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return _ => true;
        }

        var requirements = new List<Func<IReadOnlyDictionary<string, string>, bool>>();
        foreach (var part in SplitTopLevel(selector))
        {
            requirements.Add(ParseRequirement(part.Trim()));
        }

        return o =>
        {
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (o["metadata"]?["labels"] is JsonObject l)
            {
                foreach (var (k, v) in l)
                {
                    labels[k] = v.AsString() ?? "";
                }
            }

            return requirements.All(r => r(labels));
        };
    }

    private static List<string> SplitTopLevel(string selector)
    {
        var parts = new List<string>();
        var depth = 0;
        var current = new StringBuilder();
        foreach (var c in selector)
        {
            if (c == '(')
            {
                depth++;
            }
            else if (c == ')')
            {
                depth--;
            }

            if (c == ',' && depth == 0)
            {
                parts.Add(current.ToString());
                current.Clear();
                continue;
            }

            current.Append(c);
        }

        parts.Add(current.ToString());
        return [.. parts.Where(p => p.Trim().Length > 0)];
    }

    private static Func<IReadOnlyDictionary<string, string>, bool> ParseRequirement(string text)
    {
        if (text.StartsWith('!'))
        {
            var key = text[1..].Trim();
            return l => !l.ContainsKey(key);
        }

        foreach (var (op, negate) in new[] { (" notin ", true), (" in ", false) })
        {
            var at = text.IndexOf(op, StringComparison.Ordinal);
            if (at > 0)
            {
                var key = text[..at].Trim();
                var set = text[(at + op.Length)..].Trim();
                if (!set.StartsWith('(') || !set.EndsWith(')'))
                {
                    throw ApiException.BadRequest($"unable to parse requirement: found '{set}', expected: '('");
                }

                var values = set[1..^1].Split(',').Select(v => v.Trim()).ToHashSet(StringComparer.Ordinal);
                return negate
                    ? l => !l.TryGetValue(key, out var v) || !values.Contains(v)
                    : l => l.TryGetValue(key, out var v) && values.Contains(v);
            }
        }

        foreach (var op in new[] { "!=", "==", "=", ">", "<" })
        {
            var at = text.IndexOf(op, StringComparison.Ordinal);
            if (at > 0)
            {
                var key = text[..at].Trim();
                var value = text[(at + op.Length)..].Trim();
                return op switch
                {
                    "!=" => l => !l.TryGetValue(key, out var v) || v != value,
                    ">" => l => l.TryGetValue(key, out var v) && long.TryParse(v, CultureInfo.InvariantCulture, out var n) && n > long.Parse(value, CultureInfo.InvariantCulture),
                    "<" => l => l.TryGetValue(key, out var v) && long.TryParse(v, CultureInfo.InvariantCulture, out var n) && n < long.Parse(value, CultureInfo.InvariantCulture),
                    _ => l => l.TryGetValue(key, out var v) && v == value,
                };
            }
        }

        var existsKey = text.Trim();
        return l => l.ContainsKey(existsKey);
    }

    /// <summary>Parses a field selector, refusing fields the real server does not index for this kind.</summary>
    public static Func<JsonObject, bool> Fields(string? selector, ResourceType rt)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return _ => true;
        }

        var requirements = new List<Func<JsonObject, bool>>();
        foreach (var part in SplitEscaped(selector, ','))
        {
            var text = part.Trim();
            if (text.Length == 0)
            {
                continue;
            }

            string op;
            var at = IndexUnescaped(text, "!=");
            if (at >= 0)
            {
                op = "!=";
            }
            else if ((at = IndexUnescaped(text, "==")) >= 0)
            {
                op = "==";
            }
            else if ((at = IndexUnescaped(text, "=")) >= 0)
            {
                op = "=";
            }
            else
            {
                throw ApiException.BadRequest($"invalid selector: '{selector}'; can't understand '{text}'");
            }

            var field = text[..at].Trim();
            var value = Unescape(text[(at + op.Length)..]);
            if (!Supported(field, rt))
            {
                throw ApiException.BadRequest($"field label not supported: {field}");
            }

            requirements.Add(op == "!="
                ? o => FieldValue(o, field) != value
                : o => FieldValue(o, field) == value);
        }

        return o => requirements.All(r => r(o));
    }

    private static bool Supported(string field, ResourceType rt) =>
        field is "metadata.name" or "metadata.namespace" ||
        (rt.Plural == "events" && EventFields.Contains(field)) ||
        (rt.Plural == "secrets" && field == "type") ||
        (rt.Plural == "namespaces" && field == "status.phase");

    private static string FieldValue(JsonObject o, string field)
    {
        if (field == "source")
        {
            return o["source"].Str("component") ?? o.Str("reportingComponent") ?? o["deprecatedSource"].Str("component") ?? "";
        }

        if (field == "metadata.namespace" && o["metadata"].Str("namespace") is null)
        {
            return "";
        }

        var value = o.At(field);
        return value is null ? "" : JsonPath.Print(value);
    }

    private static List<string> SplitEscaped(string text, char separator)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length)
            {
                current.Append(text[i]).Append(text[i + 1]);
                i++;
                continue;
            }

            if (text[i] == separator)
            {
                parts.Add(current.ToString());
                current.Clear();
                continue;
            }

            current.Append(text[i]);
        }

        parts.Add(current.ToString());
        return parts;
    }

    private static int IndexUnescaped(string text, string op)
    {
        for (var i = 0; i + op.Length <= text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
                continue;
            }

            if (string.CompareOrdinal(text, i, op, 0, op.Length) == 0)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Unescape(string text)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length)
            {
                i++;
            }

            sb.Append(text[i]);
        }

        return sb.ToString();
    }
}
