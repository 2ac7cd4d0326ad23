namespace Notary.Pki;

/// <summary>
/// The built-in CA: a self-signed root that issues leaf certificates for service-to-service TLS
/// (serverAuth + clientAuth, CN and SAN = fqdn plus alt names, random positive serial).
/// Pure: no I/O; the caller persists <see cref="CertificatePem"/> and <see cref="ExportPrivateKeyPem"/>.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    private CertificateAuthority() => throw new NotImplementedException();

    /// <summary>Creates a new self-signed root CA valid from <paramref name="now"/> for <paramref name="lifetime"/>.</summary>
    public static CertificateAuthority CreateRoot(string commonName, TimeSpan lifetime, DateTimeOffset now, KeySpec? key = null) => throw new NotImplementedException();

    /// <summary>Loads a CA from its PEM certificate and PKCS#8 (or PKCS#1/SEC1) PEM private key; throws <see cref="PkiException"/> with a clear message when they do not match or are not a CA.</summary>
    public static CertificateAuthority FromPem(string certificatePem, string privateKeyPem) => throw new NotImplementedException();

    public string CertificatePem => throw new NotImplementedException();

    public DateTimeOffset NotAfter => throw new NotImplementedException();

    public string ExportPrivateKeyPem() => throw new NotImplementedException();

    /// <summary>
    /// Issues a leaf valid from <paramref name="now"/> (minus a small clock-skew allowance) for
    /// the requested lifetime, capped at the CA's own notAfter. Throws <see cref="PkiException"/>
    /// for an invalid request (bad fqdn, unsupported key, non-positive lifetime).
    /// </summary>
    public IssuedCertificate Issue(LeafRequest request, DateTimeOffset now) => throw new NotImplementedException();

    public void Dispose() => throw new NotImplementedException();
}
