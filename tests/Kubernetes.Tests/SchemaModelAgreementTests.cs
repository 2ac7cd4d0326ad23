using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s.Models;
using Notary.Adapters.Kubernetes.Tests.Support;
using Notary.CustomResources.Models;

namespace Notary.Adapters.Kubernetes.Tests;

/// <summary>
/// The C# models and the CRD schemas name the same fields with compatible types, so nothing the
/// controller writes is pruned by the API server and nothing a user writes is lost on reading.
/// </summary>
public sealed class SchemaModelAgreementTests
{
    public static TheoryData<string, Type> Resources => new()
    {
        { NotaryResources.CertificatePlural, typeof(Certificate) },
        { NotaryResources.KeystorePlural, typeof(Keystore) },
        { NotaryResources.TruststorePlural, typeof(Truststore) },
        { CertificatePolicy.KubePluralName, typeof(CertificatePolicy) },
        { NotaryResources.BreachPlural, typeof(Breach) },
        { NotaryResources.IssuerPlural, typeof(Issuer) },
        { NotaryResources.ClusterIssuerPlural, typeof(ClusterIssuer) },
    };

    [Theory]
    [MemberData(nameof(Resources))]
    public void Model_and_schema_have_the_same_fields_with_compatible_types(string plural, Type model)
    {
        var problems = new List<string>();

        Compare(model, Crds.Root(Crds.Load(plural)), model.Name, problems);

        Assert.True(problems.Count == 0, $"{plural} schema and {model.Name} disagree:\n  {string.Join("\n  ", problems)}");
    }

    [Theory]
    [MemberData(nameof(Resources))]
    public void Json_names_are_the_camel_cased_property_names_so_KubernetesYaml_agrees(string plural, Type model)
    {
        // KubernetesYaml ignores [JsonPropertyName] and camel-cases the C# name instead.
        var mismatches = ModelTypes(model)
            .SelectMany(type => JsonProperties(type).Select(property => (type, property.Name, Json: property.JsonName)))
            .Where(entry => JsonNamingPolicy.CamelCase.ConvertName(entry.Name) != entry.Json)
            .Select(entry => $"{entry.type.Name}.{entry.Name} is \"{entry.Json}\" in JSON")
            .ToList();

        Assert.True(mismatches.Count == 0, $"{plural}: {string.Join(", ", mismatches)}");
    }

    [Fact]
    public void The_walk_reports_a_field_missing_on_either_side()
    {
        // Guards the guard: a schema with one extra property and one missing property is caught.
        var schema = new V1JSONSchemaProps
        {
            Type = "object",
            Properties = new Dictionary<string, V1JSONSchemaProps>
            {
                ["tag"] = new() { Type = "string" },
                ["fqdn"] = new() { Type = "string" },
                ["zone"] = new() { Type = "string" },
            },
        };
        var problems = new List<string>();

        Compare(typeof(PeerReference), schema, "peer", problems);

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, problem => problem.Contains("peer.namespace", StringComparison.Ordinal) && problem.Contains("not in the schema", StringComparison.Ordinal));
        Assert.Contains(problems, problem => problem.Contains("peer.zone", StringComparison.Ordinal) && problem.Contains("not in the model", StringComparison.Ordinal));
    }

    private static void Compare(Type model, V1JSONSchemaProps schema, string path, List<string> problems)
    {
        var properties = JsonProperties(model).ToDictionary(property => property.JsonName, StringComparer.Ordinal);
        var schemaProperties = schema.Properties ?? new Dictionary<string, V1JSONSchemaProps>();

        foreach (var name in properties.Keys.Except(schemaProperties.Keys))
        {
            problems.Add($"{path}.{name}: in the model ({model.Name}.{properties[name].Name}) but not in the schema");
        }

        foreach (var name in schemaProperties.Keys.Except(properties.Keys))
        {
            problems.Add($"{path}.{name}: in the schema but not in the model ({model.Name})");
        }

        foreach (var name in schema.Required ?? [])
        {
            if (properties.TryGetValue(name, out var property) && property.Nullable)
            {
                problems.Add($"{path}.{name}: required by the schema but nullable in the model ({model.Name}.{property.Name})");
            }
        }

        foreach (var (name, property) in properties)
        {
            if (schemaProperties.TryGetValue(name, out var propertySchema))
            {
                CompareValue(property.Type, propertySchema, $"{path}.{name}", problems);
            }
        }
    }

    private static void CompareValue(Type type, V1JSONSchemaProps schema, string path, List<string> problems)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        var expected = type switch
        {
            _ when type == typeof(string) => ("string", null),
            _ when type == typeof(DateTimeOffset) || type == typeof(DateTime) => ("string", "date-time"),
            _ when type == typeof(long) => ("integer", "int64"),
            _ when type == typeof(int) => ("integer", (string?)null),
            _ when type == typeof(bool) => ("boolean", null),
            _ when ElementOf(type, typeof(IDictionary<,>)) is not null => ("object", null),
            _ when ElementOf(type, typeof(IList<>)) is not null => ("array", null),
            _ => ("object", null),
        };

        if (schema.Type != expected.Item1 || (expected.Item2 is not null && schema.Format != expected.Item2))
        {
            problems.Add($"{path}: {type.Name} in the model but {schema.Type}{(schema.Format is null ? "" : $" ({schema.Format})")} in the schema, expected {expected.Item1}{(expected.Item2 is null ? "" : $" ({expected.Item2})")}");
            return;
        }

        if (ElementOf(type, typeof(IDictionary<,>)) is { } valueType)
        {
            var values = Crds.AdditionalProperties(schema);
            if (values is null)
            {
                problems.Add($"{path}: a dictionary in the model but an object without additionalProperties in the schema");
            }
            else
            {
                CompareValue(valueType, values, path + "{}", problems);
            }
        }
        else if (ElementOf(type, typeof(IList<>)) is { } itemType)
        {
            CompareValue(itemType, Crds.Items(schema), path + "[]", problems);
        }
        else if (type.Namespace == typeof(Certificate).Namespace)
        {
            Compare(type, schema, path, problems);
        }

        // Other object types are Kubernetes' own (metadata), whose schema the API server supplies.
    }

    private static Type? ElementOf(Type type, Type generic)
    {
        var match = type.IsGenericType && type.GetGenericTypeDefinition() == generic
            ? type
            : type.GetInterfaces().FirstOrDefault(candidate => candidate.IsGenericType && candidate.GetGenericTypeDefinition() == generic);
        return match?.GetGenericArguments()[^1];
    }

    private static IEnumerable<(string Name, string JsonName, Type Type, bool Nullable)> JsonProperties(Type type)
    {
        var nullability = new NullabilityInfoContext();
        return type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(property => (Property: property, Attribute: property.GetCustomAttribute<JsonPropertyNameAttribute>()))
            .Where(entry => entry.Attribute is not null)
            .Select(entry => (
                entry.Property.Name,
                entry.Attribute!.Name,
                entry.Property.PropertyType,
                nullability.Create(entry.Property).ReadState != NullabilityState.NotNull));
    }

    private static IEnumerable<Type> ModelTypes(Type root)
    {
        var seen = new HashSet<Type>();
        var pending = new Stack<Type>([root]);
        while (pending.TryPop(out var type))
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            type = ElementOf(type, typeof(IDictionary<,>)) ?? ElementOf(type, typeof(IList<>)) ?? type;
            if (type.Namespace != root.Namespace || !seen.Add(type))
            {
                continue;
            }

            yield return type;
            foreach (var property in JsonProperties(type))
            {
                pending.Push(property.Type);
            }
        }
    }
}
