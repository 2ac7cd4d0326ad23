using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>
/// OpenAPI v3 documents per group version (/openapi/v3 and /openapi/v3/apis/G/V): paths carry
/// x-kubernetes-group-version-kind and the fieldValidation parameter, so kubectl apply --validate=strict leaves
/// validation to the server; components carry the CRD schemas and the built-in types (for kubectl explain).
/// </summary>
internal sealed class OpenApi(ResourceRegistry registry)
{
    private const string ObjectMetaRef = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
    private readonly Lock _gate = new();
    private IReadOnlyList<ResourceType>? _snapshot;
    private Dictionary<string, (string Json, string Hash)> _docs = new(StringComparer.Ordinal);

    private static readonly string[] CustomPatchTypes = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"];
    private static readonly string[] BuiltinPatchTypes = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"];

    public JsonObject Index()
    {
        var paths = new JsonObject();
        foreach (var (key, (_, hash)) in Documents())
        {
            paths[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash={hash}" };
        }

        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>The document for "api/v1" or "apis/G/V", or null.</summary>
    public string? Document(string key) => Documents().TryGetValue(key, out var doc) ? doc.Json : null;

    private Dictionary<string, (string Json, string Hash)> Documents()
    {
        lock (_gate)
        {
            var all = registry.All;
            if (ReferenceEquals(all, _snapshot))
            {
                return _docs;
            }

            var docs = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
            foreach (var gv in all.GroupBy(t => (t.Group, t.Version)))
            {
                var key = gv.Key.Group.Length == 0 ? "api/" + gv.Key.Version : $"apis/{gv.Key.Group}/{gv.Key.Version}";
                var json = Json.Serialize(Build(gv.ToList()));
                var hash = Convert.ToHexString(SHA512.HashData(System.Text.Encoding.UTF8.GetBytes(json)));
                docs[key] = (json, hash);
            }

            _snapshot = all;
            _docs = docs;
            return docs;
        }
    }

    private static JsonObject Build(List<ResourceType> types)
    {
        var schemas = new JsonObject
        {
            ["io.k8s.apimachinery.pkg.apis.meta.v1.Patch"] = new JsonObject { ["type"] = "object", ["description"] = "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body." },
            ["io.k8s.apimachinery.pkg.apis.meta.v1.Status"] = new JsonObject { ["type"] = "object", ["description"] = "Status is a return value for calls that don't return other objects." },
            ["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"] = new JsonObject { ["type"] = "object", ["description"] = "DeleteOptions may be provided when deleting an API object." },
        };
        var paths = new JsonObject();
        foreach (var t in types)
        {
            var component = t.IsCustom ? $"{ReverseGroup(t.Group)}.{t.Version}.{t.Kind}" : t.Schema?.ComponentName ?? $"io.k8s.devcluster.{t.Version}.{t.Kind}";
            var schema = t.IsCustom ? CustomSchema(t, schemas) : BuiltinSchema(t.Schema, schemas, root: true);
            schema["x-kubernetes-group-version-kind"] = new JsonArray(Gvk(t));
            schemas[component] = schema;
            AddPaths(paths, t, component);
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.0" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }

    private static string ReverseGroup(string group) => string.Join(".", group.Split('.').Reverse());

    private static JsonObject Gvk(ResourceType t) => new() { ["group"] = t.Group, ["kind"] = t.Kind, ["version"] = t.Version };

    private static JsonObject CustomSchema(ResourceType t, JsonObject schemas)
    {
        var raw = t.Schema?.Raw is { } r ? (JsonObject)r.DeepClone() : new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true };
        if (!schemas.ContainsKey(ObjectMetaRef))
        {
            schemas[ObjectMetaRef] = new JsonObject(); // placeholder against recursion
            schemas[ObjectMetaRef] = BuiltinSchema(SchemaProcessor.MetadataSchema, schemas, root: true);
        }

        raw.Obj("properties")["metadata"] = new JsonObject { ["$ref"] = "#/components/schemas/" + ObjectMetaRef };
        return raw;
    }

    private static JsonObject BuiltinSchema(SchemaNode? node, JsonObject schemas, bool root = false)
    {
        if (node is null)
        {
            return new JsonObject { ["x-kubernetes-preserve-unknown-fields"] = true };
        }

        if (!root && node.ComponentName is { } name)
        {
            var refName = name == "io.k8s.devcluster.V1ObjectMeta" ? ObjectMetaRef : name;
            if (!schemas.ContainsKey(refName))
            {
                schemas[refName] = new JsonObject();
                schemas[refName] = BuiltinSchema(node, schemas, root: true);
            }

            var reference = new JsonObject { ["$ref"] = "#/components/schemas/" + refName };
            AddPatchHints(reference, node);
            return reference;
        }

        var o = new JsonObject();
        if (node.Description is { } description)
        {
            o["description"] = description;
        }

        if (node.IntOrString)
        {
            o["x-kubernetes-int-or-string"] = true;
            return o;
        }

        if (node.Type is { } type)
        {
            o["type"] = type;
        }
        else if (node.PreserveUnknownFields)
        {
            o["x-kubernetes-preserve-unknown-fields"] = true;
        }

        if (node.Format is { } format)
        {
            o["format"] = format;
        }

        if (node.Properties.Count > 0)
        {
            var props = new JsonObject();
            foreach (var (key, child) in node.Properties)
            {
                props[key] = BuiltinSchema(child, schemas);
            }

            o["properties"] = props;
        }

        if (node.AdditionalProperties is { } ap)
        {
            o["additionalProperties"] = BuiltinSchema(ap, schemas);
        }

        if (node.Items is { } items)
        {
            o["items"] = BuiltinSchema(items, schemas);
        }

        AddPatchHints(o, node);
        return o;
    }

    private static void AddPatchHints(JsonObject o, SchemaNode node)
    {
        if (node.PatchMergeKey is { } key)
        {
            o["x-kubernetes-patch-merge-key"] = key;
        }

        if (node.PatchStrategy is { } strategy)
        {
            o["x-kubernetes-patch-strategy"] = strategy;
        }
    }

    private static void AddPaths(JsonObject paths, ResourceType t, string component)
    {
        var prefix = t.Group.Length == 0 ? "/api/" + t.Version : $"/apis/{t.Group}/{t.Version}";
        var collection = t.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{t.Plural}" : $"{prefix}/{t.Plural}";
        var item = collection + "/{name}";
        var reference = new JsonObject { ["$ref"] = "#/components/schemas/" + component };
        var patchTypes = t.SupportsStrategicMerge ? BuiltinPatchTypes : CustomPatchTypes;
        if (t.IsVirtual)
        {
            paths[collection] = new JsonObject { ["post"] = Operation("create", t, "post", reference, ["application/json"], true) };
            return;
        }

        paths[collection] = new JsonObject
        {
            ["get"] = Operation("list", t, "list", reference, null, false),
            ["post"] = Operation("create", t, "post", reference, ["application/json", "application/yaml"], true),
            ["delete"] = Operation("deletecollection", t, "deletecollection", reference, null, false),
        };
        paths[item] = new JsonObject
        {
            ["get"] = Operation("read", t, "get", reference, null, false),
            ["put"] = Operation("replace", t, "put", reference, ["application/json", "application/yaml"], true),
            ["patch"] = Operation("patch", t, "patch", reference, patchTypes, true),
            ["delete"] = Operation("delete", t, "delete", reference, null, false),
        };
        if (t.HasStatusSubresource)
        {
            paths[item + "/status"] = new JsonObject
            {
                ["get"] = Operation("read", t, "get", reference, null, false, "Status"),
                ["put"] = Operation("replace", t, "put", reference, ["application/json", "application/yaml"], true, "Status"),
                ["patch"] = Operation("patch", t, "patch", reference, patchTypes, true, "Status"),
            };
        }

        if (t.Namespaced)
        {
            paths[$"{prefix}/{t.Plural}"] = new JsonObject { ["get"] = Operation("list", t, "list", reference, null, false, "ForAllNamespaces") };
        }
    }

    private static JsonObject Operation(string verb, ResourceType t, string action, JsonObject reference, string[]? bodyTypes, bool writes, string suffix = "")
    {
        var parameters = new JsonArray();
        if (writes)
        {
            foreach (var name in new[] { "dryRun", "fieldManager", "fieldValidation" })
            {
                parameters.Add(new JsonObject { ["name"] = name, ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string", ["uniqueItems"] = true } });
            }
        }

        var op = new JsonObject
        {
            ["tags"] = new JsonArray(t.Group.Length == 0 ? "core_" + t.Version : t.Group + "_" + t.Version),
            ["operationId"] = $"{verb}{(t.Namespaced ? "Namespaced" : "")}{t.Kind}{suffix}",
            ["parameters"] = parameters,
        };
        if (bodyTypes is not null)
        {
            var content = new JsonObject();
            foreach (var type in bodyTypes)
            {
                content[type] = new JsonObject
                {
                    ["schema"] = type.Contains("patch", StringComparison.Ordinal)
                        ? new JsonObject { ["$ref"] = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch" }
                        : reference.DeepClone(),
                };
            }

            op["requestBody"] = new JsonObject { ["content"] = content, ["required"] = true };
        }

        op["responses"] = new JsonObject
        {
            ["200"] = new JsonObject
            {
                ["description"] = "OK",
                ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = reference.DeepClone() } },
            },
        };
        op["x-kubernetes-action"] = action;
        op["x-kubernetes-group-version-kind"] = Gvk(t);
        return op;
    }
}
