using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Notary.Pki;

/// <summary>Why a CA key pair (a <c>ca</c> issuer's Secret) cannot be used; <see cref="Reason"/> is a condition reason.</summary>
public sealed class CaKeyPairException(string reason, string message) : Exception(message)
{
    /// <summary>NotACa, KeyMismatch, Expired, NotYetValid, ChainInvalid, Unparsable.</summary>
    public string Reason { get; } = reason;
}

/// <summary>The reasons <see cref="CaKeyPairException"/> carries (condition reasons of a <c>ca</c> issuer).</summary>
public static class CaKeyPairReasons
{
    public const string Unparsable = "Unparsable";
    public const string NotACa = "NotACa";
    public const string KeyMismatch = "KeyMismatch";
    public const string Expired = "Expired";
    public const string NotYetValid = "NotYetValid";
    public const string ChainInvalid = "ChainInvalid";
}

/// <summary>Loads a team's CA key pair and checks it before anything is signed with it.</summary>
public static class CaKeyPairs
{
    /// <summary>
    /// The CA in <paramref name="certificatePem"/> (its issuers may follow, root last) with its
    /// <paramref name="privateKeyPem"/>; throws <see cref="CaKeyPairException"/> naming what is wrong
    /// (subjects and dates, never key material). Checked, in this order: every block parses
    /// (Unparsable), the first certificate is a CA (basicConstraints CA=true and, when keyUsage is
    /// present, keyCertSign: NotACa), the key is its private half (KeyMismatch), every certificate
    /// is valid at <paramref name="now"/> (Expired, NotYetValid), and each certificate is issued and
    /// signed by the one after it, which is a CA too (ChainInvalid).
    /// <para>
    /// A chain may end in a certificate that is not self-signed (an intermediate whose root is not
    /// in the Secret): it is accepted, as cert-manager does. The leaves then carry the chain exactly
    /// as given, and the last certificate given is the top of what Notary knows: clients must trust
    /// it (or its root, supplied by other means).
    /// </para>
    /// </summary>
    public static CertificateAuthority Load(string certificatePem, string privateKeyPem, DateTimeOffset now)
    {
        var chain = ReadChain(certificatePem);
        try
        {
            var ca = chain[0];
            var subject = ca.Subject;
            if (!IsCa(ca, out var why))
            {
                throw new CaKeyPairException(CaKeyPairReasons.NotACa, $"the certificate \"{subject}\" in tls.crt is not a CA: {why}");
            }

            AsymmetricAlgorithm key;
            try
            {
                key = Pem.ReadPrivateKey(privateKeyPem, "tls.key");
            }
            catch (PkiException ex)
            {
                throw new CaKeyPairException(CaKeyPairReasons.Unparsable, ex.Message);
            }

            using (key)
            {
                if (!Pem.Matches(ca, key))
                {
                    throw new CaKeyPairException(
                        CaKeyPairReasons.KeyMismatch,
                        $"tls.key is not the private key of the CA certificate \"{subject}\" (their public keys differ)");
                }
            }

            CheckDates(chain, ca, now);

            for (var i = 0; i + 1 < chain.Count; i++)
            {
                VerifyLink(chain[i], chain[i + 1]);
            }

            try
            {
                return CertificateAuthority.FromPem(certificatePem, privateKeyPem);
            }
            catch (PkiException ex)
            {
                throw new CaKeyPairException(CaKeyPairReasons.Unparsable, ex.Message);
            }
        }
        finally
        {
            foreach (var certificate in chain)
            {
                certificate.Dispose();
            }
        }
    }

    /// <summary>
    /// The checks of <see cref="Load"/> that need no key, for a CA certificate Notary did not make
    /// and holds no key of (an ACM Private CA's certificate and chain): every block parses, the
    /// first certificate is a CA, every certificate is valid at <paramref name="now"/>, and each is
    /// issued and signed by the one after it, which is a CA too. Throws
    /// <see cref="CaKeyPairException"/> with the same reasons as <see cref="Load"/>.
    /// </summary>
    public static void CheckCertificates(string certificatePem, DateTimeOffset now)
    {
        var chain = ReadChain(certificatePem);
        try
        {
            var ca = chain[0];
            if (!IsCa(ca, out var why))
            {
                throw new CaKeyPairException(CaKeyPairReasons.NotACa, $"the certificate \"{ca.Subject}\" is not a CA: {why}");
            }

            CheckDates(chain, ca, now);
            for (var i = 0; i + 1 < chain.Count; i++)
            {
                VerifyLink(chain[i], chain[i + 1]);
            }
        }
        finally
        {
            foreach (var certificate in chain)
            {
                certificate.Dispose();
            }
        }
    }

    private static void CheckDates(List<X509Certificate2> chain, X509Certificate2 ca, DateTimeOffset now)
    {
        foreach (var certificate in chain)
        {
            var which = ReferenceEquals(certificate, ca) ? "the CA certificate" : "the chain certificate";
            if (certificate.NotAfter.ToUniversalTime() <= now.UtcDateTime)
            {
                throw new CaKeyPairException(
                    CaKeyPairReasons.Expired,
                    $"{which} \"{certificate.Subject}\" expired at {new DateTimeOffset(certificate.NotAfter.ToUniversalTime()):O}");
            }

            if (certificate.NotBefore.ToUniversalTime() > now.UtcDateTime)
            {
                throw new CaKeyPairException(
                    CaKeyPairReasons.NotYetValid,
                    $"{which} \"{certificate.Subject}\" is not valid before {new DateTimeOffset(certificate.NotBefore.ToUniversalTime()):O}");
            }
        }
    }

    private static List<X509Certificate2> ReadChain(string certificatePem)
    {
        List<byte[]> blocks;
        try
        {
            blocks = Pem.ReadCertificates(certificatePem, "tls.crt");
        }
        catch (PkiException ex)
        {
            throw new CaKeyPairException(CaKeyPairReasons.Unparsable, ex.Message);
        }

        if (blocks.Count == 0)
        {
            throw new CaKeyPairException(CaKeyPairReasons.Unparsable, "tls.crt holds no PEM CERTIFICATE block");
        }

        var chain = new List<X509Certificate2>();
        try
        {
            for (var i = 0; i < blocks.Count; i++)
            {
                chain.Add(Pem.Load(blocks[i], $"tls.crt certificate {i + 1}"));
            }
        }
        catch (PkiException ex)
        {
            chain.ForEach(c => c.Dispose());
            throw new CaKeyPairException(CaKeyPairReasons.Unparsable, ex.Message);
        }

        return chain;
    }

    private static bool IsCa(X509Certificate2 certificate, out string why)
    {
        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is not { CertificateAuthority: true })
        {
            why = "it lacks basicConstraints CA=true";
            return false;
        }

        var usage = certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (usage is not null && !usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign))
        {
            why = "its keyUsage lacks keyCertSign";
            return false;
        }

        why = string.Empty;
        return true;
    }

    private static void VerifyLink(X509Certificate2 child, X509Certificate2 parent)
    {
        if (!child.IssuerName.RawData.AsSpan().SequenceEqual(parent.SubjectName.RawData))
        {
            throw new CaKeyPairException(
                CaKeyPairReasons.ChainInvalid,
                $"tls.crt: \"{child.Subject}\" is issued by \"{child.Issuer}\", but the next certificate is \"{parent.Subject}\" (put each certificate's issuer right after it, root last)");
        }

        if (!IsCa(parent, out var why))
        {
            throw new CaKeyPairException(
                CaKeyPairReasons.ChainInvalid,
                $"tls.crt: \"{parent.Subject}\", the issuer of \"{child.Subject}\", is not a CA: {why}");
        }

        if (!SignatureVerifies(child, parent))
        {
            throw new CaKeyPairException(
                CaKeyPairReasons.ChainInvalid,
                $"tls.crt: the signature of \"{child.Subject}\" does not verify with the key of \"{parent.Subject}\" (a different CA with the same name?)");
        }
    }

    /// <summary>Whether <paramref name="parent"/>'s public key verifies <paramref name="child"/>'s signature (RSA PKCS#1 v1.5, RSA-PSS, ECDSA).</summary>
    private static bool SignatureVerifies(X509Certificate2 child, X509Certificate2 parent)
    {
        try
        {
            var reader = new AsnReader(child.RawData, AsnEncodingRules.DER).ReadSequence();
            var tbs = reader.ReadEncodedValue().ToArray();
            var algorithm = reader.ReadSequence();
            var oid = algorithm.ReadObjectIdentifier();
            var signature = reader.ReadBitString(out _);
            switch (oid)
            {
                case "1.2.840.113549.1.1.5" or "1.2.840.113549.1.1.11" or "1.2.840.113549.1.1.12" or "1.2.840.113549.1.1.13":
                    {
                        using var rsa = parent.GetRSAPublicKey();
                        return rsa is not null && rsa.VerifyData(tbs, signature, RsaHash(oid), RSASignaturePadding.Pkcs1);
                    }

                case "1.2.840.113549.1.1.10":
                    {
                        using var rsa = parent.GetRSAPublicKey();
                        if (rsa is null)
                        {
                            return false;
                        }

                        // The PSS hash is in the parameters; try the usual ones rather than decode them all.
                        return new[] { HashAlgorithmName.SHA256, HashAlgorithmName.SHA384, HashAlgorithmName.SHA512 }
                            .Any(hash => rsa.VerifyData(tbs, signature, hash, RSASignaturePadding.Pss));
                    }

                case "1.2.840.10045.4.3.2" or "1.2.840.10045.4.3.3" or "1.2.840.10045.4.3.4":
                    {
                        using var ec = parent.GetECDsaPublicKey();
                        var hash = oid switch
                        {
                            "1.2.840.10045.4.3.2" => HashAlgorithmName.SHA256,
                            "1.2.840.10045.4.3.3" => HashAlgorithmName.SHA384,
                            _ => HashAlgorithmName.SHA512,
                        };
                        return ec is not null && ec.VerifyData(tbs, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
                    }

                default:
                    throw new CaKeyPairException(
                        CaKeyPairReasons.ChainInvalid,
                        $"tls.crt: \"{child.Subject}\" is signed with algorithm {oid}, which Notary cannot verify; use RSA or ECDSA with SHA-256/384/512");
            }
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException)
        {
            return false;
        }
    }

    private static HashAlgorithmName RsaHash(string oid) => oid switch
    {
        "1.2.840.113549.1.1.5" => HashAlgorithmName.SHA1,
        "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
        "1.2.840.113549.1.1.13" => HashAlgorithmName.SHA512,
        _ => HashAlgorithmName.SHA256,
    };
}
