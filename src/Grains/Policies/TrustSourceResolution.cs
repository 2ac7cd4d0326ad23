using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Grains.Policies;

/// <summary>A certificate a trust source brings: its alias, its PEM, and the SHA-256 of its DER (hex, uppercase).</summary>
public sealed record SourceEntry(string Alias, string CertificatePem, string Fingerprint);

/// <summary>
/// Pure: turns what a Truststore's trust sources hold into trusted entries, or a
/// <see cref="Reasons.SourceInvalid"/> problem that names the first bad source (by its position
/// and what it points at, never by its contents). Every CERTIFICATE block of a source's PEM
/// becomes an entry; other blocks (a key left in the same Secret, comments) are ignored. A source
/// with no certificate block, a block that is not base64, or one that is not an X.509 certificate
/// is invalid, as is a missing ConfigMap, Secret, key or root bundle.
/// </summary>
/// <remarks>
/// Aliases are stable across rebuilds and independent of order: "source-{kind}-{name}-{first 12
/// hex of SHA-256}" for configMap and secret sources (the object's name), "source-inline-{hash}"
/// and "source-defaultcas-{hash}" for the others (12 hex digits, not the 8 of CA aliases: a
/// defaultCAs bundle holds ~150 roots). A certificate reached twice (two sources, or one bundle
/// listing it twice) appears once, under the alias of its first appearance in spec order.
/// </remarks>
public static class TrustSourceResolution
{
    private const string CertificateLabel = "CERTIFICATE";
    private const int HashDigits = 12;
    private const int MaxNameInAlias = 40;

    /// <summary>
    /// At most this many characters of PEM one source may hold (512 KiB), checked before it is
    /// parsed: a Secret or ConfigMap can hold 1 MiB, and every rebuild parses every source.
    /// </summary>
    public const int MaxSourceChars = 512 * 1024;

    /// <summary>At most this many certificates one source may bring (a defaultCAs bundle holds ~150).</summary>
    public const int MaxCertificatesPerSource = 300;

    /// <summary>At most this many certificates all the sources of one truststore may bring together.</summary>
    public const int MaxCertificates = 400;

    /// <summary>
    /// At most this many characters of certificate PEM all the sources may bring together
    /// (512 KiB): the store holds them twice (ca.crt and the keystore file), and a Secret over
    /// 1 MiB can never be written.
    /// </summary>
    public const int MaxTotalChars = 512 * 1024;

    /// <summary>What one source points at, for messages: "source #2 (configMap partner-ca, key ca.pem)".</summary>
    public static string Describe(int index, TrustSourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var what = source.Kind switch
        {
            TrustSourceKinds.ConfigMap or TrustSourceKinds.Secret => $"{source.Kind} {source.Name}, key {source.Key}",
            TrustSourceKinds.Inline => "inline",
            TrustSourceKinds.DefaultCAs => "defaultCAs",
            _ => "no single kind",
        };
        return $"source #{index + 1} ({what})";
    }

    /// <summary>The entries of every source, in spec order, or the problem of the first invalid one.</summary>
    public static (IReadOnlyList<SourceEntry> Entries, Problem? Problem) Resolve(string truststoreNamespace, IReadOnlyList<(TrustSourceSpec Source, TrustSourceContent Content)> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var entries = new List<SourceEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var total = 0;
        for (var index = 0; index < sources.Count; index++)
        {
            var (source, content) = sources[index];
            var what = Describe(index, source);
            if (Unreadable(truststoreNamespace, source, content) is { } why)
            {
                return ([], new Problem(Reasons.SourceInvalid, $"Trust {what}: {why}. The truststore keeps its last contents until the source is fixed."));
            }

            if (content.Pem!.Length > MaxSourceChars)
            {
                return ([], TooLarge(what, $"it holds {content.Pem.Length} characters, more than the {MaxSourceChars} one source may hold"));
            }

            var (blocks, error) = Certificates(content.Pem);
            if (error is not null)
            {
                return ([], new Problem(Reasons.SourceInvalid, $"Trust {what}: {error}. The truststore keeps its last contents until the source is fixed."));
            }

            if (blocks.Count > MaxCertificatesPerSource)
            {
                return ([], TooLarge(what, $"it holds {blocks.Count} certificates, more than the {MaxCertificatesPerSource} one source may bring"));
            }

            foreach (var der in blocks)
            {
                var hash = Convert.ToHexString(SHA256.HashData(der));
                if (seen.Add(hash))
                {
                    var pem = new string(PemEncoding.Write(CertificateLabel, der)) + "\n";
                    total += pem.Length;
                    entries.Add(new SourceEntry(Alias(source, hash), pem, hash));
                }
            }

            if (entries.Count > MaxCertificates || total > MaxTotalChars)
            {
                return ([], TooLarge(what, $"with it the sources bring {entries.Count} certificates ({total} characters of PEM), more than the {MaxCertificates} certificates or {MaxTotalChars} characters a truststore's sources may bring together"));
            }
        }

        return (entries, null);
    }

    private static Problem TooLarge(string what, string why) =>
        new(Reasons.SourceInvalid, $"Trust {what} is too large: {why}. Trust fewer certificates (e.g. only the CAs the clients need); the truststore keeps its last contents until the source is fixed.");

    /// <summary>
    /// The store's entries followed by the sources' (in alias order), leaving out a source
    /// certificate the store already holds (a source listing a CA that Issuers mode adds anyway).
    /// </summary>
    public static IReadOnlyList<TrustedEntry> Append(IReadOnlyList<TrustedEntry> entries, IReadOnlyDictionary<string, string> fromSources)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(fromSources);
        if (fromSources.Count == 0)
        {
            return entries;
        }

        var held = entries.Select(e => Fingerprint(e.CertificatePem)).ToHashSet(StringComparer.Ordinal);
        var aliases = entries.Select(e => e.Alias).ToHashSet(StringComparer.Ordinal);
        return [.. entries, .. fromSources
            .OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Where(pair => !aliases.Contains(pair.Key) && held.Add(Fingerprint(pair.Value)))
            .Select(pair => new TrustedEntry(pair.Key, pair.Value))];
    }

    /// <summary>
    /// The source entries that are certificates a quarantine holds out of this store: a source
    /// holding the very certificate of a quarantined peer (say, a ConfigMap filled from another
    /// store's ca.crt) must not put it back. <paramref name="quarantined"/> maps each quarantined
    /// certificate ("namespace/name") to its PEMs (current and still-trusted ones); the answer maps
    /// each withheld alias to the certificate whose quarantine withholds it.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Withheld(IReadOnlyDictionary<string, string> fromSources, IReadOnlyDictionary<string, IReadOnlyList<string>> quarantined)
    {
        ArgumentNullException.ThrowIfNull(fromSources);
        ArgumentNullException.ThrowIfNull(quarantined);
        var withheld = new Dictionary<string, string>(StringComparer.Ordinal);
        if (fromSources.Count == 0 || quarantined.Count == 0)
        {
            return withheld;
        }

        var holders = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (certificate, pems) in quarantined.OrderBy(q => q.Key, StringComparer.Ordinal))
        {
            foreach (var pem in pems)
            {
                holders.TryAdd(Fingerprint(pem), certificate);
            }
        }

        foreach (var (alias, pem) in fromSources)
        {
            if (holders.TryGetValue(Fingerprint(pem), out var certificate))
            {
                withheld[alias] = certificate;
            }
        }

        return withheld;
    }

    /// <summary>
    /// The store's build key (<c>StoreBuild.Key</c>): the trust mode alone without sources (as
    /// stores built before sources existed have it), else the mode and a digest of the source
    /// aliases (which carry each certificate's hash), so a changed source rebuilds the store.
    /// </summary>
    public static string BuildKey(string mode, IReadOnlyDictionary<string, string> fromSources)
    {
        ArgumentNullException.ThrowIfNull(fromSources);
        if (fromSources.Count == 0)
        {
            return mode;
        }

        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', fromSources.Keys.Order(StringComparer.Ordinal))));
        return $"{mode}+sources:{Convert.ToHexStringLower(digest)[..16]}";
    }

    private static string Fingerprint(string pem)
    {
        using var certificate = X509Certificate2.CreateFromPem(pem);
        return Convert.ToHexString(SHA256.HashData(certificate.RawData));
    }

    /// <summary>The alias of a certificate of <paramref name="source"/> whose DER has SHA-256 <paramref name="fingerprint"/> (hex).</summary>
    public static string Alias(TrustSourceSpec source, string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(fingerprint);
        var hash = fingerprint[..HashDigits].ToLowerInvariant();
        return source.Kind switch
        {
            TrustSourceKinds.ConfigMap or TrustSourceKinds.Secret => $"source-{source.Kind.ToLowerInvariant()}-{Sanitize(source.Name ?? string.Empty)}-{hash}",
            _ => $"source-{source.Kind.ToLowerInvariant()}-{hash}",
        };
    }

    private static string? Unreadable(string @namespace, TrustSourceSpec source, TrustSourceContent content) =>
        (source.Kind, content.Outcome) switch
        {
            (not (TrustSourceKinds.ConfigMap or TrustSourceKinds.Secret or TrustSourceKinds.Inline or TrustSourceKinds.DefaultCAs), _) => "it must set exactly one of configMap, secret, inline or defaultCAs: true",
            (TrustSourceKinds.ConfigMap, TrustSourceReadOutcome.ObjectMissing) => $"ConfigMap {@namespace}/{source.Name} does not exist (a source is read in the Truststore's own namespace only)",
            (TrustSourceKinds.Secret, TrustSourceReadOutcome.ObjectMissing) => $"Secret {@namespace}/{source.Name} does not exist (a source is read in the Truststore's own namespace only)",
            (TrustSourceKinds.DefaultCAs, TrustSourceReadOutcome.ObjectMissing) => "the machine's root bundle is missing from Notary's image (Notary:TrustSources:DefaultCAsPath)",
            (TrustSourceKinds.ConfigMap, TrustSourceReadOutcome.KeyMissing) => $"ConfigMap {@namespace}/{source.Name} has no key {source.Key}",
            (TrustSourceKinds.Secret, TrustSourceReadOutcome.KeyMissing) => $"Secret {@namespace}/{source.Name} has no key {source.Key}",
            (_, TrustSourceReadOutcome.Found) when content.Pem is null => "nothing was read",
            (_, TrustSourceReadOutcome.Found) => null,
            _ => $"it cannot be read ({content.Outcome})",
        };

    /// <summary>Every CERTIFICATE block, each a parseable X.509 certificate; at least one.</summary>
    private static (List<byte[]> Blocks, string? Error) Certificates(string pem)
    {
        var blocks = new List<byte[]>();
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual(CertificateLabel))
            {
                var der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out _))
                {
                    return ([], $"its CERTIFICATE block #{blocks.Count + 1} is not valid base64");
                }

                try
                {
                    using var certificate = X509CertificateLoader.LoadCertificate(der);
                }
                catch (CryptographicException)
                {
                    return ([], $"its CERTIFICATE block #{blocks.Count + 1} is not a parseable X.509 certificate");
                }

                blocks.Add(der);
            }

            rest = rest[fields.Location.End..];
        }

        return blocks.Count == 0 ? ([], "it holds no PEM CERTIFICATE block") : (blocks, null);
    }

    /// <summary>Lowercase; every run of characters outside [a-z0-9] becomes one '-'; trimmed; at most 40 characters.</summary>
    private static string Sanitize(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (var c in name.ToLowerInvariant())
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
        return result.Length <= MaxNameInAlias ? result : result[..MaxNameInAlias].TrimEnd('-');
    }
}
