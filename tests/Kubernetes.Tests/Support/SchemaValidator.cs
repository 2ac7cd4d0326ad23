using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s.Models;

namespace Notary.Adapters.Kubernetes.Tests.Support;

/// <summary>
/// Checks a JSON document against a CRD's structural schema, for the keywords the Notary CRDs use:
/// type, properties (unknown fields are errors, as with kubectl --validate=strict), required,
/// enum, pattern, maxLength, maxItems, minimum, format date-time, additionalProperties and
/// x-kubernetes-list-type set/map. CEL rules are not evaluated (that needs an API server).
/// </summary>
internal sealed partial class SchemaValidator
{
    private readonly List<string> errors = [];

    /// <summary>Dotted schema paths the document reached, as <see cref="Crds.Walk"/> names them.</summary>
    public HashSet<string> Visited { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Errors => errors;

    public static SchemaValidator Validate(V1JSONSchemaProps schema, JsonElement document)
    {
        var validator = new SchemaValidator();
        validator.Check(schema, document, path: "", schemaPath: "");
        return validator;
    }

    private void Check(V1JSONSchemaProps schema, JsonElement value, string path, string schemaPath)
    {
        if (schemaPath.Length > 0)
        {
            Visited.Add(schemaPath);
        }

        var display = path.Length == 0 ? "<root>" : path;
        if (!HasType(value, schema.Type))
        {
            errors.Add($"{display}: expected {schema.Type}, got {value.ValueKind}");
            return;
        }

        var enumValues = Crds.EnumOf(schema);
        if (enumValues.Length > 0 && !enumValues.Contains(Scalar(value), StringComparer.Ordinal))
        {
            errors.Add($"{display}: '{Scalar(value)}' is not one of [{string.Join(", ", enumValues)}]");
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                CheckString(schema, value.GetString()!, display);
                break;
            case JsonValueKind.Number:
                if (schema.Minimum is { } minimum && value.GetDouble() < minimum)
                {
                    errors.Add($"{display}: {value.GetRawText()} is less than {minimum}");
                }

                break;
            case JsonValueKind.Array:
                CheckArray(schema, value, path, schemaPath);
                break;
            case JsonValueKind.Object:
                CheckObject(schema, value, path, schemaPath);
                break;
            default:
                break;
        }
    }

    private void CheckString(V1JSONSchemaProps schema, string text, string display)
    {
        if (schema.MaxLength is { } maxLength && text.Length > maxLength)
        {
            errors.Add($"{display}: length {text.Length} exceeds maxLength {maxLength}");
        }

        if (schema.Pattern is { } pattern && !GoPattern.Compile(pattern).IsMatch(text))
        {
            errors.Add($"{display}: '{text}' does not match {pattern}");
        }

        if (schema.Format == "date-time" && !Rfc3339().IsMatch(text))
        {
            errors.Add($"{display}: '{text}' is not an RFC 3339 date-time");
        }
    }

    private void CheckArray(V1JSONSchemaProps schema, JsonElement array, string path, string schemaPath)
    {
        var length = array.GetArrayLength();
        if (schema.MaxItems is { } maxItems && length > maxItems)
        {
            errors.Add($"{path}: {length} items exceed maxItems {maxItems}");
        }

        var items = Crds.Items(schema);
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            Check(items, item, $"{path}[{index++}]", schemaPath + "[]");
        }

        var keys = schema.XKubernetesListType switch
        {
            "set" => array.EnumerateArray().Select(item => item.GetRawText()).ToList(),
            "map" => array.EnumerateArray()
                .Select(item => string.Join('|', schema.XKubernetesListMapKeys.Select(key => item.TryGetProperty(key, out var k) ? k.GetRawText() : "")))
                .ToList(),
            _ => [],
        };
        foreach (var duplicate in keys.GroupBy(key => key, StringComparer.Ordinal).Where(group => group.Count() > 1))
        {
            errors.Add($"{path}: duplicate entry {duplicate.Key} in a list of type {schema.XKubernetesListType}");
        }
    }

    private void CheckObject(V1JSONSchemaProps schema, JsonElement value, string path, string schemaPath)
    {
        var properties = schema.Properties ?? new Dictionary<string, V1JSONSchemaProps>();
        var additional = Crds.AdditionalProperties(schema);
        var openObject = properties.Count == 0 && additional is null; // metadata: the API server's own schema applies

        var count = value.EnumerateObject().Count();
        if (schema.MinProperties is { } minProperties && count < minProperties)
        {
            errors.Add($"{(path.Length == 0 ? "<root>" : path)}: {count} properties, fewer than minProperties {minProperties}");
        }

        if (schema.MaxProperties is { } maxProperties && count > maxProperties)
        {
            errors.Add($"{(path.Length == 0 ? "<root>" : path)}: {count} properties, more than maxProperties {maxProperties}");
        }

        foreach (var required in schema.Required ?? [])
        {
            if (!value.TryGetProperty(required, out _))
            {
                errors.Add($"{Join(path, required)}: required");
            }
        }

        foreach (var property in value.EnumerateObject())
        {
            var propertyPath = Join(path, property.Name);
            if (properties.TryGetValue(property.Name, out var propertySchema))
            {
                Check(propertySchema, property.Value, propertyPath, Join(schemaPath, property.Name));
            }
            else if (additional is not null)
            {
                Check(additional, property.Value, propertyPath, schemaPath + "{}");
            }
            else if (!openObject)
            {
                errors.Add($"{propertyPath}: unknown field");
            }
        }
    }

    private static bool HasType(JsonElement value, string? type) => type switch
    {
        null => true,
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "number" => value.ValueKind == JsonValueKind.Number,
        _ => throw new NotSupportedException($"schema type {type}"),
    };

    private static string Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetInt64().ToString(CultureInfo.InvariantCulture),
        _ => value.GetRawText(),
    };

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();
}
