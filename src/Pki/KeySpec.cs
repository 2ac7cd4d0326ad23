namespace Notary.Pki;

/// <summary>Key algorithm of a certificate's private key.</summary>
public enum KeyAlgorithm
{
    Rsa,
    Ecdsa,
}

/// <summary>A requested private key: RSA 2048/3072/4096 or ECDSA 256 (P-256) / 384 (P-384).</summary>
public sealed record KeySpec(KeyAlgorithm Algorithm, int Size)
{
    public static KeySpec Default { get; } = new(KeyAlgorithm.Rsa, 2048);

    /// <summary>Null when the combination is supported, otherwise a message naming the bad value.</summary>
    public string? Validate() => throw new NotImplementedException();
}
