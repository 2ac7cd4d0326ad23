using System.Globalization;
using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>
/// The kinds the server serves: the built-ins Notary and its users touch, plus one entry per served version
/// of every CustomResourceDefinition stored. Readers get an immutable snapshot.
/// </summary>
internal sealed class ResourceRegistry
{
    private volatile IReadOnlyList<ResourceType> _all;
    private readonly IReadOnlyList<ResourceType> _builtins;

    public ResourceRegistry()
    {
        _builtins = Builtins.Create();
        _all = _builtins;
    }

    public IReadOnlyList<ResourceType> All => _all;

    public ResourceType? Find(string group, string version, string plural) =>
        _all.FirstOrDefault(t => t.Plural == plural && t.Version == version && t.Group == group);

    public bool HasGroupVersion(string group, string version) => _all.Any(t => t.Group == group && t.Version == version);

    public ResourceType? FindByKind(string apiVersion, string kind) =>
        _all.FirstOrDefault(t => t.ApiVersion == apiVersion && t.Kind == kind);

    /// <summary>Group names with their versions, built-ins first, in the order discovery lists them.</summary>
    public List<(string Group, List<string> Versions)> Groups()
    {
        var result = new List<(string, List<string>)>();
        foreach (var t in _all)
        {
            var entry = result.FirstOrDefault(r => r.Item1 == t.Group);
            if (entry.Item2 is null)
            {
                entry = (t.Group, new List<string>());
                result.Add(entry);
            }

            if (!entry.Item2.Contains(t.Version))
            {
                entry.Item2.Add(t.Version);
            }
        }

        return result;
    }

    /// <summary>Serves (or re-serves) the versions of a stored CRD.</summary>
    public void Register(JsonObject crd)
    {
        var name = crd["metadata"].Str("name");
        var types = FromCrd(crd);
        _all = [.. _all.Where(t => !(t.IsCustom && t.StorageKey == name)), .. types];
    }

    public void Unregister(string crdName) =>
        _all = [.. _all.Where(t => !(t.IsCustom && t.StorageKey == crdName))];

    public static List<ResourceType> FromCrd(JsonObject crd)
    {
        var spec = crd.Obj("spec");
        var names = spec.Obj("names");
        var group = spec.Str("group") ?? "";
        var result = new List<ResourceType>();
        foreach (var version in (spec["versions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (version["served"].AsBool() == false)
            {
                continue;
            }

            var schemaJson = version["schema"]?["openAPIV3Schema"] as JsonObject;
            var subresources = new List<string>();
            if (version["subresources"]?["status"] is not null)
            {
                subresources.Add("status");
            }

            if (version["subresources"]?["scale"] is not null)
            {
                subresources.Add("scale");
            }

            var columns = new List<PrinterColumn>
            {
                Builtins.NameColumn("Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
            };
            var declared = (version["additionalPrinterColumns"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            if (declared.Count == 0)
            {
                columns.Add(ColumnFor("Age", "date", "", "", 0, ".metadata.creationTimestamp"));
            }

            foreach (var c in declared)
            {
                columns.Add(ColumnFor(c.Str("name") ?? "", c.Str("type") ?? "string", c.Str("format") ?? "", c.Str("description") ?? "",
                    (int)(c["priority"].AsLong() ?? 0), c.Str("jsonPath") ?? ""));
            }

            result.Add(new ResourceType
            {
                Group = group,
                Version = version.Str("name") ?? "",
                Kind = names.Str("kind") ?? "",
                ListKindOverride = names.Str("listKind"),
                Plural = names.Str("plural") ?? "",
                Singular = names.Str("singular") ?? (names.Str("kind") ?? "").ToLowerInvariant(),
                Namespaced = spec.Str("scope") != "Cluster",
                ShortNames = [.. (names["shortNames"] as JsonArray ?? []).Select(s => s.AsString()).OfType<string>()],
                Categories = [.. (names["categories"] as JsonArray ?? []).Select(s => s.AsString()).OfType<string>()],
                Subresources = subresources,
                HasGeneration = true,
                IsCustom = true,
                Schema = schemaJson is null ? SchemaNode.Anything() : SchemaNode.Parse(schemaJson),
                ValidateSchema = schemaJson is not null,
                Columns = columns,
            });
        }

        return result;
    }

    private static PrinterColumn ColumnFor(string name, string type, string format, string description, int priority, string jsonPath)
    {
        JsonPath? path;
        try
        {
            path = JsonPath.Parse(jsonPath);
        }
        catch (FormatException)
        {
            path = null;
        }

        return new PrinterColumn(name, type, format, description, priority, (obj, now) =>
        {
            var results = path?.Evaluate(obj) ?? [];
            if (results.Count == 0 || results[0] is null)
            {
                return null;
            }

            var value = results[0]!;
            switch (type)
            {
                case "string":
                    return JsonValue.Create(JsonPath.Print(value));
                case "integer":
                    return value.AsLong() is { } l ? JsonValue.Create(l) : null;
                case "number":
                    return value.Kind() == System.Text.Json.JsonValueKind.Number ? value.DeepClone() : null;
                case "boolean":
                    return value.AsBool() is { } b ? JsonValue.Create(b) : null;
                case "date":
                    if (value.AsString() is not { } text)
                    {
                        return null;
                    }

                    return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                        ? JsonValue.Create(Json.HumanDuration(now - t))
                        : JsonValue.Create("<invalid>");
                default:
                    return null;
            }
        });
    }
}
