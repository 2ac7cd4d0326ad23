using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Notary.Silo.Tls;

/// <summary>
/// Whether a silo's peer may talk to it: its certificate chains to Notary's CA (the very CA
/// that signs this silo's own certificate, not merely the same root), is valid now, carries
/// both TLS usages, and names <see cref="SiloName"/>. Checked in full here, whatever the
/// platform's own verdict (Orleans hands the decision to this callback).
/// </summary>
public static class PeerCertificates
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>
    /// The DNS name of every silo certificate. It lies in Notary's own namespace's service domain,
    /// which the name policy grants to Certificates of that namespace only: a tenant's Certificate
    /// cannot obtain it from the built-in CA (unless a CertificatePolicy grants names in Notary's
    /// namespace to others: never write one that does).
    /// </summary>
    public static string SiloName(string notaryNamespace) => $"notary-silo.{notaryNamespace}.svc";

    /// <summary>True when <paramref name="certificate"/> is a silo certificate from <paramref name="authority"/> valid at <paramref name="now"/>.</summary>
    public static bool IsSilo(X509Certificate2 certificate, NotaryAuthority authority, string siloName, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(authority);
        return ChainsTo(certificate, authority, now) && HasBothUsages(certificate) && Names(certificate).Contains(siloName, StringComparer.Ordinal);
    }

    /// <summary>True when the chain from <paramref name="certificate"/> ends at Notary's root through Notary's signing CA.</summary>
    public static bool ChainsTo(X509Certificate2 certificate, NotaryAuthority authority, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority.Root);
        foreach (var issuer in authority.Chain.Take(authority.Chain.Count - 1))
        {
            chain.ChainPolicy.ExtraStore.Add(issuer);
        }

        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        try
        {
            return chain.Build(certificate)
                && chain.ChainElements.Count >= 2
                && chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(authority.Signer.RawDataMemory.Span);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool HasBothUsages(X509Certificate2 certificate)
    {
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().SingleOrDefault()?.EnhancedKeyUsages;
        return usages is not null
            && usages.Cast<Oid>().Any(o => o.Value == ServerAuthOid)
            && usages.Cast<Oid>().Any(o => o.Value == ClientAuthOid);
    }

    private static IEnumerable<string> Names(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames());
}
