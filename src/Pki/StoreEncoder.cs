using System.Security.Cryptography.X509Certificates;

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
/// Aliases are written lowercase, as Java reports them anyway.
/// </summary>
public static class StoreEncoder
{
    /// <summary>A keystore holding the private key and the full chain (leaf first) under one alias.</summary>
    public static byte[] BuildKeystore(StoreFormat format, string alias, IssuedCertificate certificate, string password)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var normalizedAlias = NormalizeAlias(alias);
        CheckPassword(password);

        var what = $"keystore entry \"{normalizedAlias}\"";
        var leaf = Pem.ReadCertificates(certificate.CertificatePem, $"{what} certificate");
        if (leaf.Count == 0)
        {
            throw new PkiException($"{what}: the certificate has no PEM CERTIFICATE block");
        }

        var chain = new List<X509Certificate2>();
        try
        {
            chain.Add(Pem.Load(leaf[0], $"{what} certificate"));
            var index = 0;
            foreach (var pem in certificate.ChainPem ?? [])
            {
                var chainWhat = $"{what} chain certificate #{index++}";
                chain.AddRange(Pem.ReadCertificates(pem, chainWhat).Select(der => Pem.Load(der, chainWhat)));
            }

            using var key = Pem.ReadPrivateKey(certificate.PrivateKeyPem, $"{what} private key");
            if (!Pem.Matches(chain[0], key))
            {
                throw new PkiException($"{what}: the private key does not match the certificate \"{chain[0].Subject}\"");
            }

            return format switch
            {
                StoreFormat.Pkcs12 => Pkcs12Writer.Keystore(normalizedAlias, key, chain, password),
                StoreFormat.Jks => JksWriter.Keystore(normalizedAlias, key, chain, password),
                _ => throw new PkiException($"store format {(int)format} is not supported; use PKCS12 or JKS"),
            };
        }
        finally
        {
            chain.ForEach(c => c.Dispose());
        }
    }

    /// <summary>A truststore holding each entry as a trusted certificate, in the given order.</summary>
    public static byte[] BuildTruststore(StoreFormat format, IReadOnlyList<TrustedEntry> entries, string password)
    {
        ArgumentNullException.ThrowIfNull(entries);
        CheckPassword(password);

        var certificates = new List<(string Alias, X509Certificate2 Certificate)>();
        try
        {
            var aliases = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                var alias = NormalizeAlias(entry.Alias);
                if (!aliases.Add(alias))
                {
                    throw new PkiException($"truststore alias \"{alias}\" appears more than once");
                }

                certificates.Add((alias, Pem.ReadCertificate(entry.CertificatePem, $"truststore entry \"{alias}\"")));
            }

            return format switch
            {
                StoreFormat.Pkcs12 => Pkcs12Writer.Truststore(certificates, password),
                StoreFormat.Jks => JksWriter.Truststore(certificates, password),
                _ => throw new PkiException($"store format {(int)format} is not supported; use PKCS12 or JKS"),
            };
        }
        finally
        {
            certificates.ForEach(c => c.Certificate.Dispose());
        }
    }

    /// <summary>The default file name for a store when the service metadata names none: keystore.p12, truststore.jks, ...</summary>
    public static string DefaultFileName(StoreFormat format, bool keystore) => (keystore ? "keystore" : "truststore") + (format == StoreFormat.Jks ? ".jks" : ".p12");

    private static string NormalizeAlias(string? alias)
    {
        if (string.IsNullOrWhiteSpace(alias))
        {
            throw new PkiException("a store alias must not be empty");
        }

        return alias.Trim().ToLowerInvariant();
    }

    private static void CheckPassword(string? password)
    {
        if (string.IsNullOrEmpty(password))
        {
            throw new PkiException("a store password must not be empty");
        }
    }
}
