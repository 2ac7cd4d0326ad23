using System.Text.Json;
using k8s;
using k8s.Models;

namespace Notary.Adapters.Kubernetes.Tests.Support;

/// <summary>The chart's CRD manifests, as copied next to the test assembly, and ways into their schemas.</summary>
internal static class Crds
{
    public static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "crds");

    public static string PathOf(string plural) => Path.Combine(Directory, plural + ".yaml");

    public static V1CustomResourceDefinition Load(string plural) =>
        KubernetesYaml.Deserialize<V1CustomResourceDefinition>(File.ReadAllText(PathOf(plural)));

    public static V1CustomResourceDefinitionVersion Version(V1CustomResourceDefinition crd) => Assert.Single(crd.Spec.Versions);

    public static V1JSONSchemaProps Root(V1CustomResourceDefinition crd) => Version(crd).Schema.OpenAPIV3Schema;

    /// <summary>Follows a path of property names from the root schema.</summary>
    public static V1JSONSchemaProps At(V1CustomResourceDefinition crd, params string[] path)
    {
        var schema = Root(crd);
        foreach (var name in path)
        {
            Assert.True(schema.Properties?.ContainsKey(name) == true, $"{crd.Metadata.Name}: no property '{name}' on the way to {string.Join('.', path)}");
            schema = schema.Properties[name];
        }

        return schema;
    }

    /// <summary>
    /// The schema of an array's items. KubernetesYaml leaves items and additionalProperties (typed
    /// as object, since JSON Schema allows a schema or a boolean there) as raw dictionaries.
    /// </summary>
    public static V1JSONSchemaProps Items(V1JSONSchemaProps array) =>
        AsSchema(array.Items) ?? throw new InvalidOperationException("array schema without items");

    public static V1JSONSchemaProps? AdditionalProperties(V1JSONSchemaProps map) => AsSchema(map.AdditionalProperties);

    private static V1JSONSchemaProps? AsSchema(object? value) => value switch
    {
        null => null,
        bool => null,
        JsonElement { ValueKind: JsonValueKind.True or JsonValueKind.False } => null,
        V1JSONSchemaProps schema => schema,
        _ => KubernetesJson.Deserialize<V1JSONSchemaProps>(KubernetesJson.Serialize(value)),
    };

    /// <summary>Enum values as strings, whether YAML gave them as strings or numbers.</summary>
    public static string[] EnumOf(V1JSONSchemaProps schema) =>
        schema.EnumProperty?.Select(value => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!).ToArray() ?? [];

    /// <summary>Every property schema below <paramref name="schema"/>, with its dotted path (arrays as name[]).</summary>
    public static IEnumerable<(string Path, V1JSONSchemaProps Schema)> Walk(V1JSONSchemaProps schema, string path)
    {
        foreach (var (name, child) in schema.Properties ?? new Dictionary<string, V1JSONSchemaProps>())
        {
            var childPath = path.Length == 0 ? name : $"{path}.{name}";
            yield return (childPath, child);
            foreach (var nested in WalkValue(child, childPath))
            {
                yield return nested;
            }
        }
    }

    private static IEnumerable<(string Path, V1JSONSchemaProps Schema)> WalkValue(V1JSONSchemaProps schema, string path)
    {
        foreach (var nested in Walk(schema, path))
        {
            yield return nested;
        }

        if (schema.Type == "array")
        {
            var items = Items(schema);
            yield return (path + "[]", items);
            foreach (var nested in WalkValue(items, path + "[]"))
            {
                yield return nested;
            }
        }

        if (AdditionalProperties(schema) is { } values)
        {
            yield return (path + "{}", values);
            foreach (var nested in WalkValue(values, path + "{}"))
            {
                yield return nested;
            }
        }
    }
}
