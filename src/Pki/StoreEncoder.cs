namespace Notary.Pki;

/// <summary>Java store file formats Notary writes.</summary>
public enum StoreFormat
{
    Pkcs12,
    Jks,
}

/// <summary>One trusted-certificate entry of a truststore.</summary>
public sealed record TrustedEntry(string Alias, string CertificatePem);

/// <summary>
/// Encodes keystores and truststores. PKCS12 uses AES-256-CBC with PBKDF2-SHA256 for keys and
/// certificates and an HMAC-SHA256 MAC (readable by OpenSSL 3 without -legacy and by Java 17);
/// truststore certificate bags carry Java's trusted-key-usage attribute so keytool lists them
/// as trustedCertEntry. JKS is Sun's original format (keys protected with Sun's key protector).
/// </summary>
public static class StoreEncoder
{
    /// <summary>A keystore holding the private key and the full chain (leaf first) under one alias.</summary>
    public static byte[] BuildKeystore(StoreFormat format, string alias, IssuedCertificate certificate, string password) => throw new NotImplementedException();

    /// <summary>A truststore holding each entry as a trusted certificate, in the given order.</summary>
    public static byte[] BuildTruststore(StoreFormat format, IReadOnlyList<TrustedEntry> entries, string password) => throw new NotImplementedException();

    /// <summary>The default file name for a store when the service metadata names none: keystore.p12, truststore.jks, ...</summary>
    public static string DefaultFileName(StoreFormat format, bool keystore) => (keystore ? "keystore" : "truststore") + (format == StoreFormat.Jks ? ".jks" : ".p12");
}
