using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>A field-level error as the real server reports it in Status.details.causes.</summary>
/// <param name="Reason">FieldValueRequired, FieldValueNotSupported, FieldValueInvalid, ...</param>
/// <param name="Field">e.g. spec.type</param>
/// <param name="Message">The message without the field, e.g. <c>Required value</c>.</param>
internal sealed record FieldError(string Reason, string Field, string Message)
{
    public override string ToString() => Field.Length == 0 ? Message : Field + ": " + Message;

    public static FieldError Required(string field) => new("FieldValueRequired", field, "Required value");

    public static FieldError Invalid(string field, JsonNode? value, string detail) =>
        new("FieldValueInvalid", field, "Invalid value: " + Json.GoValue(value) + (detail.Length > 0 ? ": " + detail : ""));

    public static FieldError Forbidden(string field, string detail) => new("FieldValueForbidden", field, "Forbidden: " + detail);
}

/// <summary>
/// What the real server does with a structural schema on every write of a custom object: prune unknown
/// fields (reported for fieldValidation=Strict|Warn), drop nulls, apply defaults, validate.
/// CEL rules (x-kubernetes-validations) are accepted but not evaluated, except the transition
/// rule <c>self == oldSelf</c> (an immutable value), checked on update as the real server does.
/// </summary>
internal static class SchemaProcessor
{
    /// <summary>
    /// Transition rules <c>self == oldSelf</c>: evaluated on update where the value exists both
    /// before and after (as the real server does), reported like its CEL failures.
    /// </summary>
    public static void CheckTransitions(JsonNode? next, JsonNode? old, SchemaNode schema, string path, List<FieldError> errors)
    {
        if (next is null || old is null)
        {
            return;
        }

        if (schema.ImmutableMessage is { } message && !JsonNode.DeepEquals(next, old))
        {
            errors.Add(new FieldError("FieldValueInvalid", path, "Invalid value: \"" + (next is JsonObject ? "object" : next is JsonArray ? "array" : Json.GoValue(next)) + "\": " + message));
            return;
        }

        if (next is JsonObject n && old is JsonObject o)
        {
            foreach (var (key, child) in schema.Properties)
            {
                CheckTransitions(n[key], o[key], child, path.Length == 0 ? key : path + "." + key, errors);
            }
        }
    }

    /// <summary>Removes fields the schema does not know; returns their paths (e.g. <c>spec.foo</c>).</summary>
    public static void Prune(JsonNode? node, SchemaNode schema, string path, List<string> unknown, SchemaNode? rootMetadata)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                {
                    var childPath = path.Length == 0 ? key : path + "." + key;
                    var value = o[key];
                    if (rootMetadata is not null && (key is "apiVersion" or "kind"))
                    {
                        continue;
                    }

                    SchemaNode? child = rootMetadata is not null && key == "metadata" ? rootMetadata : schema.Property(key);
                    child ??= schema.AdditionalProperties;
                    if (child is null)
                    {
                        if (!schema.PreserveUnknownFields && !schema.AdditionalPropertiesAllowed)
                        {
                            o.Remove(key);
                            unknown.Add(childPath);
                        }

                        continue;
                    }

                    if (value is null)
                    {
                        if (!child.Nullable)
                        {
                            o.Remove(key);
                        }

                        continue;
                    }

                    Prune(value, child, childPath, unknown, child.EmbeddedResource ? MetadataSchema : null);
                }

                break;
            case JsonArray a when schema.Items is not null:
                for (var i = 0; i < a.Count; i++)
                {
                    Prune(a[i], schema.Items, path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]", unknown, schema.Items.EmbeddedResource ? MetadataSchema : null);
                }

                break;
        }
    }

    /// <summary>ObjectMeta as the server knows it, used to prune the metadata of custom objects.</summary>
    public static SchemaNode MetadataSchema { get; } = ModelSchemas.For(typeof(k8s.Models.V1ObjectMeta));

    /// <summary>Applies <c>default:</c> values where a field is absent and its parent is present.</summary>
    public static void ApplyDefaults(JsonNode? node, SchemaNode schema)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in schema.Properties)
                {
                    if (!o.ContainsKey(name) && child.Default is not null)
                    {
                        o[name] = child.Default.DeepClone();
                    }

                    if (o[name] is { } value)
                    {
                        ApplyDefaults(value, child);
                    }
                }

                if (schema.AdditionalProperties is { } ap)
                {
                    foreach (var (_, value) in o.ToList())
                    {
                        ApplyDefaults(value, ap);
                    }
                }

                break;
            case JsonArray a when schema.Items is not null:
                foreach (var item in a)
                {
                    ApplyDefaults(item, schema.Items);
                }

                break;
        }
    }

    public static void Validate(JsonNode? node, SchemaNode s, string path, List<FieldError> errors)
    {
        if (node is null)
        {
            if (!s.Nullable && s.Type is not null && path.Length > 0)
            {
                errors.Add(new("FieldValueTypeInvalid", path, $"Invalid value: \"null\": {path} in body must be of type {s.Type}: \"null\""));
            }

            return;
        }

        var kind = node.Kind();
        if (s.IntOrString)
        {
            if (kind != JsonValueKind.String && !(kind == JsonValueKind.Number && node.AsLong() is not null))
            {
                errors.Add(new("FieldValueTypeInvalid", path, $"Invalid value: {Json.GoQuote(TypeName(node))}: {path} in body must be of type integer,string: {Json.GoQuote(TypeName(node))}"));
                return;
            }
        }
        else if (s.Type is not null && !TypeMatches(s.Type, node))
        {
            var actual = TypeName(node);
            errors.Add(new("FieldValueTypeInvalid", path, $"Invalid value: {Json.GoQuote(actual)}: {Label(path)} in body must be of type {s.Type}: {Json.GoQuote(actual)}"));
            return;
        }

        if (s.Enum is { Count: > 0 } values && !values.Any(v => JsonNode.DeepEquals(v, node)))
        {
            var supported = string.Join(", ", values.Select(v => Json.GoQuote(v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>() : Json.Serialize(v))));
            errors.Add(new("FieldValueNotSupported", path, $"Unsupported value: {Json.GoValue(node)}: supported values: {supported}"));
        }

        switch (kind)
        {
            case JsonValueKind.String:
                ValidateString(node.GetValue<string>(), node, s, path, errors);
                break;
            case JsonValueKind.Number:
                ValidateNumber(node, s, path, errors);
                break;
            case JsonValueKind.Array:
                ValidateArray((JsonArray)node, s, path, errors);
                break;
            case JsonValueKind.Object:
                ValidateObject((JsonObject)node, s, path, errors);
                break;
        }
    }

    private static string Label(string path) => path.Length == 0 ? "body" : path;

    private static void ValidateString(string value, JsonNode node, SchemaNode s, string path, List<FieldError> errors)
    {
        var length = value.EnumerateRunes().Count();
        if (s.MaxLength is { } max && length > max)
        {
            errors.Add(new("FieldValueTooLong", path, $"Too long: may not be more than {max} {(max == 1 ? "byte" : "bytes")}"));
        }

        if (s.MinLength is { } min && length < min)
        {
            errors.Add(FieldError.Invalid(path, node, $"{Label(path)} in body should be at least {min} chars long"));
        }

        if (s.Pattern is { } pattern && !pattern.IsMatch(value))
        {
            errors.Add(FieldError.Invalid(path, node, $"{Label(path)} in body should match '{s.PatternText}'"));
        }

        if (s.Format is { } format && !FormatMatches(format, value))
        {
            errors.Add(FieldError.Invalid(path, node, $"{Label(path)} in body must be of type {format}: {Json.GoQuote(value)}"));
        }
    }

    private static bool FormatMatches(string format, string value) => format switch
    {
        "date-time" or "datetime" => DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _) && value.Contains('T', StringComparison.OrdinalIgnoreCase),
        "date" => DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
        "uuid" => Guid.TryParse(value, out _),
        "byte" => IsBase64(value),
        _ => true,
    };

    private static bool IsBase64(string value)
    {
        var buffer = new byte[value.Length];
        return Convert.TryFromBase64String(value, buffer, out _);
    }

    private static void ValidateNumber(JsonNode node, SchemaNode s, string path, List<FieldError> errors)
    {
        if (!decimal.TryParse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return;
        }

        if (s.Minimum is { } min && (s.ExclusiveMinimum ? value <= min : value < min))
        {
            errors.Add(FieldError.Invalid(path, node, $"{Label(path)} in body should be greater than {(s.ExclusiveMinimum ? "" : "or equal to ")}{min.ToString(CultureInfo.InvariantCulture)}"));
        }

        if (s.Maximum is { } max && (s.ExclusiveMaximum ? value >= max : value > max))
        {
            errors.Add(FieldError.Invalid(path, node, $"{Label(path)} in body should be less than {(s.ExclusiveMaximum ? "" : "or equal to ")}{max.ToString(CultureInfo.InvariantCulture)}"));
        }
    }

    private static void ValidateArray(JsonArray a, SchemaNode s, string path, List<FieldError> errors)
    {
        if (s.MaxItems is { } max && a.Count > max)
        {
            errors.Add(new("FieldValueTooMany", path, $"Too many: {a.Count}: must have at most {max} items"));
        }

        if (s.MinItems is { } min && a.Count < min)
        {
            errors.Add(FieldError.Invalid(path, a, $"{Label(path)} in body should have at least {min} items"));
        }

        if (s.Items is { } items)
        {
            for (var i = 0; i < a.Count; i++)
            {
                Validate(a[i], items, $"{path}[{i}]", errors);
            }
        }

        if (s.ListType == "set")
        {
            for (var i = 0; i < a.Count; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    if (JsonNode.DeepEquals(a[i], a[j]))
                    {
                        errors.Add(new("FieldValueDuplicate", $"{path}[{i}]", "Duplicate value: " + Json.GoValue(a[i])));
                        break;
                    }
                }
            }
        }
        else if (s.ListType == "map" && s.ListMapKeys.Count > 0)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < a.Count; i++)
            {
                if (a[i] is not JsonObject item)
                {
                    continue;
                }

                var keyObject = new JsonObject();
                foreach (var k in s.ListMapKeys)
                {
                    if (item[k] is { } kv)
                    {
                        keyObject[k] = kv.DeepClone();
                    }
                }

                if (!seen.Add(Json.Serialize(keyObject)))
                {
                    errors.Add(new("FieldValueDuplicate", $"{path}[{i}]", "Duplicate value: " + Json.GoValue(keyObject)));
                }
            }
        }
    }

    private static void ValidateObject(JsonObject o, SchemaNode s, string path, List<FieldError> errors)
    {
        foreach (var name in s.Required)
        {
            if (!o.ContainsKey(name) || o[name] is null)
            {
                errors.Add(FieldError.Required(path.Length == 0 ? name : path + "." + name));
            }
        }

        if (s.MaxProperties is { } max && o.Count > max)
        {
            errors.Add(new("FieldValueTooMany", path, $"Too many: {o.Count}: must have at most {max} items"));
        }

        if (s.MinProperties is { } min && o.Count < min)
        {
            errors.Add(FieldError.Invalid(path, o, $"{Label(path)} in body should have at least {min} properties"));
        }

        foreach (var (name, value) in o)
        {
            var child = s.Property(name) ?? s.AdditionalProperties;
            if (child is null || (path.Length == 0 && name is "metadata" or "apiVersion" or "kind"))
            {
                continue;
            }

            Validate(value, child, path.Length == 0 ? name : path + "." + name, errors);
        }
    }

    private static bool TypeMatches(string type, JsonNode node) => type switch
    {
        "object" => node is JsonObject,
        "array" => node is JsonArray,
        "string" => node.Kind() == JsonValueKind.String,
        "boolean" => node.Kind() is JsonValueKind.True or JsonValueKind.False,
        "number" => node.Kind() == JsonValueKind.Number,
        "integer" => node.Kind() == JsonValueKind.Number && node.AsLong() is not null,
        _ => true,
    };

    private static string TypeName(JsonNode node) => node.Kind() switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => node.AsLong() is not null ? "integer" : "number",
        _ => "null",
    };
}
