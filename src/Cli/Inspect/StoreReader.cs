using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Notary.Cli.Inspect;

/// <summary>One entry of a store, as <c>inspect secret</c> shows it: never a key, only that there is one.</summary>
public sealed record StoreEntry(string Alias, string Kind, X509Certificate2 Certificate, int ChainLength);

/// <summary>
/// Reads the entries of the stores Notary writes: PKCS#12 (certificate bags with their
/// friendlyName, key bags counted, never decoded) and JKS (trustedCertEntry and PrivateKeyEntry;
/// the protected key is skipped, not decrypted). Both are opened with the store password, whose
/// integrity check (PKCS#12 MAC, JKS digest) proves it is the right one.
/// </summary>
public static class StoreReader
{
    public const string PrivateKeyEntry = "PrivateKeyEntry";

    public const string TrustedCertEntry = "trustedCertEntry";

    public static bool IsJks(ReadOnlySpan<byte> bytes) => bytes.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(bytes) == 0xFEEDFEED;

    public static IReadOnlyList<StoreEntry> Read(byte[] bytes, string password)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        try
        {
            return IsJks(bytes) ? ReadJks(bytes, password) : ReadPkcs12(bytes, password);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new InvalidDataException("the store is cut short or malformed");
        }
    }

    private static List<StoreEntry> ReadPkcs12(byte[] bytes, string password)
    {
        Pkcs12Info info;
        try
        {
            info = Pkcs12Info.Decode(bytes, out _, skipCopy: true);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException($"not a PKCS#12 or JKS store ({ex.Message})");
        }

        if (info.IntegrityMode == Pkcs12IntegrityMode.Password && !info.VerifyMac(password))
        {
            throw new InvalidDataException("the password from the metadata Secret does not open it (PKCS#12 MAC check failed)");
        }

        var certificates = new List<(string? Alias, byte[]? KeyId, X509Certificate2 Certificate)>();
        var keyIds = new List<byte[]>();
        foreach (var safe in info.AuthenticatedSafe)
        {
            if (safe.ConfidentialityMode == Pkcs12ConfidentialityMode.Password)
            {
                safe.Decrypt(password);
            }

            foreach (var bag in safe.GetBags())
            {
                var alias = AttributeValue(bag, "1.2.840.113549.1.9.20") is { } friendly ? FriendlyName(friendly) : null;
                var keyId = AttributeValue(bag, "1.2.840.113549.1.9.21") is { } localKeyId ? OctetString(localKeyId) : null;
                switch (bag)
                {
                    case Pkcs12CertBag { IsX509Certificate: true } certBag:
                        certificates.Add((alias, keyId, certBag.GetCertificate()));
                        break;
                    case Pkcs12ShroudedKeyBag or Pkcs12KeyBag when keyId is not null:
                        keyIds.Add(keyId);
                        break;
                }
            }
        }

        var entries = new List<StoreEntry>();
        foreach (var (alias, keyId, certificate) in certificates)
        {
            var hasKey = keyId is not null && keyIds.Any(k => k.AsSpan().SequenceEqual(keyId));
            if (hasKey)
            {
                entries.Add(new StoreEntry(alias ?? "(no alias)", PrivateKeyEntry, certificate, certificates.Count(c => c.KeyId is null && c.Alias is null) + 1));
            }
            else if (alias is not null)
            {
                entries.Add(new StoreEntry(alias, TrustedCertEntry, certificate, 1));
            }
            else if (keyIds.Count == 0)
            {
                entries.Add(new StoreEntry("(no alias)", "certificate", certificate, 1));
            }

            // Otherwise a certificate without alias is the key entry's chain (counted in its ChainLength), as keytool lists it.
        }

        return entries;
    }

    private static byte[]? AttributeValue(Pkcs12SafeBag bag, string oid)
    {
        foreach (var attribute in bag.Attributes)
        {
            if (attribute.Oid?.Value == oid && attribute.Values.Count > 0)
            {
                return attribute.Values[0].RawData;
            }
        }

        return null;
    }

    private static byte[] OctetString(byte[] raw)
    {
        try
        {
            var reader = new System.Formats.Asn1.AsnReader(raw, System.Formats.Asn1.AsnEncodingRules.BER);
            if (reader.PeekTag().HasSameClassAndValue(System.Formats.Asn1.Asn1Tag.SetOf))
            {
                reader = reader.ReadSetOf();
            }

            return reader.ReadOctetString();
        }
        catch (System.Formats.Asn1.AsnContentException)
        {
            return raw;
        }
    }

    private static string FriendlyName(byte[] raw)
    {
        // A SET OF BMPString, or the BMPString itself (depending on how the attribute was surfaced).
        try
        {
            var reader = new System.Formats.Asn1.AsnReader(raw, System.Formats.Asn1.AsnEncodingRules.BER);
            if (reader.PeekTag().HasSameClassAndValue(System.Formats.Asn1.Asn1Tag.SetOf))
            {
                reader = reader.ReadSetOf();
            }

            return reader.ReadCharacterString(System.Formats.Asn1.UniversalTagNumber.BMPString);
        }
        catch (System.Formats.Asn1.AsnContentException)
        {
            return "(unreadable alias)";
        }
    }

    [SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "JKS's integrity digest is defined with SHA-1.")]
    private static List<StoreEntry> ReadJks(byte[] bytes, string password)
    {
        const int DigestLength = 20;
        if (bytes.Length < 12 + DigestLength)
        {
            throw new InvalidDataException("a JKS store too short to hold anything");
        }

        using (var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1))
        {
            sha1.AppendData(Encoding.BigEndianUnicode.GetBytes(password));
            sha1.AppendData("Mighty Aphrodite"u8);
            sha1.AppendData(bytes.AsSpan(0, bytes.Length - DigestLength));
            if (!sha1.GetHashAndReset().AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - DigestLength)))
            {
                throw new InvalidDataException("the password from the metadata Secret does not open it (JKS integrity check failed)");
            }
        }

        var position = 4;
        int Int32()
        {
            var value = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position));
            position += 4;
            return value;
        }

        string Utf()
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(position));
            position += 2;
            var text = Encoding.UTF8.GetString(bytes, position, length);
            position += length;
            return text;
        }

        byte[] Blob()
        {
            var length = Int32();
            var blob = bytes.AsSpan(position, length).ToArray();
            position += length;
            return blob;
        }

        var version = Int32();
        if (version is not (1 or 2))
        {
            throw new InvalidDataException($"JKS version {version} is not 1 or 2");
        }

        var count = Int32();
        var entries = new List<StoreEntry>();
        for (var i = 0; i < count; i++)
        {
            var tag = Int32();
            var alias = Utf();
            position += 8; // the entry's date
            if (tag == 1)
            {
                var keyLength = Int32();
                position += keyLength; // the protected key: skipped, never decrypted
                var chainLength = Int32();
                X509Certificate2? leaf = null;
                for (var c = 0; c < chainLength; c++)
                {
                    _ = Utf();
                    var der = Blob();
                    leaf ??= X509CertificateLoader.LoadCertificate(der);
                }

                entries.Add(new StoreEntry(alias, PrivateKeyEntry, leaf ?? throw new InvalidDataException($"JKS entry {alias} has no certificate"), chainLength));
            }
            else if (tag == 2)
            {
                _ = Utf();
                entries.Add(new StoreEntry(alias, TrustedCertEntry, X509CertificateLoader.LoadCertificate(Blob()), 1));
            }
            else
            {
                throw new InvalidDataException($"JKS entry {i} has unknown tag {tag}");
            }
        }

        return entries;
    }
}
