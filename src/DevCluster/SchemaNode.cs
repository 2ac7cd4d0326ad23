using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Notary.DevCluster;

/// <summary>
/// One node of a structural schema (a CRD's openAPIV3Schema, or one derived from a built-in type), in the form
/// the server prunes, defaults and validates with.
/// </summary>
internal sealed class SchemaNode
{
    public string? Type { get; set; }

    public string? Format { get; set; }

    public string? Description { get; set; }

    public bool Nullable { get; set; }

    public bool PreserveUnknownFields { get; set; }

    public bool IntOrString { get; set; }

    public bool EmbeddedResource { get; set; }

    /// <summary>Properties in declaration order.</summary>
    public List<KeyValuePair<string, SchemaNode>> Properties { get; } = [];

    public List<string> Required { get; } = [];

    public SchemaNode? Items { get; set; }

    /// <summary>Schema of map values (additionalProperties: {schema}).</summary>
    public SchemaNode? AdditionalProperties { get; set; }

    /// <summary>additionalProperties: true.</summary>
    public bool AdditionalPropertiesAllowed { get; set; }

    public JsonNode? Default { get; set; }

    public List<JsonNode?>? Enum { get; set; }

    public string? PatternText { get; set; }

    public Regex? Pattern { get; set; }

    public long? MinLength { get; set; }

    public long? MaxLength { get; set; }

    public long? MinItems { get; set; }

    public long? MaxItems { get; set; }

    public long? MinProperties { get; set; }

    public long? MaxProperties { get; set; }

    public decimal? Minimum { get; set; }

    public decimal? Maximum { get; set; }

    public bool ExclusiveMinimum { get; set; }

    public bool ExclusiveMaximum { get; set; }

    public string? ListType { get; set; }

    public List<string> ListMapKeys { get; } = [];

    public string? MapType { get; set; }

    /// <summary>Strategic-merge-patch hints, for built-ins (x-kubernetes-patch-merge-key / -strategy).</summary>
    public string? PatchMergeKey { get; set; }

    public string? PatchStrategy { get; set; }

    /// <summary>For built-in types: the component name this node is published under in OpenAPI.</summary>
    public string? ComponentName { get; set; }

    /// <summary>Raw schema as written in the CRD, published as is in OpenAPI.</summary>
    public JsonObject? Raw { get; set; }

    private Dictionary<string, SchemaNode>? _index;

    public SchemaNode? Property(string name)
    {
        if (_index is null || _index.Count != Properties.Count)
        {
            _index = new Dictionary<string, SchemaNode>(StringComparer.Ordinal);
            foreach (var (k, v) in Properties)
            {
                _index[k] = v;
            }
        }

        return _index.GetValueOrDefault(name);
    }

    /// <summary>The message of an <c>x-kubernetes-validations</c> rule <c>self == oldSelf</c> on this node (an immutable value), if any.</summary>
    public string? ImmutableMessage { get; set; }

    public static SchemaNode Parse(JsonObject o)
    {
        var s = new SchemaNode
        {
            Raw = o,
            Type = o.Str("type"),
            Format = o.Str("format"),
            Description = o.Str("description"),
            Nullable = o["nullable"].AsBool() ?? false,
            PreserveUnknownFields = o["x-kubernetes-preserve-unknown-fields"].AsBool() ?? false,
            IntOrString = o["x-kubernetes-int-or-string"].AsBool() ?? false,
            EmbeddedResource = o["x-kubernetes-embedded-resource"].AsBool() ?? false,
            Default = o["default"]?.DeepClone(),
            MinLength = o["minLength"].AsLong(),
            MaxLength = o["maxLength"].AsLong(),
            MinItems = o["minItems"].AsLong(),
            MaxItems = o["maxItems"].AsLong(),
            MinProperties = o["minProperties"].AsLong(),
            MaxProperties = o["maxProperties"].AsLong(),
            Minimum = AsDecimal(o["minimum"]),
            Maximum = AsDecimal(o["maximum"]),
            ExclusiveMinimum = o["exclusiveMinimum"].AsBool() ?? false,
            ExclusiveMaximum = o["exclusiveMaximum"].AsBool() ?? false,
            ListType = o.Str("x-kubernetes-list-type"),
            MapType = o.Str("x-kubernetes-map-type"),
        };
        if (o["x-kubernetes-validations"] is JsonArray rules
            && rules.OfType<JsonObject>().FirstOrDefault(r => r.Str("rule") is { } rule && string.Concat(rule.Where(c => !char.IsWhiteSpace(c))) == "self==oldSelf") is { } immutable)
        {
            // The one transition rule evaluated (the rest of CEL is accepted, not evaluated).
            s.ImmutableMessage = immutable.Str("message") ?? "failed rule: self == oldSelf";
        }

        if (o.Str("pattern") is { } pattern)
        {
            s.PatternText = pattern;
            s.Pattern = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }

        if (o["enum"] is JsonArray values)
        {
            s.Enum = [.. values.Select(v => v?.DeepClone())];
        }

        if (o["required"] is JsonArray required)
        {
            s.Required.AddRange(required.Select(r => r.AsString()).OfType<string>());
        }

        if (o["x-kubernetes-list-map-keys"] is JsonArray keys)
        {
            s.ListMapKeys.AddRange(keys.Select(r => r.AsString()).OfType<string>());
        }

        if (o["properties"] is JsonObject props)
        {
            foreach (var (name, value) in props)
            {
                if (value is JsonObject child)
                {
                    s.Properties.Add(new(name, Parse(child)));
                }
            }
        }

        if (o["items"] is JsonObject items)
        {
            s.Items = Parse(items);
        }

        switch (o["additionalProperties"])
        {
            case JsonObject ap:
                s.AdditionalProperties = Parse(ap);
                break;
            case JsonValue v when v.AsBool() == true:
                s.AdditionalPropertiesAllowed = true;
                break;
        }

        return s;
    }

    private static decimal? AsDecimal(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number &&
        decimal.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d
            : null;

    /// <summary>A schema that accepts anything and keeps every field.</summary>
    public static SchemaNode Anything() => new() { PreserveUnknownFields = true };
}
