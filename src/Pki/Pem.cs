using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace Notary.Pki;

/// <summary>
/// PEM and key plumbing shared by the CA and the encoders. Every failure becomes a
/// <see cref="PkiException"/> whose message names what was being read (never the bytes).
/// </summary>
internal static class Pem
{
    internal const string CertificateLabel = "CERTIFICATE";

    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string EcOid = "1.2.840.10045.2.1";

    /// <summary>One PEM block, always ending with a newline.</summary>
    internal static string Write(string label, ReadOnlySpan<byte> der) => new string(PemEncoding.Write(label, der)) + "\n";

    /// <summary>The DER of every CERTIFICATE block, in order.</summary>
    internal static List<byte[]> ReadCertificates(string? pem, string what)
    {
        var result = new List<byte[]>();
        var rest = (pem ?? string.Empty).AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual(CertificateLabel))
            {
                var der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out _))
                {
                    throw new PkiException($"{what}: a CERTIFICATE block is not valid base64");
                }

                result.Add(der);
            }

            rest = rest[fields.Location.End..];
        }

        return result;
    }

    /// <summary>Exactly one certificate from PEM.</summary>
    internal static X509Certificate2 ReadCertificate(string? pem, string what)
    {
        var blocks = ReadCertificates(pem, what);
        if (blocks.Count == 0)
        {
            throw new PkiException($"{what}: no PEM CERTIFICATE block found");
        }

        return Load(blocks[0], what);
    }

    internal static X509Certificate2 Load(byte[] der, string what)
    {
        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException e)
        {
            throw new PkiException($"{what}: not a parseable X.509 certificate ({e.Message})", e);
        }
    }

    /// <summary>Reads a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key.</summary>
    internal static AsymmetricAlgorithm ReadPrivateKey(string? pem, string what)
    {
        var text = (pem ?? string.Empty).AsSpan();
        while (PemEncoding.TryFind(text, out var fields))
        {
            var label = text[fields.Label].ToString();
            var der = new byte[fields.DecodedDataLength];
            var base64Ok = Convert.TryFromBase64Chars(text[fields.Base64Data], der, out _);
            text = text[fields.Location.End..];
            if (label is not ("PRIVATE KEY" or "RSA PRIVATE KEY" or "EC PRIVATE KEY" or "ENCRYPTED PRIVATE KEY"))
            {
                continue;
            }

            if (label == "ENCRYPTED PRIVATE KEY")
            {
                throw new PkiException($"{what}: encrypted private keys are not supported; supply an unencrypted PKCS#8 key");
            }

            if (!base64Ok)
            {
                throw new PkiException($"{what}: the {label} block is not valid base64");
            }

            try
            {
                return label switch
                {
                    "RSA PRIVATE KEY" => Import(RSA.Create(), k => k.ImportRSAPrivateKey(der, out _)),
                    "EC PRIVATE KEY" => Import(ECDsa.Create(), k => k.ImportECPrivateKey(der, out _)),
                    _ => ImportPkcs8(der, what),
                };
            }
            catch (CryptographicException e)
            {
                throw new PkiException($"{what}: the {label} block is not a valid private key ({e.Message})", e);
            }
        }

        throw new PkiException($"{what}: no PEM PRIVATE KEY block found");
    }

    internal static string ExportPkcs8(AsymmetricAlgorithm key) => Write("PRIVATE KEY", key.ExportPkcs8PrivateKey());

    /// <summary>True when <paramref name="key"/> is the private half of the certificate's public key.</summary>
    internal static bool Matches(X509Certificate2 certificate, AsymmetricAlgorithm key)
    {
        switch (key)
        {
            case RSA rsa when certificate.GetRSAPublicKey() is { } certificateKey:
                using (certificateKey)
                {
                    var a = rsa.ExportParameters(false);
                    var b = certificateKey.ExportParameters(false);
                    return a.Modulus.AsSpan().SequenceEqual(b.Modulus) && a.Exponent.AsSpan().SequenceEqual(b.Exponent);
                }

            case ECDsa ec when certificate.GetECDsaPublicKey() is { } certificateKey:
                using (certificateKey)
                {
                    var a = ec.ExportParameters(false);
                    var b = certificateKey.ExportParameters(false);
                    return a.Curve.Oid.Value == b.Curve.Oid.Value
                        && a.Q.X.AsSpan().SequenceEqual(b.Q.X)
                        && a.Q.Y.AsSpan().SequenceEqual(b.Q.Y);
                }

            default:
                return false;
        }
    }

    private static AsymmetricAlgorithm ImportPkcs8(byte[] der, string what)
    {
        var info = Pkcs8PrivateKeyInfo.Decode(der, out _, skipCopy: true);
        return info.AlgorithmId.Value switch
        {
            RsaOid => Import(RSA.Create(), k => k.ImportPkcs8PrivateKey(der, out _)),
            EcOid => Import(ECDsa.Create(), k => k.ImportPkcs8PrivateKey(der, out _)),
            var other => throw new PkiException($"{what}: private key algorithm {other} is not supported; use RSA or ECDSA"),
        };
    }

    private static T Import<T>(T key, Action<T> import)
        where T : AsymmetricAlgorithm
    {
        try
        {
            import(key);
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}
