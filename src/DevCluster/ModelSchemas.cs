using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Serialization;

namespace Notary.DevCluster;

/// <summary>
/// Structural schemas of the built-in kinds, derived from KubernetesClient's generated models (which mirror the
/// Go types): the fields a real server knows, used to prune and report unknown fields and to publish OpenAPI.
/// </summary>
internal static class ModelSchemas
{
    private static readonly ConcurrentDictionary<Type, SchemaNode> Cache = new();
    private static readonly Lock Gate = new();

    // Strategic-merge-patch hints of the Go types (patchMergeKey / patchStrategy tags) for the fields kubectl edits.
    private static readonly Dictionary<string, (string? Key, string Strategy)> PatchHints = new(StringComparer.Ordinal)
    {
        ["V1PodSpec.containers"] = ("name", "merge"),
        ["V1PodSpec.initContainers"] = ("name", "merge"),
        ["V1PodSpec.ephemeralContainers"] = ("name", "merge"),
        ["V1PodSpec.volumes"] = ("name", "merge,retainKeys"),
        ["V1PodSpec.imagePullSecrets"] = ("name", "merge"),
        ["V1PodSpec.hostAliases"] = ("ip", "merge"),
        ["V1PodSpec.topologySpreadConstraints"] = ("topologyKey", "merge"),
        ["V1Container.env"] = ("name", "merge"),
        ["V1Container.ports"] = ("containerPort", "merge"),
        ["V1Container.volumeMounts"] = ("mountPath", "merge"),
        ["V1Container.volumeDevices"] = ("devicePath", "merge"),
        ["V1ObjectMeta.finalizers"] = (null, "merge"),
        ["V1ObjectMeta.ownerReferences"] = ("uid", "merge"),
        ["V1DeploymentStatus.conditions"] = ("type", "merge"),
        ["V1StatefulSetStatus.conditions"] = ("type", "merge"),
        ["V1DaemonSetStatus.conditions"] = ("type", "merge"),
        ["V1NamespaceStatus.conditions"] = ("type", "merge"),
        ["V1DeploymentSpec.strategy"] = (null, "retainKeys"),
    };

    public static SchemaNode For(Type type)
    {
        if (Cache.TryGetValue(type, out var cached))
        {
            return cached;
        }

        lock (Gate)
        {
            var building = new Dictionary<Type, SchemaNode>();
            var node = Build(type, building);
            foreach (var (t, n) in building)
            {
                Cache.TryAdd(t, n);
            }

            return node;
        }
    }

    private static SchemaNode Build(Type type, Dictionary<Type, SchemaNode> building)
    {
        if (Cache.TryGetValue(type, out var cached) || building.TryGetValue(type, out cached))
        {
            return cached;
        }

        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return new SchemaNode { Type = "string" };
        }

        if (type == typeof(bool))
        {
            return new SchemaNode { Type = "boolean" };
        }

        if (type == typeof(int) || type == typeof(short) || type == typeof(byte))
        {
            return new SchemaNode { Type = "integer", Format = "int32" };
        }

        if (type == typeof(long))
        {
            return new SchemaNode { Type = "integer", Format = "int64" };
        }

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return new SchemaNode { Type = "number", Format = "double" };
        }

        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return new SchemaNode { Type = "string", Format = "date-time" };
        }

        if (type == typeof(byte[]))
        {
            return new SchemaNode { Type = "string", Format = "byte" };
        }

        if (type == typeof(k8s.Models.IntOrString) || type == typeof(k8s.Models.ResourceQuantity))
        {
            return new SchemaNode { IntOrString = true };
        }

        if (type == typeof(object) || type.Name.StartsWith("JsonElement", StringComparison.Ordinal))
        {
            return SchemaNode.Anything();
        }

        if (type.IsGenericType)
        {
            var args = type.GetGenericArguments();
            var definition = type.GetGenericTypeDefinition();
            if (args.Length == 2 && (definition == typeof(IDictionary<,>) || definition == typeof(Dictionary<,>) || definition == typeof(IReadOnlyDictionary<,>)))
            {
                return new SchemaNode { Type = "object", AdditionalProperties = Build(args[1], building) };
            }

            if (args.Length == 1 && typeof(System.Collections.IEnumerable).IsAssignableFrom(type))
            {
                return new SchemaNode { Type = "array", Items = Build(args[0], building) };
            }
        }

        if (!type.IsClass || type.Namespace != "k8s.Models")
        {
            return SchemaNode.Anything();
        }

        var node = new SchemaNode { Type = "object", ComponentName = ComponentName(type) };
        building[type] = node;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name;
            if (name is null)
            {
                continue;
            }

            var child = Build(property.PropertyType, building);
            if (PatchHints.TryGetValue(type.Name + "." + name, out var hint))
            {
                // Copy so the hint stays on this field only (hinted fields are lists, or objects built already).
                var original = child;
                child = new SchemaNode
                {
                    Type = original.Type,
                    Items = original.Items,
                    Format = original.Format,
                    AdditionalProperties = original.AdditionalProperties,
                    PatchMergeKey = hint.Key,
                    PatchStrategy = hint.Strategy,
                    ComponentName = original.ComponentName,
                };
                child.Properties.AddRange(original.Properties);
            }

            node.Properties.Add(new(name, child));
        }

        return node;
    }

    private static string ComponentName(Type type)
    {
        var entity = type.GetCustomAttribute<k8s.Models.KubernetesEntityAttribute>();
        if (entity is not null)
        {
            var group = entity.Group.Length == 0 ? "core" : entity.Group.Split('.')[0];
            return $"io.k8s.api.{group}.{entity.ApiVersion}.{entity.Kind}";
        }

        return "io.k8s.devcluster." + type.Name;
    }
}
