using System.Security.Cryptography;

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
    public string? Validate() => Algorithm switch
    {
        KeyAlgorithm.Rsa when Size is 2048 or 3072 or 4096 => null,
        KeyAlgorithm.Rsa => $"RSA key size {Size} is not supported; use 2048, 3072 or 4096",
        KeyAlgorithm.Ecdsa when Size is 256 or 384 => null,
        KeyAlgorithm.Ecdsa => $"ECDSA key size {Size} is not supported; use 256 (P-256) or 384 (P-384)",
        _ => $"key algorithm {(int)Algorithm} is not supported; use RSA or ECDSA",
    };

    /// <summary>Generates a fresh key pair of this kind as PKCS#8 PEM (for an issuer that only signs); throws <see cref="PkiException"/> when unsupported.</summary>
    public string GeneratePkcs8Pem()
    {
        using var key = Generate();
        return Pem.ExportPkcs8(key);
    }

    /// <summary>Reads a key pair of this kind from PKCS#8 PEM; throws <see cref="PkiException"/> when it is another kind or size.</summary>
    internal AsymmetricAlgorithm Read(string pem)
    {
        var key = Pem.ReadPrivateKey(pem, "leaf private key");
        var matches = Algorithm == KeyAlgorithm.Rsa ? key is RSA && key.KeySize == Size : key is ECDsa && key.KeySize == Size;
        if (!matches)
        {
            key.Dispose();
            throw new PkiException($"the leaf private key given is not {(Algorithm == KeyAlgorithm.Rsa ? "RSA" : "ECDSA")} {Size}");
        }

        return key;
    }

    /// <summary>Generates a fresh key pair of this kind; throws <see cref="PkiException"/> when unsupported.</summary>
    internal AsymmetricAlgorithm Generate()
    {
        if (Validate() is { } error)
        {
            throw new PkiException(error);
        }

        return Algorithm == KeyAlgorithm.Rsa
            ? RSA.Create(Size)
            : ECDsa.Create(Size == 256 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
    }
}
