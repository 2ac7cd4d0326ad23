namespace Notary.Pki.Bench;

internal enum KeyKind
{
    Rsa,
    Ecdsa,
}

/// <summary>A leaf key the built-in CA can be asked for; <see cref="Name"/> is what the report prints.</summary>
internal sealed record LeafAlgorithm(string Name, KeyKind Kind, int Size)
{
    public static LeafAlgorithm Rsa2048 { get; } = new("rsa2048", KeyKind.Rsa, 2048);
    public static LeafAlgorithm Rsa3072 { get; } = new("rsa3072", KeyKind.Rsa, 3072);
    public static LeafAlgorithm Rsa4096 { get; } = new("rsa4096", KeyKind.Rsa, 4096);
    public static LeafAlgorithm EcdsaP256 { get; } = new("ecdsa-p256", KeyKind.Ecdsa, 256);
    public static LeafAlgorithm EcdsaP384 { get; } = new("ecdsa-p384", KeyKind.Ecdsa, 384);

    /// <summary>In report order. RSA 4096 last: it is by far the slowest and runs with a small count.</summary>
    public static IReadOnlyList<LeafAlgorithm> All { get; } = [Rsa2048, Rsa3072, EcdsaP256, EcdsaP384, Rsa4096];

    public static LeafAlgorithm? Find(string name) =>
        All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase));

    public override string ToString() => Name;
}
