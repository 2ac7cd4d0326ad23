using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Notary.Pki;

/// <summary>
/// Encodes and signs an X.509 v3 certificate (RFC 5280 §4.1) from parts the caller already holds,
/// field for field as <see cref="CertificateRequest.Create(X500DistinguishedName, X509SignatureGenerator, DateTimeOffset, DateTimeOffset, ReadOnlySpan{byte})"/>
/// lays them out (a test holds the two to the same bytes).
/// </summary>
/// <remarks>
/// Why not CertificateRequest.Create: it returns an <see cref="X509Certificate2"/>, so it hands its
/// own output to OpenSSL to decode (certificate, names and public key), which on this runtime costs
/// about twice the key generation and signing together: two thirds of the CPU of issuing a leaf
/// with an ECDSA P-256 key (bench/RESULTS.md, fifth session). The CA needs only the bytes, and it
/// chose the serial and validity itself.
/// </remarks>
internal static class CertificateEncoder
{
    // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on (and before 1950).
    private const int LastUtcTimeYear = 2049;
    private const int FirstUtcTimeYear = 1950;

    private static readonly Asn1Tag VersionTag = new(TagClass.ContextSpecific, 0, isConstructed: true);
    private static readonly Asn1Tag ExtensionsTag = new(TagClass.ContextSpecific, 3, isConstructed: true);

    /// <summary>
    /// The DER certificate: TBSCertificate, signature algorithm and signature. The serial is a
    /// positive big-endian integer, already minimal (no leading zero byte unless the next has its
    /// high bit set); the times are whole seconds, as X.509 carries no fractions.
    /// </summary>
    internal static byte[] Encode(
        X500DistinguishedName issuer,
        X500DistinguishedName subject,
        byte[] subjectPublicKeyInfo,
        ReadOnlySpan<byte> serialNumber,
        DateTimeOffset notBefore,
        DateTimeOffset notAfter,
        IReadOnlyList<X509Extension> extensions,
        X509SignatureGenerator generator,
        HashAlgorithmName hash)
    {
        // What CertificateRequest.Create refused, refused here too: this encoder trusts its caller
        // for the content, not for the shape.
        if (serialNumber.IsEmpty || serialNumber[0] >= 0x80 || (serialNumber.Length > 1 && serialNumber[0] == 0 && serialNumber[1] < 0x80))
        {
            throw new ArgumentException("the serial number must be a positive, minimally encoded big-endian integer", nameof(serialNumber));
        }

        if (notAfter < notBefore)
        {
            throw new ArgumentException($"notAfter {notAfter:O} is before notBefore {notBefore:O}", nameof(notAfter));
        }

        if (extensions.Select(e => e.Oid?.Value).Distinct(StringComparer.Ordinal).Count() != extensions.Count)
        {
            throw new ArgumentException("an extension appears twice", nameof(extensions));
        }

        var algorithm = generator.GetSignatureAlgorithmIdentifier(hash);
        var tbs = new AsnWriter(AsnEncodingRules.DER);
        using (tbs.PushSequence())
        {
            using (tbs.PushSequence(VersionTag))
            {
                tbs.WriteInteger(2); // v3
            }

            tbs.WriteInteger(serialNumber);
            tbs.WriteEncodedValue(algorithm);
            tbs.WriteEncodedValue(issuer.RawData);
            using (tbs.PushSequence())
            {
                WriteTime(tbs, notBefore);
                WriteTime(tbs, notAfter);
            }

            tbs.WriteEncodedValue(subject.RawData);
            tbs.WriteEncodedValue(subjectPublicKeyInfo);
            if (extensions.Count > 0)
            {
                using (tbs.PushSequence(ExtensionsTag))
                using (tbs.PushSequence())
                {
                    foreach (var extension in extensions)
                    {
                        using (tbs.PushSequence())
                        {
                            tbs.WriteObjectIdentifier(extension.Oid?.Value ?? throw new ArgumentException("an extension without an OID", nameof(extensions)));
                            if (extension.Critical)
                            {
                                tbs.WriteBoolean(true); // DER leaves out the DEFAULT FALSE
                            }

                            tbs.WriteOctetString(extension.RawData);
                        }
                    }
                }
            }
        }

        var toBeSigned = tbs.Encode();
        var signature = generator.SignData(toBeSigned, hash);
        var certificate = new AsnWriter(AsnEncodingRules.DER);
        using (certificate.PushSequence())
        {
            certificate.WriteEncodedValue(toBeSigned);
            certificate.WriteEncodedValue(algorithm);
            certificate.WriteBitString(signature);
        }

        return certificate.Encode();
    }

    private static void WriteTime(AsnWriter writer, DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        if (utc.Year is >= FirstUtcTimeYear and <= LastUtcTimeYear)
        {
            writer.WriteUtcTime(utc, LastUtcTimeYear);
        }
        else
        {
            writer.WriteGeneralizedTime(utc, omitFractionalSeconds: true);
        }
    }
}
