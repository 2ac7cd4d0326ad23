using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Notary.DevCluster;

/// <summary>JSON and YAML helpers shared by the server: parsing, Go-style value formatting, path access.</summary>
internal static partial class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Serialize(JsonNode? node) => node is null ? "null" : node.ToJsonString(Options);

    // Straight to UTF-8, the bytes every response is sent as, without a UTF-16 string in between.
    public static byte[] SerializeToUtf8(JsonNode? node) => node is null ? "null"u8.ToArray() : JsonSerializer.SerializeToUtf8Bytes(node, Options);

    public static JsonObject? AsObject(this JsonNode? node) => node as JsonObject;

    public static JsonObject Obj(this JsonObject o, string key)
    {
        if (o[key] is JsonObject child)
        {
            return child;
        }

        var created = new JsonObject();
        o[key] = created;
        return created;
    }

    public static string? Str(this JsonNode? node, string key) =>
        node is JsonObject o && o[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public static string? AsString(this JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public static long? AsLong(this JsonNode? node)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            if (v.TryGetValue<long>(out var l))
            {
                return l;
            }

            if (v.TryGetValue<double>(out var d) && Math.Abs(d % 1) < double.Epsilon)
            {
                return (long)d;
            }

            if (long.TryParse(v.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out l))
            {
                return l;
            }
        }

        return null;
    }

    public static bool? AsBool(this JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? v.GetValue<bool>() : null;

    public static JsonValueKind Kind(this JsonNode? node) => node switch
    {
        null => JsonValueKind.Null,
        JsonObject => JsonValueKind.Object,
        JsonArray => JsonValueKind.Array,
        _ => node.GetValueKind(),
    };

    /// <summary>Reads a dotted path such as <c>metadata.name</c>.</summary>
    public static JsonNode? At(this JsonNode? node, string dottedPath)
    {
        var current = node;
        foreach (var part in dottedPath.Split('.'))
        {
            if (current is not JsonObject o || !o.TryGetPropertyValue(part, out current))
            {
                return null;
            }
        }

        return current;
    }

    public static JsonObject ParseObject(ReadOnlySpan<byte> utf8)
    {
        var node = JsonNode.Parse(utf8, documentOptions: new JsonDocumentOptions { MaxDepth = 256 });
        return node as JsonObject ?? throw new JsonException("expected a JSON object");
    }

    /// <summary>The Go <c>%q</c> rendering of a string, as the real server quotes values in messages.</summary>
    public static string GoQuote(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        sb.Append('"');
        foreach (var rune in s.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (rune.Value < 0x20 || rune.Value == 0x7f)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}");
                    }
                    else
                    {
                        sb.Append(rune.ToString());
                    }

                    break;
            }
        }

        sb.Append('"');
        return sb.ToString();
    }

    /// <summary>How the real server prints a bad value in a field error (Go's %q, %v or %#v).</summary>
    public static string GoValue(JsonNode? value) => value switch
    {
        null => "null",
        JsonObject o => "map[string]interface {}{" + string.Join(", ", o.Select(p => GoQuote(p.Key) + ":" + GoInner(p.Value))) + "}",
        JsonArray a => "[]interface {}{" + string.Join(", ", a.Select(GoInner)) + "}",
        _ when value.GetValueKind() == JsonValueKind.String => GoQuote(value.GetValue<string>()),
        _ => value.ToJsonString(),
    };

    private static string GoInner(JsonNode? value) => value switch
    {
        null => "interface {}(nil)",
        JsonObject or JsonArray => GoValue(value),
        _ when value.GetValueKind() == JsonValueKind.String => GoQuote(value.GetValue<string>()),
        _ when value.GetValueKind() == JsonValueKind.Number => (value.AsLong() is { } l ? "int64(" + l.ToString(CultureInfo.InvariantCulture) : "float64(" + value.ToJsonString()) + ")",
        _ => value.ToJsonString(),
    };

    /// <summary>Parses YAML (all documents) into JSON as sigs.k8s.io/yaml does: plain scalars are typed.</summary>
    public static List<JsonNode?> ParseYamlDocuments(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        var docs = new List<JsonNode?>();
        foreach (var doc in stream.Documents)
        {
            docs.Add(FromYaml(doc.RootNode));
        }

        return docs;
    }

    private static JsonNode? FromYaml(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var o = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    o[((YamlScalarNode)key).Value ?? ""] = FromYaml(value);
                }

                return o;
            case YamlSequenceNode seq:
                var a = new JsonArray();
                foreach (var item in seq.Children)
                {
                    a.Add(FromYaml(item));
                }

                return a;
            case YamlScalarNode scalar:
                return FromScalar(scalar);
            default:
                return null;
        }
    }

    private static JsonValue? FromScalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF":
                return JsonValue.Create(false);
        }

        if (IntegerPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return JsonValue.Create(l);
        }

        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return JsonValue.Create(d);
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    public static string Timestamp(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string MicroTimestamp(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>kubectl's short human duration ("5s", "3m2s", "4h", "2d") as metav1 tables print Age.</summary>
    public static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)Math.Floor(d.TotalSeconds);
        if (seconds < -1)
        {
            return "<invalid>";
        }

        if (seconds < 0)
        {
            return "0s";
        }

        var inv = CultureInfo.InvariantCulture;
        if (seconds < 60 * 2)
        {
            return seconds.ToString(inv) + "s";
        }

        var minutes = seconds / 60;
        if (minutes < 10)
        {
            var s = seconds % 60;
            return s == 0 ? $"{minutes}m" : $"{minutes}m{s}s";
        }

        if (minutes < 60 * 3)
        {
            return minutes.ToString(inv) + "m";
        }

        var hours = minutes / 60;
        if (hours < 8)
        {
            var m = minutes % 60;
            return m == 0 ? $"{hours}h" : $"{hours}h{m}m";
        }

        if (hours < 48)
        {
            return hours.ToString(inv) + "h";
        }

        if (hours < 24 * 8)
        {
            var h = hours % 24;
            return h == 0 ? $"{hours / 24}d" : $"{hours / 24}d{h}h";
        }

        if (hours < 24 * 365 * 2)
        {
            return (hours / 24).ToString(inv) + "d";
        }

        if (hours < 24 * 365 * 8)
        {
            var dy = hours / 24 % 365;
            return dy == 0 ? $"{hours / 24 / 365}y" : $"{hours / 24 / 365}y{dy}d";
        }

        return (hours / 24 / 365).ToString(inv) + "y";
    }
}
