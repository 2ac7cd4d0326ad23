namespace Notary.Grains;

/// <summary>Persisted state of the issuer registry: the keys (<c>IssuerKeys</c>) of the issuer grains that hold a spec.</summary>
[GenerateSerializer, Alias("notary.IssuerRegistryState")]
public sealed class IssuerRegistryState
{
    [Id(0)] public HashSet<string> Keys { get; set; } = [];
}
