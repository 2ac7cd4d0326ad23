using System.Security.Cryptography;
using System.Text;
using Notary.Grains.Abstractions.Ports;

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
    /// <summary>The PKCS#8 private key: DER, or its PEM as UTF-8.</summary>
    [Id(3)] public required byte[] Key { get; init; }
    [Id(4)] public required string SerialNumber { get; init; }
    [Id(5)] public DateTimeOffset NotBefore { get; init; }
    [Id(6)] public DateTimeOffset NotAfter { get; init; }

    public string CertificatePem => Pem(Certificate, CertificateLabel);

    public static StoredMaterial From(IssuedMaterial material) => new()
    {
        Arn = material.Arn,
        Certificate = Compact(material.CertificatePem, CertificateLabel),
        ChainPem = material.ChainPem,
        Key = Compact(material.PrivateKeyPem, KeyLabel),
        SerialNumber = material.SerialNumber,
        NotBefore = material.NotBefore,
        NotAfter = material.NotAfter,
    };

    public IssuedMaterial ToIssued() =>
        new(Arn, CertificatePem, ChainPem, Pem(Key, KeyLabel), SerialNumber, NotBefore, NotAfter);

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
