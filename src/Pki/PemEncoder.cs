using System.Text;

namespace Notary.Pki;

/// <summary>The PEM files stored beside a store: tls.crt (leaf then chain), tls.key (PKCS#8), ca.crt.</summary>
public static class PemEncoder
{
    /// <summary>Leaf followed by its chain, each a PEM block, newline separated.</summary>
    public static string TlsCrt(IssuedCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Bundle([certificate.CertificatePem, .. certificate.ChainPem]);
    }

    /// <summary>The private key as PKCS#8 PEM, converting a PKCS#1 or SEC1 key an issuer handed over.</summary>
    public static string TlsKey(IssuedCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var key = Pem.ReadPrivateKey(certificate.PrivateKeyPem, $"private key of certificate {certificate.SerialNumber}");
        return Pem.ExportPkcs8(key);
    }

    /// <summary>Concatenated PEM blocks of the given certificates, in order, each re-encoded canonically.</summary>
    public static string Bundle(IEnumerable<string> certificatePems)
    {
        ArgumentNullException.ThrowIfNull(certificatePems);
        var bundle = new StringBuilder();
        var index = 0;
        foreach (var pem in certificatePems)
        {
            var blocks = Pem.ReadCertificates(pem, $"certificate #{index}");
            if (blocks.Count == 0)
            {
                throw new PkiException($"certificate #{index}: no PEM CERTIFICATE block found");
            }

            foreach (var der in blocks)
            {
                bundle.Append(Pem.Write(Pem.CertificateLabel, der));
            }

            index++;
        }

        return bundle.ToString();
    }
}
