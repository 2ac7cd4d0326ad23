using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Notary.Pki.Bench;

/// <summary>
/// The existing CA both backends sign with: a self-signed ECDSA P-256 root, made once with .NET and
/// handed to each backend as DER + PKCS#8, the way Notary loads its CA from a Secret. Both backends
/// therefore sign with the same key, and every leaf can be checked against one issuer.
/// </summary>
internal sealed class BenchCa
{
    public const string LeafFqdn = "payments.shop.svc.cluster.local";

    private BenchCa(byte[] certificateDer, byte[] privateKeyPkcs8)
    {
        CertificateDer = certificateDer;
        PrivateKeyPkcs8 = privateKeyPkcs8;
    }

    public byte[] CertificateDer { get; }

    public byte[] PrivateKeyPkcs8 { get; }

    public static BenchCa Create(DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        name.AddOrganizationName("Notary bench");
        name.AddCommonName("Notary bench root CA");
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        return new BenchCa(certificate.RawData, key.ExportPkcs8PrivateKey());
    }
}

/// <summary>What one unit of issuance hands to the store: the leaf certificate and its private key, both DER.</summary>
internal sealed record IssuedLeaf(byte[] CertificateDer, byte[] PrivateKeyPkcs8);

/// <summary>Leaf validity used by both backends; the values only have to be identical, not realistic.</summary>
internal static class LeafValidity
{
    public static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(90);

    /// <summary>
    /// A random positive 16-byte serial. The top bit is cleared (positive INTEGER) and the next one
    /// set so the DER encoding is always exactly 16 bytes in both backends (126 random bits).
    /// </summary>
    public static byte[] NewSerial()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }
}
