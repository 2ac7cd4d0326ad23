namespace Notary.Pki;

/// <summary>
/// A certificate with its private key and its issuer chain. The chain runs from the leaf's
/// issuer up to and including the root; it never contains the leaf. PEM strings hold one
/// certificate each. The private key is PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
/// ToString() never prints the key.
/// </summary>
public sealed record IssuedCertificate(
    string CertificatePem,
    IReadOnlyList<string> ChainPem,
    string PrivateKeyPem,
    string SerialNumber,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter)
{
    public override string ToString() => $"IssuedCertificate {{ SerialNumber = {SerialNumber}, NotAfter = {NotAfter:O} }}";
}
