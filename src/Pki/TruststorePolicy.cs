using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Notary.Pki;

/// <summary>
/// A certificate a truststore trusts, with its chain (issuer first, root last). Name and
/// Namespace identify the Certificate resource and give the entry's alias.
/// <paramref name="AlsoTrustedPem"/>: further leaf certificates of the same service (the next
/// certificate during a renewal roll, previous ones during the overlap), trusted beside it; each
/// PEM text's first certificate is the leaf, any further ones its chain (used in Issuers mode).
/// </summary>
public sealed record TrustSource(string Namespace, string Name, string CertificatePem, IReadOnlyList<string> ChainPem, IReadOnlyList<string>? AlsoTrustedPem = null);

/// <summary>What a truststore trusts: exactly the listed services' leaves, or also the CAs of their chains.</summary>
public enum TrustMode
{
    /// <summary>Only the leaf certificates: whatever else the same CA signed is refused.</summary>
    Pinned,

    /// <summary>The leaves and every distinct CA of their chains: everything those CAs sign is trusted.</summary>
    Issuers,
}

/// <summary>
/// Which certificates belong in a truststore, as a pure function: the service's own
/// certificate and every upstream and downstream certificate (each with the further leaves it
/// brings, <see cref="TrustSource.AlsoTrustedPem"/>), and in <see cref="TrustMode.Issuers"/> mode
/// also every distinct CA certificate of their chains. <see cref="TrustMode.Pinned"/> holds no CA
/// certificate at all. Duplicates (same certificate reached twice) appear once. Aliases and order
/// are deterministic.
/// </summary>
/// <remarks>
/// Order: own, upstream in list order, downstream in list order (each source's current leaf,
/// then its further leaves in the order given), then, in Issuers mode, the CA certificates in
/// order of first appearance in those sources' chains. A certificate is identified by the
/// SHA-256 of its DER; when it is reached twice the first alias wins. Leaf aliases are
/// "{name}.{namespace}", further leaves "{name}.{namespace}-{first 8 hex of SHA-256}"; CA aliases
/// are "ca-{sanitized CN}-{first 8 hex of SHA-256}", so two different roots with the same CN get
/// different aliases and a rebuilt store keeps its aliases.
/// </remarks>
public static class TruststorePolicy
{
    private const int MaxCommonNameInAlias = 40;
    private const string CommonNameOid = "2.5.4.3";

    public static IReadOnlyList<TrustedEntry> Select(TrustSource own, IReadOnlyList<TrustSource> upstream, IReadOnlyList<TrustSource> downstream, TrustMode mode = TrustMode.Pinned)
    {
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(downstream);

        TrustSource[] sources = [own, .. upstream, .. downstream];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<TrustedEntry>();
        var authorities = new List<(byte[] Der, string What)>();

        foreach (var source in sources)
        {
            var what = $"certificate {source.Namespace}/{source.Name}";
            var leaf = NonEmpty(Pem.ReadCertificates(source.CertificatePem, what), what)[0];
            Add(entries, seen, aliases, LeafAlias(source), leaf, what);
            if (mode == TrustMode.Issuers)
            {
                var index = 0;
                foreach (var chainPem in source.ChainPem ?? [])
                {
                    var chainWhat = $"chain certificate #{index++} of {source.Namespace}/{source.Name}";
                    authorities.AddRange(NonEmpty(Pem.ReadCertificates(chainPem, chainWhat), chainWhat).Select(der => (der, chainWhat)));
                }
            }

            var also = 0;
            foreach (var alsoPem in source.AlsoTrustedPem ?? [])
            {
                var alsoWhat = $"further certificate #{also++} of {source.Namespace}/{source.Name}";
                var blocks = NonEmpty(Pem.ReadCertificates(alsoPem, alsoWhat), alsoWhat);
                Add(entries, seen, aliases, $"{LeafAlias(source)}-{Hash8(blocks[0])}", blocks[0], alsoWhat);
                if (mode == TrustMode.Issuers)
                {
                    // A further certificate's PEM may carry its chain after the leaf (a renewal
                    // from another CA): those CAs are trusted too.
                    authorities.AddRange(blocks.Skip(1).Select(der => (der, $"{alsoWhat}, chain")));
                }
            }
        }

        foreach (var (der, what) in authorities)
        {
            Add(entries, seen, aliases, null, der, what);
        }

        return entries;
    }

    /// <summary>
    /// The CA subjects an Issuers-mode store trusts besides its leaves (the distinct CA
    /// certificates of the sources' chains), for the sentence that says what that trusts.
    /// </summary>
    public static IReadOnlyList<string> IssuerSubjects(IReadOnlyList<TrustedEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var subjects = new List<string>();
        // CA aliases never hold a '.', leaf aliases ("{name}.{namespace}") always do: a
        // Certificate named "ca-api" is not taken for a CA.
        foreach (var entry in entries.Where(e => e.Alias.StartsWith("ca-", StringComparison.Ordinal) && !e.Alias.Contains('.', StringComparison.Ordinal)))
        {
            using var certificate = X509Certificate2.CreateFromPem(entry.CertificatePem);
            subjects.Add(certificate.Subject);
        }

        return subjects;
    }

    private static string Hash8(byte[] der) => Convert.ToHexStringLower(SHA256.HashData(der))[..8];

    /// <summary>The alias a CA certificate gets in every truststore.</summary>
    public static string CaAlias(byte[] der, string? commonName)
    {
        ArgumentNullException.ThrowIfNull(der);
        var hash = Hash8(der);
        var name = Sanitize(commonName ?? string.Empty);
        return name.Length == 0 ? $"ca-{hash}" : $"ca-{name}-{hash}";
    }

    private static string LeafAlias(TrustSource source) => $"{source.Name}.{source.Namespace}".ToLowerInvariant();

    private static void Add(List<TrustedEntry> entries, HashSet<string> seen, Dictionary<string, string> aliases, string? alias, byte[] der, string what)
    {
        var fingerprint = Convert.ToHexString(SHA256.HashData(der));
        if (!seen.Add(fingerprint))
        {
            return;
        }

        // Parsed here so a broken input fails naming its source, not later in the encoder.
        using var certificate = Pem.Load(der, what);
        alias ??= CaAlias(der, CommonName(certificate));
        if (aliases.TryGetValue(alias, out var other) && other != fingerprint)
        {
            throw new PkiException($"{what}: alias \"{alias}\" is already used by a different certificate");
        }

        aliases[alias] = fingerprint;
        entries.Add(new TrustedEntry(alias, Pem.Write(Pem.CertificateLabel, der)));
    }

    private static string? CommonName(X509Certificate2 certificate) =>
        certificate.SubjectName.EnumerateRelativeDistinguishedNames()
            .Where(rdn => !rdn.HasMultipleElements && rdn.GetSingleElementType().Value == CommonNameOid)
            .Select(rdn => rdn.GetSingleElementValue())
            .FirstOrDefault();

    private static List<byte[]> NonEmpty(List<byte[]> blocks, string what) =>
        blocks.Count == 0 ? throw new PkiException($"{what}: no PEM CERTIFICATE block found") : blocks;

    /// <summary>Lowercase; every run of characters outside [a-z0-9] becomes one '-'; trimmed; at most 40 characters.</summary>
    private static string Sanitize(string commonName)
    {
        var text = new StringBuilder(commonName.Length);
        foreach (var c in commonName.ToLowerInvariant())
        {
            if (char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c))
            {
                text.Append(c);
            }
            else if (text.Length > 0 && text[^1] != '-')
            {
                text.Append('-');
            }
        }

        var result = text.ToString().Trim('-');
        return result.Length <= MaxCommonNameInAlias ? result : result[..MaxCommonNameInAlias].TrimEnd('-');
    }
}
