using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Notary.Pki.Bench;

/// <summary>What a keystore is built from: the issued leaf (DER + PKCS#8) and the CA certificate.</summary>
internal sealed record KeystoreInput(LeafAlgorithm Algorithm, IssuedLeaf Leaf, byte[] CaCertificateDer)
{
    public const string Alias = "tls";
    public const string Password = "bench-keystore-password";
}

/// <summary>
/// PKCS#12 protection. Keys and certificates are always PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC;
/// what varies is the KDF iteration count and the MAC.
/// </summary>
internal sealed record Pkcs12Settings(string Name, int Iterations, HashAlgorithmName MacHash, int MacIterations)
{
    /// <summary>What Notary's StoreEncoder is specified to write (readable by OpenSSL 3 without -legacy and Java 17).</summary>
    public static Pkcs12Settings Notary { get; } = new("aes256-pbkdf2sha256-10000-macsha256", 10_000, HashAlgorithmName.SHA256, 10_000);

    /// <summary>
    /// What BouncyCastle 2.7.0's Pkcs12Store writes when asked for PBES2/AES-256/HMAC-SHA256: the
    /// iteration count is fixed at 1024 (Pkcs12Store.MinIterations) and the MAC at HMAC-SHA1 with
    /// 1024 iterations; Pkcs12StoreBuilder has no setting for either.
    /// </summary>
    public static Pkcs12Settings BouncyCastleFixed { get; } = new("aes256-pbkdf2sha256-1024-macsha1", 1024, HashAlgorithmName.SHA1, 1024);
}

/// <summary>Keystore encoding with System.Security.Cryptography.Pkcs' Pkcs12Builder, the layout OpenSSL and BC write.</summary>
internal sealed class DotNetPkcs12Encoder(KeystoreInput input, Pkcs12Settings settings) : IOperation<byte[]>
{
    private static readonly Oid FriendlyNameOid = new("1.2.840.113549.1.9.20");

    public byte[] Run()
    {
        using var leaf = X509CertificateLoader.LoadCertificate(input.Leaf.CertificateDer);
        using var ca = X509CertificateLoader.LoadCertificate(input.CaCertificateDer);
        using AsymmetricAlgorithm key = input.Algorithm.Kind == KeyKind.Rsa ? RSA.Create() : ECDsa.Create();
        switch (key)
        {
            case RSA rsa:
                rsa.ImportPkcs8PrivateKey(input.Leaf.PrivateKeyPkcs8, out _);
                break;
            case ECDsa ecdsa:
                ecdsa.ImportPkcs8PrivateKey(input.Leaf.PrivateKeyPkcs8, out _);
                break;
        }

        var pbe = new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, settings.Iterations);
        var localKeyId = new Pkcs9LocalKeyId(leaf.GetCertHash());
        var friendlyName = FriendlyName(KeystoreInput.Alias);

        var keys = new Pkcs12SafeContents();
        var keyBag = keys.AddShroudedKey(key, KeystoreInput.Password, pbe);
        keyBag.Attributes.Add(localKeyId);
        keyBag.Attributes.Add(friendlyName);

        var certificates = new Pkcs12SafeContents();
        var leafBag = certificates.AddCertificate(leaf);
        leafBag.Attributes.Add(localKeyId);
        leafBag.Attributes.Add(friendlyName);
        certificates.AddCertificate(ca);

        var builder = new Pkcs12Builder();
        builder.AddSafeContentsEncrypted(certificates, KeystoreInput.Password, pbe);
        builder.AddSafeContentsUnencrypted(keys);
        builder.SealWithMac(KeystoreInput.Password, settings.MacHash, settings.MacIterations);
        return builder.Encode();
    }

    public void Dispose()
    {
    }

    private static Pkcs9AttributeObject FriendlyName(string name)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteCharacterString(UniversalTagNumber.BMPString, name);
        return new Pkcs9AttributeObject(FriendlyNameOid, writer.Encode());
    }
}

/// <summary>Keystore encoding with BouncyCastle's Pkcs12Store, asking for the strongest protection it offers.</summary>
internal sealed class BouncyCastlePkcs12Encoder(KeystoreInput input) : IOperation<byte[]>
{
    private readonly SecureRandom _random = new();

    public byte[] Run()
    {
        var parser = new X509CertificateParser();
        var leaf = parser.ReadCertificate(input.Leaf.CertificateDer);
        var ca = parser.ReadCertificate(input.CaCertificateDer);
        var key = PrivateKeyFactory.CreateKey(input.Leaf.PrivateKeyPkcs8);

        var store = new Pkcs12StoreBuilder()
            .SetKeyAlgorithm(NistObjectIdentifiers.IdAes256Cbc, PkcsObjectIdentifiers.IdHmacWithSha256)
            .SetCertAlgorithm(NistObjectIdentifiers.IdAes256Cbc, PkcsObjectIdentifiers.IdHmacWithSha256)
            .SetUseDerEncoding(true)
            .Build();
        store.SetKeyEntry(KeystoreInput.Alias, new AsymmetricKeyEntry(key),
            [new X509CertificateEntry(leaf), new X509CertificateEntry(ca)]);
        using var output = new MemoryStream();
        store.Save(output, KeystoreInput.Password.ToCharArray(), _random);
        return output.ToArray();
    }

    public void Dispose()
    {
    }
}
