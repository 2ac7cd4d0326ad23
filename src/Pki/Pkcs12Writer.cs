using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace Notary.Pki;

/// <summary>
/// PKCS#12 in the modern profile: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for the shrouded key
/// and the certificate safe, HMAC-SHA256 over the whole file. OpenSSL 3 reads it without
/// -legacy and Java 11+ reads it; no RC2/3DES/SHA-1 anywhere.
/// </summary>
internal static class Pkcs12Writer
{
    /// <summary>PKCS#9 friendlyName: Java and OpenSSL show it as the alias.</summary>
    private const string FriendlyNameOid = "1.2.840.113549.1.9.20";

    /// <summary>Oracle's trusted-key-usage attribute: a certificate bag carrying it is a trustedCertEntry in Java.</summary>
    private const string JavaTrustedKeyUsageOid = "2.16.840.1.113894.746875.1.1";

    private const string AnyExtendedKeyUsageOid = "2.5.29.37.0";

    /// <summary>Iterations for PBKDF2 and the MAC; the same order of magnitude Java and OpenSSL use by default.</summary>
    private const int Iterations = 10_000;

    private static readonly PbeParameters Encryption = new(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, Iterations);

    internal static byte[] Keystore(string alias, AsymmetricAlgorithm key, IReadOnlyList<X509Certificate2> chain, string password)
    {
        // Deterministic key id: the leaf's SHA-1 thumbprint, as OpenSSL does.
        var localKeyId = chain[0].GetCertHash();

        var keys = new Pkcs12SafeContents();
        var keyBag = keys.AddShroudedKey(key, password, Encryption);
        keyBag.Attributes.Add(FriendlyName(alias));
        keyBag.Attributes.Add(new Pkcs9LocalKeyId(localKeyId));

        var certificates = new Pkcs12SafeContents();
        var leafBag = certificates.AddCertificate(chain[0]);
        leafBag.Attributes.Add(FriendlyName(alias));
        leafBag.Attributes.Add(new Pkcs9LocalKeyId(localKeyId));
        foreach (var issuer in chain.Skip(1))
        {
            // Issuers carry no attributes: Java links them to the key entry by issuer name.
            certificates.AddCertificate(issuer);
        }

        return Seal(password, keys, certificates);
    }

    internal static byte[] Truststore(IReadOnlyList<(string Alias, X509Certificate2 Certificate)> entries, string password)
    {
        var certificates = new Pkcs12SafeContents();
        foreach (var (alias, certificate) in entries)
        {
            var bag = certificates.AddCertificate(certificate);
            bag.Attributes.Add(FriendlyName(alias));
            bag.Attributes.Add(TrustedKeyUsage());
        }

        return Seal(password, null, certificates);
    }

    private static byte[] Seal(string password, Pkcs12SafeContents? keys, Pkcs12SafeContents certificates)
    {
        var builder = new Pkcs12Builder();

        // The key bag is already shrouded with PBES2, so its safe needs no second layer.
        if (keys is not null)
        {
            builder.AddSafeContentsUnencrypted(keys);
        }

        builder.AddSafeContentsEncrypted(certificates, password, Encryption);
        builder.SealWithMac(password, HashAlgorithmName.SHA256, Iterations);
        return builder.Encode();
    }

    private static Pkcs9AttributeObject FriendlyName(string alias)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteCharacterString(UniversalTagNumber.BMPString, alias);
        return new Pkcs9AttributeObject(FriendlyNameOid, writer.Encode());
    }

    private static Pkcs9AttributeObject TrustedKeyUsage()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteObjectIdentifier(AnyExtendedKeyUsageOid);
        return new Pkcs9AttributeObject(JavaTrustedKeyUsageOid, writer.Encode());
    }
}
