using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Notary.Pki;

/// <summary>
/// Sun's JKS format (version 2), written from its published structure:
/// <code>
/// u4 magic 0xFEEDFEED, u4 version 2, u4 entry count, then per entry:
///   u4 tag (1 = private key, 2 = trusted certificate), UTF alias, u8 timestamp (ms since epoch),
///   tag 1: u4 length + EncryptedPrivateKeyInfo, u4 chain length, per certificate: UTF "X.509", u4 length + DER
///   tag 2: UTF "X.509", u4 length + DER
/// 20-byte SHA-1 over (password as UTF-16BE, "Mighty Aphrodite", everything before it)
/// </code>
/// "UTF" is Java's DataOutput.writeUTF: a u2 byte count and modified UTF-8. Integers are big-endian.
/// The private key is protected with Sun's KeyProtector (see <see cref="ProtectKey"/>).
/// Timestamps are the certificate's notBefore, so only the key salt varies between builds.
/// </summary>
/// <remarks>
/// SHA-1 is what the format defines for both the key protector and the integrity check; readers
/// accept nothing else. Prefer PKCS12 where the consumer allows it.
/// </remarks>
[SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "JKS is defined with SHA-1; readers accept nothing else.")]
internal static class JksWriter
{
    private const uint Magic = 0xFEEDFEED;
    private const int Version = 2;
    private const int PrivateKeyTag = 1;
    private const int TrustedCertificateTag = 2;
    private const string CertificateType = "X.509";
    private const string KeyProtectorOid = "1.3.6.1.4.1.42.2.17.1.1";
    private const int SaltLength = 20;
    private const int DigestLength = 20;

    internal static byte[] Keystore(string alias, AsymmetricAlgorithm key, IReadOnlyList<X509Certificate2> chain, string password)
    {
        using var store = new JksBuffer();
        store.WriteHeader(1);
        store.WriteInt32(PrivateKeyTag);
        store.WriteUtf(alias);
        store.WriteInt64(new DateTimeOffset(chain[0].NotBefore).ToUnixTimeMilliseconds());
        store.WriteBlob(ProtectKey(key.ExportPkcs8PrivateKey(), password));
        store.WriteInt32(chain.Count);
        foreach (var certificate in chain)
        {
            store.WriteUtf(CertificateType);
            store.WriteBlob(certificate.RawData);
        }

        return store.Finish(password);
    }

    internal static byte[] Truststore(IReadOnlyList<(string Alias, X509Certificate2 Certificate)> entries, string password)
    {
        using var store = new JksBuffer();
        store.WriteHeader(entries.Count);
        foreach (var (alias, certificate) in entries)
        {
            store.WriteInt32(TrustedCertificateTag);
            store.WriteUtf(alias);
            store.WriteInt64(new DateTimeOffset(certificate.NotBefore).ToUnixTimeMilliseconds());
            store.WriteUtf(CertificateType);
            store.WriteBlob(certificate.RawData);
        }

        return store.Finish(password);
    }

    /// <summary>
    /// Sun's KeyProtector: a SHA-1 keystream d1 = H(p, salt), d(i+1) = H(p, d(i)) over the
    /// password p as UTF-16BE, XORed with the PKCS#8 key, stored as salt ‖ ciphertext ‖ H(p, key)
    /// inside an EncryptedPrivateKeyInfo whose algorithm is the key protector OID.
    /// </summary>
    internal static byte[] ProtectKey(byte[] pkcs8, string password)
    {
        var passwordBytes = Encoding.BigEndianUnicode.GetBytes(password);
        var protectedKey = new byte[SaltLength + pkcs8.Length + DigestLength];
        var salt = protectedKey.AsSpan(0, SaltLength);
        RandomNumberGenerator.Fill(salt);

        Span<byte> block = stackalloc byte[DigestLength];
        salt.CopyTo(block);
        var cipher = protectedKey.AsSpan(SaltLength, pkcs8.Length);
        using (var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1))
        {
            for (var offset = 0; offset < pkcs8.Length; offset += DigestLength)
            {
                sha1.AppendData(passwordBytes);
                sha1.AppendData(block);
                sha1.GetHashAndReset(block);
                var count = Math.Min(DigestLength, pkcs8.Length - offset);
                for (var i = 0; i < count; i++)
                {
                    cipher[offset + i] = (byte)(pkcs8[offset + i] ^ block[i]);
                }
            }

            sha1.AppendData(passwordBytes);
            sha1.AppendData(pkcs8);
            sha1.GetHashAndReset(protectedKey.AsSpan(SaltLength + pkcs8.Length));
        }

        CryptographicOperations.ZeroMemory(pkcs8);
        CryptographicOperations.ZeroMemory(block);

        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(KeyProtectorOid);
                writer.WriteNull();
            }

            writer.WriteOctetString(protectedKey);
        }

        return writer.Encode();
    }

    /// <summary>Big-endian writer that appends the JKS integrity digest when finished.</summary>
    private sealed class JksBuffer : IDisposable
    {
        private readonly MemoryStream _bytes = new();

        internal void WriteHeader(int entryCount)
        {
            WriteUInt32(Magic);
            WriteInt32(Version);
            WriteInt32(entryCount);
        }

        internal void WriteInt32(int value) => WriteUInt32((uint)value);

        internal void WriteInt64(long value)
        {
            Span<byte> buffer = stackalloc byte[8];
            BinaryPrimitives.WriteInt64BigEndian(buffer, value);
            _bytes.Write(buffer);
        }

        internal void WriteBlob(byte[] data)
        {
            WriteInt32(data.Length);
            _bytes.Write(data);
        }

        /// <summary>Java's modified UTF-8: NUL as two bytes, characters outside the BMP as two 3-byte surrogates.</summary>
        internal void WriteUtf(string value)
        {
            var encoded = new List<byte>(value.Length);
            foreach (var c in value)
            {
                if (c is >= '\u0001' and <= '\u007F')
                {
                    encoded.Add((byte)c);
                }
                else if (c <= '\u07FF')
                {
                    encoded.Add((byte)(0xC0 | (c >> 6)));
                    encoded.Add((byte)(0x80 | (c & 0x3F)));
                }
                else
                {
                    encoded.Add((byte)(0xE0 | (c >> 12)));
                    encoded.Add((byte)(0x80 | ((c >> 6) & 0x3F)));
                    encoded.Add((byte)(0x80 | (c & 0x3F)));
                }
            }

            if (encoded.Count > ushort.MaxValue)
            {
                throw new PkiException($"JKS alias of {value.Length} characters is too long");
            }

            Span<byte> length = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)encoded.Count);
            _bytes.Write(length);
            _bytes.Write([.. encoded]);
        }

        internal byte[] Finish(string password)
        {
            using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            sha1.AppendData(Encoding.BigEndianUnicode.GetBytes(password));
            sha1.AppendData("Mighty Aphrodite"u8);
            sha1.AppendData(_bytes.GetBuffer(), 0, (int)_bytes.Length);
            _bytes.Write(sha1.GetHashAndReset());
            return _bytes.ToArray();
        }

        public void Dispose() => _bytes.Dispose();

        private void WriteUInt32(uint value)
        {
            Span<byte> buffer = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(buffer, value);
            _bytes.Write(buffer);
        }
    }
}
