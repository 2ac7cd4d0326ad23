using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>
/// The subset of Kubernetes JSONPath used by additionalPrinterColumns: <c>.a.b</c>, <c>['a']</c>, <c>[0]</c>,
/// <c>[*]</c>, <c>.*</c>, <c>..a</c> and filters such as <c>[?(@.type=="Ready")]</c>.
/// </summary>
internal sealed class JsonPath
{
    private readonly List<Func<IEnumerable<JsonNode?>, IEnumerable<JsonNode?>>> _steps = [];

    private JsonPath()
    {
    }

    public static JsonPath Parse(string expression)
    {
        var text = expression.Trim();
        if (text.StartsWith('{') && text.EndsWith('}'))
        {
            text = text[1..^1];
        }

        var path = new JsonPath();
        var i = 0;
        if (text.StartsWith('$'))
        {
            i = 1;
        }

        while (i < text.Length)
        {
            var c = text[i];
            if (c == '.')
            {
                if (i + 1 < text.Length && text[i + 1] == '.')
                {
                    i += 2;
                    var name = ReadName(text, ref i);
                    path._steps.Add(nodes => nodes.SelectMany(n => Descend(n, name)));
                    continue;
                }

                i++;
                if (i < text.Length && text[i] == '*')
                {
                    i++;
                    path._steps.Add(nodes => nodes.SelectMany(Children));
                    continue;
                }

                var field = ReadName(text, ref i);
                if (field.Length > 0)
                {
                    path._steps.Add(nodes => nodes.Select(n => n is JsonObject o && o.TryGetPropertyValue(field, out var v) ? v : Missing).Where(n => !ReferenceEquals(n, Missing)));
                }

                continue;
            }

            if (c == '[')
            {
                var end = FindClose(text, i);
                var inner = text[(i + 1)..end].Trim();
                i = end + 1;
                path._steps.Add(BracketStep(inner));
                continue;
            }

            throw new FormatException($"unrecognized character in JSONPath {expression}: {c}");
        }

        return path;
    }

    private static readonly JsonNode Missing = JsonValue.Create("\u0000missing")!;

    public List<JsonNode?> Evaluate(JsonNode? root)
    {
        IEnumerable<JsonNode?> current = [root];
        foreach (var step in _steps)
        {
            current = step(current);
        }

        return [.. current];
    }

    /// <summary>Go's fmt.Print rendering of a value, as the jsonpath printer writes it.</summary>
    public static string Print(JsonNode? value) => value switch
    {
        null => "<nil>",
        JsonArray a => "[" + string.Join(" ", a.Select(Print)) + "]",
        JsonObject o => "map[" + string.Join(" ", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + ":" + Print(p.Value))) + "]",
        _ when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        _ => value.ToJsonString(),
    };

    private static string ReadName(string text, ref int i)
    {
        var start = i;
        while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '-' or '/'))
        {
            i++;
        }

        return text[start..i];
    }

    private static int FindClose(string text, int open)
    {
        var depth = 0;
        char? quote = null;
        for (var i = open; i < text.Length; i++)
        {
            var c = text[i];
            if (quote is not null)
            {
                if (c == quote)
                {
                    quote = null;
                }

                continue;
            }

            if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '[')
            {
                depth++;
            }
            else if (c == ']' && --depth == 0)
            {
                return i;
            }
        }

        throw new FormatException("unclosed [ in JSONPath " + text);
    }

    private static IEnumerable<JsonNode?> Children(JsonNode? node) => node switch
    {
        JsonObject o => o.Select(p => p.Value),
        JsonArray a => a,
        _ => [],
    };

    private static IEnumerable<JsonNode?> Descend(JsonNode? node, string name)
    {
        if (node is JsonObject o && o.TryGetPropertyValue(name, out var v))
        {
            yield return v;
        }

        foreach (var child in Children(node))
        {
            foreach (var found in Descend(child, name))
            {
                yield return found;
            }
        }
    }

    private static Func<IEnumerable<JsonNode?>, IEnumerable<JsonNode?>> BracketStep(string inner)
    {
        if (inner == "*")
        {
            return nodes => nodes.SelectMany(Children);
        }

        if (inner.Length >= 2 && inner[0] is '\'' or '"')
        {
            var name = inner[1..^1];
            return nodes => nodes.Select(n => n is JsonObject o && o.TryGetPropertyValue(name, out var v) ? v : Missing).Where(n => !ReferenceEquals(n, Missing));
        }

        if (inner.StartsWith('?'))
        {
            var filter = inner[1..].Trim();
            if (filter.StartsWith('(') && filter.EndsWith(')'))
            {
                filter = filter[1..^1];
            }

            var predicate = ParseFilter(filter);
            return nodes => nodes.SelectMany(n => n is JsonArray a ? a : [n]).Where(predicate);
        }

        if (inner.Contains(':', StringComparison.Ordinal))
        {
            var parts = inner.Split(':');
            return nodes => nodes.SelectMany(n =>
            {
                if (n is not JsonArray a)
                {
                    return [];
                }

                var start = ParseIndex(parts[0], 0, a.Count);
                var end = ParseIndex(parts[1], a.Count, a.Count);
                return a.Skip(start).Take(Math.Max(0, end - start));
            });
        }

        var index = int.Parse(inner, CultureInfo.InvariantCulture);
        return nodes => nodes.Select(n => n is JsonArray a && (index < 0 ? a.Count + index : index) is var k && k >= 0 && k < a.Count ? a[k] : Missing).Where(n => !ReferenceEquals(n, Missing));
    }

    private static int ParseIndex(string text, int fallback, int count)
    {
        if (text.Trim().Length == 0)
        {
            return fallback;
        }

        var i = int.Parse(text, CultureInfo.InvariantCulture);
        return Math.Clamp(i < 0 ? count + i : i, 0, count);
    }

    private static Func<JsonNode?, bool> ParseFilter(string filter)
    {
        string[] operators = ["==", "!=", "<=", ">=", "<", ">"];
        foreach (var op in operators)
        {
            var at = IndexOutsideQuotes(filter, op);
            if (at < 0)
            {
                continue;
            }

            var left = Operand(filter[..at].Trim());
            var right = Operand(filter[(at + op.Length)..].Trim());
            return node => Compare(left(node), right(node), op);
        }

        var exists = Operand(filter.Trim());
        return node => exists(node) is not null;
    }

    private static int IndexOutsideQuotes(string text, string op)
    {
        char? quote = null;
        for (var i = 0; i + op.Length <= text.Length; i++)
        {
            var c = text[i];
            if (quote is not null)
            {
                if (c == quote)
                {
                    quote = null;
                }

                continue;
            }

            if (c is '\'' or '"')
            {
                quote = c;
                continue;
            }

            if (string.CompareOrdinal(text, i, op, 0, op.Length) == 0)
            {
                return i;
            }
        }

        return -1;
    }

    private static Func<JsonNode?, JsonNode?> Operand(string text)
    {
        if (text.StartsWith('@'))
        {
            var path = Parse(text[1..]);
            return node => path.Evaluate(node).FirstOrDefault();
        }

        if (text.Length >= 2 && text[0] is '\'' or '"')
        {
            var literal = JsonValue.Create(text[1..^1]);
            return _ => literal;
        }

        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            var literal = JsonValue.Create(number);
            return _ => literal;
        }

        var other = JsonValue.Create(text);
        return _ => other;
    }

    private static bool Compare(JsonNode? left, JsonNode? right, string op)
    {
        if (left is null || right is null)
        {
            return false;
        }

        if (left.Kind() == JsonValueKind.Number && right.Kind() == JsonValueKind.Number)
        {
            var l = decimal.Parse(left.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
            var r = decimal.Parse(right.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
            return op switch
            {
                "==" => l == r,
                "!=" => l != r,
                "<" => l < r,
                ">" => l > r,
                "<=" => l <= r,
                _ => l >= r,
            };
        }

        var ls = Print(left);
        var rs = Print(right);
        var cmp = string.CompareOrdinal(ls, rs);
        return op switch
        {
            "==" => cmp == 0,
            "!=" => cmp != 0,
            "<" => cmp < 0,
            ">" => cmp > 0,
            "<=" => cmp <= 0,
            _ => cmp >= 0,
        };
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"JsonPath({_steps.Count} steps)");
        return sb.ToString();
    }
}
