using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Notary.Pki;

namespace Notary.Silo.Tls;

/// <summary>
/// Whether a silo's peer may talk to it: its certificate chains to Notary's CA (the very CA
/// that signs this silo's own certificate, not merely the same root), is valid now, carries
/// both TLS usages, names <see cref="SiloName"/> and carries the URI <see cref="SiloUri"/>.
/// Checked in full here, whatever the platform's own verdict (Orleans hands the decision to
/// this callback).
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

    /// <summary>
    /// The URI name (SAN) every silo certificate carries and no tenant certificate can: the
    /// issuers of tenant certificates put only DNS names in them, whatever a Certificate or a
    /// CertificatePolicy says. Without it, anyone allowed to request the silo's DNS name (a
    /// Certificate in Notary's namespace, or a policy granting names there) would get a silo
    /// identity from the same CA, join the cluster and call grains.
    /// </summary>
    public static Uri SiloUri(string notaryNamespace) => new($"urn:notary:silo:{notaryNamespace}");

    /// <summary>What Notary asks its CA for as a silo certificate: the silo name and the silo URI.</summary>
    public static LeafRequest SiloRequest(string notaryNamespace, TimeSpan lifetime, KeySpec key) =>
        new(SiloName(notaryNamespace), [], lifetime, key, [SiloUri(notaryNamespace)]);

    /// <summary>True when <paramref name="certificate"/> is a silo certificate from <paramref name="authority"/> valid at <paramref name="now"/>.</summary>
    public static bool IsSilo(X509Certificate2 certificate, NotaryAuthority authority, string siloName, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(authority);
        return ChainsTo(certificate, authority, now)
            && HasBothUsages(certificate)
            && Names(certificate).Contains(siloName, StringComparer.Ordinal)
            && NamespaceOf(siloName) is { } ns
            && Uris(certificate).Contains(SiloUri(ns).AbsoluteUri, StringComparer.Ordinal);
    }

    /// <summary>
    /// True when the chain from <paramref name="certificate"/> ends at Notary's root through
    /// Notary's signing CA, or is signed directly by a built-in root the current one replaced
    /// (<see cref="NotaryAuthority.PreviousRoots"/>, during a rotation of the built-in root).
    /// </summary>
    public static bool ChainsTo(X509Certificate2 certificate, NotaryAuthority authority, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(authority);
        return ChainsTo(certificate, authority.Root, authority.Chain.Take(authority.Chain.Count - 1), authority.Signer, now)
            || authority.PreviousRoots.Any(root => ChainsTo(certificate, root, [], root, now));
    }

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 root, IEnumerable<X509Certificate2> intermediates, X509Certificate2 signer, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        foreach (var issuer in intermediates)
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
                && chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(signer.RawDataMemory.Span);
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

    /// <summary><c>notary-silo.NS.svc</c> → NS; null for any other name (no silo has it).</summary>
    private static string? NamespaceOf(string siloName) =>
        siloName.StartsWith("notary-silo.", StringComparison.Ordinal) && siloName.EndsWith(".svc", StringComparison.Ordinal) && siloName.Length > "notary-silo..svc".Length
            ? siloName["notary-silo.".Length..^".svc".Length]
            : null;

    /// <summary>The URI names of the certificate's SAN (.NET enumerates only DNS names and IP addresses); none when it cannot be read.</summary>
    public static IReadOnlyList<string> Uris(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var uris = new List<string>();
        try
        {
            foreach (var extension in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
            {
                var names = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
                var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
                while (names.HasData)
                {
                    if (names.PeekTag() == uriTag)
                    {
                        uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                    }
                    else
                    {
                        names.ReadEncodedValue();
                    }
                }
            }
        }
        catch (AsnContentException)
        {
            return [];
        }

        return uris;
    }
}
