namespace Notary.Grains.Abstractions;

/// <summary>
/// The identity of a namespaced resource, and the key of its grain: "namespace/name".
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.ResourceKey")]
public readonly record struct ResourceKey(
    [property: Id(0)] string Namespace,
    [property: Id(1)] string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";

    public static ResourceKey Parse(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == key.Length - 1 || key.IndexOf('/', slash + 1) >= 0)
        {
            throw new FormatException($"Grain key '{key}' is not of the form NAMESPACE/NAME.");
        }

        return new ResourceKey(key[..slash], key[(slash + 1)..]);
    }
}

/// <summary>The kinds of resource Notary manages.</summary>
public enum ResourceKind
{
    Certificate,
    Keystore,
    Truststore,

    /// <summary>A namespaced Issuer (grain key <see cref="IssuerKeys"/>); as a <see cref="ResourceKey"/>: its namespace and name.</summary>
    Issuer,

    /// <summary>A cluster-scoped ClusterIssuer; as a <see cref="ResourceKey"/>: an empty namespace and its name.</summary>
    ClusterIssuer,
}
