using System.Globalization;
using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>The three patch types kubectl sends: JSON merge patch, JSON patch and strategic merge patch.</summary>
internal static class Patches
{
    /// <summary>RFC 7386: objects merge, null removes, anything else replaces.</summary>
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject t ? (JsonObject)t.DeepClone() : [];
        foreach (var (key, value) in p)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = MergePatch(result[key], value);
            }
        }

        return result;
    }

    /// <summary>RFC 6902 operations applied in order; a failing operation fails the whole patch.</summary>
    public static JsonNode? JsonPatch(JsonNode? target, JsonArray operations)
    {
        var doc = target?.DeepClone();
        foreach (var operation in operations)
        {
            if (operation is not JsonObject op)
            {
                throw new InvalidOperationException("invalid JSON patch operation");
            }

            var kind = op.Str("op") ?? throw new InvalidOperationException("missing op");
            var path = op.Str("path") ?? throw new InvalidOperationException("missing path");
            switch (kind)
            {
                case "add":
                    doc = Add(doc, path, op["value"]?.DeepClone());
                    break;
                case "remove":
                    doc = Remove(doc, path, out _);
                    break;
                case "replace":
                    doc = Remove(doc, path, out _);
                    doc = Add(doc, path, op["value"]?.DeepClone());
                    break;
                case "move":
                    var from = op.Str("from") ?? throw new InvalidOperationException("missing from");
                    doc = Remove(doc, from, out var moved);
                    doc = Add(doc, path, moved);
                    break;
                case "copy":
                    var source = op.Str("from") ?? throw new InvalidOperationException("missing from");
                    doc = Add(doc, path, Get(doc, source)?.DeepClone());
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(doc, path), op["value"]))
                    {
                        throw new InvalidOperationException($"testing value {path} failed: test failed");
                    }

                    break;
                default:
                    throw new InvalidOperationException($"Unexpected kind: {kind}");
            }
        }

        return doc;
    }

    private static List<string> Pointer(string path)
    {
        if (path.Length == 0)
        {
            return [];
        }

        if (!path.StartsWith('/'))
        {
            throw new InvalidOperationException($"invalid JSON pointer {path}");
        }

        return [.. path[1..].Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))];
    }

    private static JsonNode? Get(JsonNode? doc, string path)
    {
        var current = doc;
        foreach (var part in Pointer(path))
        {
            current = current switch
            {
                JsonObject o when o.TryGetPropertyValue(part, out var v) => v,
                JsonArray a when int.TryParse(part, CultureInfo.InvariantCulture, out var i) && i >= 0 && i < a.Count => a[i],
                _ => throw new InvalidOperationException($"jsonpatch: path {path} not found"),
            };
        }

        return current;
    }

    private static (JsonNode Parent, string Last) Parent(JsonNode? doc, string path)
    {
        var parts = Pointer(path);
        var parentPath = parts.Count <= 1 ? "" : "/" + string.Join("/", parts.Take(parts.Count - 1).Select(p => p.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)));
        var parent = Get(doc, parentPath) ?? throw new InvalidOperationException($"jsonpatch: parent of {path} is null");
        return (parent, parts[^1]);
    }

    private static JsonNode? Add(JsonNode? doc, string path, JsonNode? value)
    {
        if (path.Length == 0)
        {
            return value;
        }

        var (parent, last) = Parent(doc, path);
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a:
                if (last == "-")
                {
                    a.Add(value);
                }
                else if (int.TryParse(last, CultureInfo.InvariantCulture, out var i) && i >= 0 && i <= a.Count)
                {
                    a.Insert(i, value);
                }
                else
                {
                    throw new InvalidOperationException($"jsonpatch: index {last} out of bounds in {path}");
                }

                break;
            default:
                throw new InvalidOperationException($"jsonpatch: cannot add at {path}");
        }

        return doc;
    }

    private static JsonNode? Remove(JsonNode? doc, string path, out JsonNode? removed)
    {
        var (parent, last) = Parent(doc, path);
        switch (parent)
        {
            case JsonObject o when o.TryGetPropertyValue(last, out removed):
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, CultureInfo.InvariantCulture, out var i) && i >= 0 && i < a.Count:
                removed = a[i];
                a.RemoveAt(i);
                break;
            default:
                throw new InvalidOperationException($"jsonpatch: unable to remove nonexistent key: {last}: missing value");
        }

        return doc;
    }

    /// <summary>
    /// Strategic merge patch for built-ins: merge-patch semantics, except lists whose Go field carries a
    /// patchMergeKey (containers, env, volumes... merged by key) or a merge strategy (finalizers: union), and
    /// the directives kubectl emits ($patch, $retainKeys, $setElementOrder, $deleteFromPrimitiveList).
    /// </summary>
    public static JsonNode? StrategicMerge(JsonNode? original, JsonNode? patch, SchemaNode? schema)
    {
        if (patch is not JsonObject p)
        {
            return patch?.DeepClone();
        }

        switch (p.Str("$patch"))
        {
            case "replace":
                var replaced = (JsonObject)p.DeepClone();
                replaced.Remove("$patch");
                return replaced;
            case "delete":
                return null;
        }

        var result = original is JsonObject o ? (JsonObject)o.DeepClone() : [];
        List<string>? retain = null;
        foreach (var (key, value) in p)
        {
            if (key == "$patch" || key.StartsWith("$setElementOrder/", StringComparison.Ordinal))
            {
                continue;
            }

            if (key == "$retainKeys")
            {
                retain = [.. (value as JsonArray ?? []).Select(v => v.AsString()).OfType<string>()];
                continue;
            }

            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var field = key["$deleteFromPrimitiveList/".Length..];
                if (result[field] is JsonArray list && value is JsonArray remove)
                {
                    foreach (var item in list.Where(i => remove.Any(r => JsonNode.DeepEquals(r, i))).ToList())
                    {
                        list.Remove(item);
                    }
                }

                continue;
            }

            if (value is null)
            {
                result.Remove(key);
                continue;
            }

            var child = schema?.Property(key) ?? schema?.AdditionalProperties;
            if (value is JsonObject)
            {
                var merged = StrategicMerge(result[key], value, child);
                if (merged is null)
                {
                    result.Remove(key);
                }
                else
                {
                    result[key] = merged;
                }
            }
            else if (value is JsonArray patchList && child?.PatchStrategy?.Contains("merge", StringComparison.Ordinal) == true)
            {
                result[key] = MergeList(result[key] as JsonArray, patchList, child);
            }
            else
            {
                result[key] = value.DeepClone();
            }
        }

        if (retain is not null)
        {
            foreach (var key in result.Select(kv => kv.Key).Where(k => !retain.Contains(k)).ToList())
            {
                result.Remove(key);
            }
        }

        return result;
    }

    private static JsonArray MergeList(JsonArray? original, JsonArray patch, SchemaNode schema)
    {
        if (patch.Any(i => i is JsonObject o && o.Str("$patch") == "replace"))
        {
            return [.. patch.Where(i => !(i is JsonObject o && o.Str("$patch") == "replace")).Select(i => i?.DeepClone())];
        }

        var result = original is null ? [] : (JsonArray)original.DeepClone();
        var key = schema.PatchMergeKey;
        foreach (var item in patch)
        {
            if (key is null || item is not JsonObject patchItem)
            {
                if (!result.Any(r => JsonNode.DeepEquals(r, item)))
                {
                    result.Add(item?.DeepClone());
                }

                continue;
            }

            var keyValue = patchItem[key];
            var existing = result.OfType<JsonObject>().FirstOrDefault(r => JsonNode.DeepEquals(r[key], keyValue));
            if (patchItem.Str("$patch") == "delete")
            {
                if (existing is not null)
                {
                    result.Remove(existing);
                }

                continue;
            }

            if (existing is null)
            {
                result.Add(StrategicMerge(null, patchItem, schema.Items));
            }
            else
            {
                var index = result.IndexOf(existing);
                result[index] = StrategicMerge(existing, patchItem, schema.Items);
            }
        }

        return result;
    }
}
