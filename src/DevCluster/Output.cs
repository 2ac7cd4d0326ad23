using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>
/// Response bodies in the form the client negotiated: the object or list itself, a meta.k8s.io Table
/// (kubectl get, with printer columns), or PartialObjectMetadata.
/// </summary>
internal static class Output
{
    public static bool WantsTable(string accept) => accept.Contains("as=Table", StringComparison.Ordinal);

    private static bool WantsPartial(string accept) => accept.Contains("as=PartialObjectMetadata", StringComparison.Ordinal);

    public static JsonObject Single(ResourceType rt, JsonObject obj, string accept, DateTimeOffset now, string? includeObject)
    {
        if (WantsTable(accept))
        {
            return Table(rt, [obj], now, null, null, true, includeObject);
        }

        return WantsPartial(accept) ? Partial(obj) : obj;
    }

    public static JsonObject List(ResourceType rt, IReadOnlyList<JsonObject> items, string rv, string? next, long? remaining, string accept, DateTimeOffset now, string? includeObject)
    {
        if (WantsTable(accept))
        {
            return Table(rt, items, now, rv, next, true, includeObject);
        }

        var meta = new JsonObject { ["resourceVersion"] = rv };
        if (next is not null)
        {
            meta["continue"] = next;
        }

        if (remaining is not null)
        {
            meta["remainingItemCount"] = remaining;
        }

        var partial = WantsPartial(accept);
        var array = new JsonArray();
        foreach (var item in items)
        {
            if (partial)
            {
                array.Add(Partial(item));
                continue;
            }

            var copy = (JsonObject)item.DeepClone();
            if (!rt.IsCustom)
            {
                // Typed lists of a real server leave kind and apiVersion off their items.
                copy.Remove("apiVersion");
                copy.Remove("kind");
            }

            array.Add(copy);
        }

        return new JsonObject
        {
            ["kind"] = partial ? "PartialObjectMetadataList" : rt.ListKind,
            ["apiVersion"] = partial ? "meta.k8s.io/v1" : rt.ApiVersion,
            ["metadata"] = meta,
            ["items"] = array,
        };
    }

    public static JsonObject Partial(JsonObject obj) => new()
    {
        ["kind"] = "PartialObjectMetadata",
        ["apiVersion"] = "meta.k8s.io/v1",
        ["metadata"] = obj["metadata"]?.DeepClone(),
    };

    public static JsonObject Table(ResourceType rt, IReadOnlyList<JsonObject> items, DateTimeOffset now, string? rv, string? next, bool headers, string? includeObject)
    {
        var table = new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
        };
        var meta = new JsonObject();
        if (rv is not null)
        {
            meta["resourceVersion"] = rv;
        }

        if (next is not null)
        {
            meta["continue"] = next;
        }

        table["metadata"] = meta;
        if (headers)
        {
            var columns = new JsonArray();
            foreach (var c in rt.Columns)
            {
                columns.Add(new JsonObject
                {
                    ["name"] = c.Name,
                    ["type"] = c.Type,
                    ["format"] = c.Format,
                    ["description"] = c.Description,
                    ["priority"] = c.Priority,
                });
            }

            table["columnDefinitions"] = columns;
        }
        else
        {
            table["columnDefinitions"] = null;
        }

        var rows = new JsonArray();
        foreach (var item in items)
        {
            var cells = new JsonArray();
            foreach (var c in rt.Columns)
            {
                cells.Add(c.Cell(item, now));
            }

            var row = new JsonObject { ["cells"] = cells };
            switch (includeObject ?? "Metadata")
            {
                case "Object":
                    row["object"] = item.DeepClone();
                    break;
                case "None":
                    break;
                default:
                    row["object"] = Partial(item);
                    break;
            }

            rows.Add(row);
        }

        table["rows"] = rows;
        return table;
    }
}
