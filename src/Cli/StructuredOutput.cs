using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Notary.Cli;

/// <summary>
/// <c>-o json</c> and <c>-o yaml</c>: one object (a view record, camelCase, nulls left out) as
/// indented JSON, or as YAML made from that same JSON (so the two never disagree). Strings are
/// written as JSON strings (valid YAML), so no value is ever read back as another type.
/// </summary>
public static class StructuredOutput
{
    public const string Json = "json";

    public const string Yaml = "yaml";

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The text of <paramref name="value"/> in <paramref name="format"/> (json or yaml).</summary>
    public static string Format<T>(T value, string format)
    {
        var json = JsonSerializer.Serialize(value, Options);
        if (format == Json)
        {
            return json + "\n";
        }

        using var document = JsonDocument.Parse(json);
        var yaml = new StringBuilder();
        WriteYaml(yaml, document.RootElement, 0, inList: false);
        return yaml.ToString();
    }

    public static Task WriteAsync<T>(TextWriter writer, T value, string format)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.WriteAsync(Format(value, format));
    }

    private static void WriteYaml(StringBuilder yaml, JsonElement element, int indent, bool inList)
    {
        var pad = new string(' ', indent);
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var first = true;
                foreach (var property in element.EnumerateObject())
                {
                    // The first key of a list item shares the "- " line.
                    yaml.Append(first && inList ? string.Empty : pad).Append(Key(property.Name)).Append(':');
                    first = false;
                    WriteValue(yaml, property.Value, indent);
                }

                if (first)
                {
                    yaml.Append(inList ? string.Empty : pad).Append("{}\n");
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    yaml.Append(pad).Append("- ");
                    if (item.ValueKind is JsonValueKind.Object && item.EnumerateObject().Any())
                    {
                        WriteYaml(yaml, item, indent + 2, inList: true);
                    }
                    else
                    {
                        yaml.Append(Scalar(item)).Append('\n');
                    }
                }

                break;
            default:
                yaml.Append(pad).Append(Scalar(element)).Append('\n');
                break;
        }
    }

    private static void WriteValue(StringBuilder yaml, JsonElement value, int indent)
    {
        if (value.ValueKind is JsonValueKind.Object && value.EnumerateObject().Any())
        {
            yaml.Append('\n');
            WriteYaml(yaml, value, indent + 2, inList: false);
        }
        else if (value.ValueKind is JsonValueKind.Array && value.GetArrayLength() > 0)
        {
            yaml.Append('\n');
            WriteYaml(yaml, value, indent, inList: false);
        }
        else
        {
            yaml.Append(' ').Append(Scalar(value)).Append('\n');
        }
    }

    private static string Key(string name) => name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/') ? name : JsonSerializer.Serialize(name, Options);

    private static string Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "{}",
        JsonValueKind.Array => "[]",
        JsonValueKind.String => value.GetRawText(),
        _ => value.GetRawText(),
    };
}
