using System.Security.Cryptography;
using System.Text;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Protection;

namespace Notary.Grains;

/// <summary>
/// The issued material as a certificate keeps it in its state, compact because every resident
/// certificate activation pays for it: the certificate and key as DER bytes when their PEM text is
/// exactly the standard encoding of those bytes (as the built-in CA and ACM write it), otherwise
/// as the PEM's UTF-8 bytes, never as .NET strings (two bytes a character). About 1.3 KB less per
/// activation for an ECDSA certificate. Stores get an <see cref="IssuedMaterial"/> made on request
/// (<see cref="ToIssued"/>) with the very PEM text the issuer returned.
/// </summary>
/// <remarks>
/// The fields carry the [Id]s of <see cref="IssuedMaterial"/>, which state saved before this type
/// existed holds: Orleans' serializer writes a string as length-prefixed UTF-8 bytes, exactly as
/// it writes a byte array, so that state loads unchanged, as UTF-8 PEM (a test proves it). A
/// record like <see cref="IssuedMaterial"/>, because Orleans writes a record's fields after an
/// (empty) base layer that a class does not have. Its ToString names no key; its equality
/// compares the byte arrays by reference, and nothing compares materials.
/// <para>
/// The private key is encrypted (<see cref="SealedKey"/>, AES-256-GCM by <see cref="StateProtector"/>)
/// with associated data naming the certificate and the SHA-256 of <see cref="Certificate"/>, so
/// the ciphertext decrypts only beside the certificate it belongs to. <see cref="Key"/> holds a
/// plain key only in state saved before keys were encrypted; the certificate grain encrypts it
/// when it activates (<see cref="NeedsSealing"/>, <see cref="Sealed"/>).
/// </para>
/// </remarks>
[GenerateSerializer, Alias("notary.StoredMaterial")]
public sealed record StoredMaterial
{
    private const string CertificateLabel = "CERTIFICATE";
    private const string KeyLabel = "PRIVATE KEY";

    [Id(0)] public required string Arn { get; init; }
    /// <summary>The certificate: DER, or its PEM as UTF-8.</summary>
    [Id(1)] public required byte[] Certificate { get; init; }
    [Id(2)] public required IReadOnlyList<string> ChainPem { get; set; }
    /// <summary>
    /// The PKCS#8 private key in the clear (DER, or its PEM as UTF-8): only in state saved before
    /// keys were encrypted; empty once <see cref="SealedKey"/> holds it.
    /// </summary>
    [Id(3)] public byte[] Key { get; init; } = [];
    [Id(4)] public required string SerialNumber { get; init; }
    [Id(5)] public DateTimeOffset NotBefore { get; init; }
    [Id(6)] public DateTimeOffset NotAfter { get; init; }
    /// <summary>The private key in the form <see cref="Key"/> had, encrypted.</summary>
    [Id(7)] public ProtectedBytes? SealedKey { get; init; }

    public string CertificatePem => Pem(Certificate, CertificateLabel);

    /// <summary>The material of certificate <paramref name="owner"/> ("namespace/name"), its key encrypted.</summary>
    public static StoredMaterial From(IssuedMaterial material, StateProtector protector, string owner)
    {
        var certificate = Compact(material.CertificatePem, CertificateLabel);
        var key = Compact(material.PrivateKeyPem, KeyLabel);
        try
        {
            return new()
            {
                Arn = material.Arn,
                Certificate = certificate,
                ChainPem = material.ChainPem,
                SealedKey = protector.Protect(key, KeyContext(owner, certificate)),
                SerialNumber = material.SerialNumber,
                NotBefore = material.NotBefore,
                NotAfter = material.NotAfter,
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The material with its key in PEM, for the stores of certificate <paramref name="owner"/>.</summary>
    public IssuedMaterial ToIssued(StateProtector protector, string owner)
    {
        var key = PlainKey(protector, owner);
        try
        {
            return new(Arn, CertificatePem, ChainPem, Pem(key, KeyLabel), SerialNumber, NotBefore, NotAfter);
        }
        finally
        {
            if (!ReferenceEquals(key, Key))
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }
    }

    /// <summary>
    /// Decrypts the key and forgets it: throws <see cref="StateProtectionException"/> when it does
    /// not authenticate (tampered), <see cref="StateKeyUnknownException"/> when its data key is not held.
    /// </summary>
    public void CheckReadable(StateProtector protector, string owner)
    {
        if (SealedKey is not null)
        {
            CryptographicOperations.ZeroMemory(PlainKey(protector, owner));
        }
    }

    /// <summary>Whether the key is in the clear (state saved before encryption) or encrypted with a key that is no longer the current one.</summary>
    public bool NeedsSealing(StateProtector protector) =>
        SealedKey is null ? Key.Length > 0 : !protector.IsCurrent(SealedKey);

    /// <summary>A copy whose key is encrypted with the current data key, and not held in the clear.</summary>
    public StoredMaterial Sealed(StateProtector protector, string owner)
    {
        var key = PlainKey(protector, owner);
        try
        {
            return this with { Key = [], SealedKey = protector.Protect(key, KeyContext(owner, Certificate)) };
        }
        finally
        {
            if (!ReferenceEquals(key, Key))
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }
    }

    private byte[] PlainKey(StateProtector protector, string owner) =>
        SealedKey is null ? Key : protector.Unprotect(SealedKey, KeyContext(owner, Certificate));

    private static byte[] KeyContext(string owner, byte[] certificate) =>
        StateProtector.Context("certificate", owner, "key", SHA256.HashData(certificate));

    public override string ToString() => $"StoredMaterial {{ Arn = {Arn}, SerialNumber = {SerialNumber}, NotAfter = {NotAfter:O} }}";

    // The stored forms, told apart by the first byte: the DER after a marker saying whether the
    // PEM ended with a newline (the built-in CA's does), or the PEM's UTF-8 bytes (state saved
    // before, and any PEM that is not exactly the standard encoding of one block), after a
    // marker only in the impossible case that the text itself starts with a marker byte.
    private const byte Der = 0;
    private const byte DerAndNewline = 1;
    private const byte Text = 2;

    /// <summary>DER when writing it back gives the same text to the character; the text otherwise.</summary>
    private static byte[] Compact(string pem, string label)
    {
        if (PemEncoding.TryFind(pem, out var fields) && pem.AsSpan()[fields.Label].SequenceEqual(label))
        {
            var der = new byte[fields.DecodedDataLength + 1];
            der[0] = pem.EndsWith('\n') ? DerAndNewline : Der;
            if (Convert.TryFromBase64String(pem[fields.Base64Data], der.AsSpan(1), out var written)
                && written == fields.DecodedDataLength && Pem(der, label) == pem)
            {
                return der;
            }
        }

        var text = Encoding.UTF8.GetBytes(pem);
        return text.Length > 0 && text[0] <= Text ? [Text, .. text] : text;
    }

    private static string Pem(byte[] stored, string label) => stored.Length == 0 ? string.Empty : stored[0] switch
    {
        Der => PemEncoding.WriteString(label, stored.AsSpan(1)),
        DerAndNewline => PemEncoding.WriteString(label, stored.AsSpan(1)) + "\n",
        Text => Encoding.UTF8.GetString(stored.AsSpan(1)),
        _ => Encoding.UTF8.GetString(stored),
    };
}
