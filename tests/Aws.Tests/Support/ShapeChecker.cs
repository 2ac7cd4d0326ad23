using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Notary.Aws.Tests.Support;

/// <summary>
/// Compares a C# request or response type, as System.Text.Json actually (de)serializes it, with a
/// shape of a botocore service model: every member name exists in the shape, its JSON type fits
/// the member's type (string/blob/timestamp/list/structure/map/integer/long/boolean/double), every
/// enum value we can send is in the model's enum, and (for requests) every required member is a
/// required (or positional constructor), non-nullable property, so it is always sent. Returns the problems found.
/// </summary>
public static class ShapeChecker
{
    public static IReadOnlyList<string> Check(JsonElement model, string shapeName, JsonTypeInfo typeInfo, bool request)
    {
        var problems = new List<string>();
        CheckShape(model, shapeName, typeInfo, request, typeInfo.Type.Name, problems, depth: 0);
        return problems;
    }

    private static void CheckShape(JsonElement model, string shapeName, JsonTypeInfo typeInfo, bool request, string path, List<string> problems, int depth)
    {
        if (depth > 8)
        {
            return;
        }

        var shape = model.GetProperty("shapes").GetProperty(shapeName);
        var kind = shape.GetProperty("type").GetString();
        var clr = Nullable.GetUnderlyingType(typeInfo.Type) ?? typeInfo.Type;
        switch (kind)
        {
            case "structure":
                if (typeInfo.Kind != JsonTypeInfoKind.Object)
                {
                    problems.Add($"{path}: {shapeName} is a structure but {clr.Name} is not a JSON object");
                    return;
                }

                var members = shape.GetProperty("members");
                foreach (var property in typeInfo.Properties)
                {
                    if (!members.TryGetProperty(property.Name, out var member))
                    {
                        problems.Add($"{path}.{property.Name}: {shapeName} has no member \"{property.Name}\" (members: {string.Join(", ", members.EnumerateObject().Select(m => m.Name))})");
                        continue;
                    }

                    var memberShape = member.GetProperty("shape").GetString()!;
                    CheckShape(model, memberShape, typeInfo.Options.GetTypeInfo(property.PropertyType), request, $"{path}.{property.Name}", problems, depth + 1);
                }

                if (request && shape.TryGetProperty("required", out var required))
                {
                    foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
                    {
                        var property = typeInfo.Properties.FirstOrDefault(p => p.Name == name);
                        if (property is null)
                        {
                            problems.Add($"{path}: required member {shapeName}.{name} has no property, so it is never sent");
                        }
                        else if (!(property.IsRequired || property.AssociatedParameter is { HasDefaultValue: false })
                            || property.IsGetNullable
                            || Nullable.GetUnderlyingType(property.PropertyType) is not null)
                        {
                            problems.Add($"{path}.{name}: required in {shapeName} but the property is optional or nullable, so a request could leave it out");
                        }
                    }
                }

                return;

            case "list":
                if (typeInfo.Kind != JsonTypeInfoKind.Enumerable || typeInfo.ElementType is null)
                {
                    problems.Add($"{path}: {shapeName} is a list but {clr.Name} is not a JSON array");
                    return;
                }

                var element = shape.GetProperty("member").GetProperty("shape").GetString()!;
                CheckShape(model, element, typeInfo.Options.GetTypeInfo(typeInfo.ElementType), request, $"{path}[]", problems, depth + 1);
                return;

            case "map":
                if (typeInfo.Kind != JsonTypeInfoKind.Dictionary)
                {
                    problems.Add($"{path}: {shapeName} is a map but {clr.Name} is not a JSON object of values");
                }

                return;

            case "string":
                if (clr.IsEnum)
                {
                    if (!shape.TryGetProperty("enum", out var allowed))
                    {
                        problems.Add($"{path}: {clr.Name} is an enum but {shapeName} is a free string");
                        return;
                    }

                    var values = allowed.EnumerateArray().Select(v => v.GetString()).ToHashSet(StringComparer.Ordinal);
                    foreach (var value in Enum.GetValues(clr))
                    {
                        // The wire spelling, through the same converter the client uses.
                        var wire = JsonSerializer.Deserialize<string>(JsonSerializer.Serialize(value, clr, typeInfo.Options));
                        if (!values.Contains(wire))
                        {
                            problems.Add($"{path}: {clr.Name}.{value} is sent as \"{wire}\", which is not in {shapeName}'s enum ({string.Join(", ", values)})");
                        }
                    }
                }
                else if (clr != typeof(string))
                {
                    problems.Add($"{path}: {shapeName} is a string but the property is {clr.Name}");
                }

                return;

            case "blob":
                Expect(clr == typeof(byte[]), "byte[]");
                return;
            case "timestamp":
                Expect(clr == typeof(DateTimeOffset), "DateTimeOffset");
                return;
            case "integer":
                Expect(clr == typeof(int), "int");
                return;
            case "long":
                Expect(clr == typeof(long), "long");
                return;
            case "boolean":
                Expect(clr == typeof(bool), "bool");
                return;
            case "double" or "float":
                Expect(clr == typeof(double), "double");
                return;
            default:
                problems.Add($"{path}: {shapeName} has type {kind}, which the checker does not know");
                return;
        }

        void Expect(bool ok, string expected)
        {
            if (!ok)
            {
                problems.Add($"{path}: {shapeName} is a {kind}, so the property should be {expected}, not {clr.Name}");
            }
        }
    }
}
