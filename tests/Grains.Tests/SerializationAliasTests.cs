using System.Reflection;
using Notary.Grains.Abstractions;

namespace Notary.Grains.Tests;

/// <summary>
/// Orleans writes a type's [Alias] instead of its CLR name, in persisted grain state and in
/// messages: with one on every serialized type and grain interface, a class rename or a
/// namespace move does not orphan stored state. New types must carry one too
/// (scripts/add-aliases.py adds them).
/// </summary>
public sealed class SerializationAliasTests
{
    private static readonly Assembly[] Assemblies = [typeof(CertificateGrain).Assembly, typeof(ICertificateGrain).Assembly];

    private static IEnumerable<Type> AllTypes => Assemblies.SelectMany(a => a.GetTypes());

    private static List<string> SerializedTypeNames =>
        [.. AllTypes.Where(t => t.GetCustomAttribute<GenerateSerializerAttribute>() is not null).Select(t => t.FullName!)];

    private static List<string> GrainInterfaceNames =>
        [.. AllTypes.Where(t => t.IsInterface && typeof(IAddressable).IsAssignableFrom(t)).Select(t => t.FullName!)];

    public static TheoryData<string> SerializedTypes() => [.. SerializedTypeNames];

    public static TheoryData<string> GrainInterfaces() => [.. GrainInterfaceNames];

    private static Type Find(string name) => AllTypes.Single(t => t.FullName == name);

    [Fact]
    public void The_assemblies_hold_the_serialized_types_and_grain_interfaces_that_exist_today()
    {
        // Guards the discovery below: an empty theory would pass without checking anything.
        Assert.Contains(typeof(CertificateState).FullName!, SerializedTypeNames);
        Assert.Contains(typeof(ICertificateGrain).FullName!, GrainInterfaceNames);
        Assert.True(SerializedTypeNames.Count >= 32, $"only {SerializedTypeNames.Count} serialized types found");
    }

    [Theory]
    [MemberData(nameof(SerializedTypes))]
    public void Every_serialized_type_has_an_alias(string type) =>
        Assert.True(Find(type).GetCustomAttribute<AliasAttribute>() is not null, $"{type} is [GenerateSerializer] without [Alias(\"notary.{Find(type).Name}\")]");

    [Theory]
    [MemberData(nameof(GrainInterfaces))]
    public void Every_grain_interface_has_an_alias(string type) =>
        Assert.True(Find(type).GetCustomAttribute<AliasAttribute>() is not null, $"grain interface {type} has no [Alias(\"notary.{Find(type).Name}\")]");

    [Fact]
    public void Aliases_are_unique_and_in_notary_s_namespace()
    {
        // Orleans' generated proxies and invokers carry aliases of their own (OrleansCodeGen.*).
        var aliases = AllTypes.Where(t => t.Namespace?.StartsWith("OrleansCodeGen", StringComparison.Ordinal) != true)
            .Select(t => t.GetCustomAttribute<AliasAttribute>()?.Alias).OfType<string>().ToList();
        Assert.NotEmpty(aliases);
        Assert.All(aliases, a => Assert.StartsWith("notary.", a, StringComparison.Ordinal));
        Assert.Equal(aliases.Count, aliases.Distinct(StringComparer.Ordinal).Count());
    }
}
