namespace Notary.Pki;

/// <summary>The PEM files stored beside a store: tls.crt (leaf then chain), tls.key (PKCS#8), ca.crt.</summary>
public static class PemEncoder
{
    /// <summary>Leaf followed by its chain, each a PEM block, newline separated.</summary>
    public static string TlsCrt(IssuedCertificate certificate) => throw new NotImplementedException();

    /// <summary>The private key as PKCS#8 PEM.</summary>
    public static string TlsKey(IssuedCertificate certificate) => throw new NotImplementedException();

    /// <summary>Concatenated PEM blocks of the given certificates, in order.</summary>
    public static string Bundle(IEnumerable<string> certificatePems) => throw new NotImplementedException();
}
