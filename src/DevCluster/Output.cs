using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>
/// Response bodies in the form the client negotiated (<see cref="MediaTypes"/>): the object or list itself,
/// a meta.k8s.io Table (kubectl get, with printer columns), or PartialObjectMetadata(List).
/// </summary>
internal static class Output
{
    public static JsonObject Single(ResourceType rt, JsonObject obj, string accept, DateTimeOffset now, string? includeObject)
    {
        var target = MediaTypes.Negotiate(accept);
        return target.As switch
        {
            Representation.Table => Table(rt, [obj], now, null, null, true, includeObject, target.MetaApiVersion),
            Representation.PartialObjectMetadata => Partial(obj, target.MetaApiVersion),
            Representation.PartialObjectMetadataList => throw MediaTypes.NotAcceptable(
                $"you requested PartialObjectMetadataList, but the requested object is not a list ({GoType(rt, list: false)})"),
            _ => obj,
        };
    }

    public static JsonObject List(ResourceType rt, IReadOnlyList<JsonObject> items, string rv, string? next, long? remaining, string accept, DateTimeOffset now, string? includeObject)
    {
        var target = MediaTypes.Negotiate(accept);
        switch (target.As)
        {
            case Representation.Table:
                return Table(rt, items, now, rv, next, true, includeObject, target.MetaApiVersion);
            case Representation.PartialObjectMetadata:
                throw MediaTypes.NotAcceptable($"you requested PartialObjectMetadata, but the requested object is a list ({GoType(rt, list: true)})");
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

        var partial = target.As == Representation.PartialObjectMetadataList;
        var array = new JsonArray();
        foreach (var item in items)
        {
            if (partial)
            {
                // The real server sets kind and apiVersion on each item of a PartialObjectMetadataList.
                array.Add(Partial(item, target.MetaApiVersion));
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
            ["apiVersion"] = partial ? target.MetaApiVersion : rt.ApiVersion,
            ["metadata"] = meta,
            ["items"] = array,
        };
    }

    /// <summary>The object's metadata alone (no spec, data, status): what a metadata-only client receives.</summary>
    public static JsonObject Partial(JsonObject obj, string apiVersion = "meta.k8s.io/v1") => new()
    {
        ["kind"] = "PartialObjectMetadata",
        ["apiVersion"] = apiVersion,
        ["metadata"] = obj["metadata"]?.DeepClone(),
    };

    /// <summary>How the real server names the Go type in its 406 messages.</summary>
    private static string GoType(ResourceType rt, bool list) =>
        rt.IsCustom ? (list ? "*unstructured.UnstructuredList" : "*unstructured.Unstructured") : "*" + (list ? rt.ListKind : rt.Kind);

    public static JsonObject Table(ResourceType rt, IReadOnlyList<JsonObject> items, DateTimeOffset now, string? rv, string? next, bool headers, string? includeObject,
        string apiVersion = "meta.k8s.io/v1")
    {
        var table = new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = apiVersion,
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
                    row["object"] = Partial(item, apiVersion);
                    break;
            }

            rows.Add(row);
        }

        table["rows"] = rows;
        return table;
    }
}
