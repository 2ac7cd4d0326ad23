using System.Security.Cryptography;

namespace Notary.Grains.Policies;

/// <summary>
/// CA certificates compared by the SHA-256 of their DER (hex, upper case), as an issuer's status
/// and a CA rotation name them. Pure.
/// </summary>
public static class CaFingerprints
{
    private const string CertificateLabel = "CERTIFICATE";

    /// <summary>The fingerprints of every CERTIFICATE block of <paramref name="pem"/>, in order (none for text without one).</summary>
    public static IReadOnlyList<string> All(string? pem) => [.. Blocks(pem).Select(b => b.Fingerprint)];

    /// <summary>Every CERTIFICATE block of <paramref name="pem"/> with its fingerprint, in order.</summary>
    public static IReadOnlyList<(string Fingerprint, string Pem)> Blocks(string? pem)
    {
        var result = new List<(string, string)>();
        var text = (pem ?? string.Empty).AsSpan();
        while (PemEncoding.TryFind(text, out var fields))
        {
            if (text[fields.Label].SequenceEqual(CertificateLabel))
            {
                var der = new byte[fields.DecodedDataLength];
                if (Convert.TryFromBase64Chars(text[fields.Base64Data], der, out var written))
                {
                    result.Add((Convert.ToHexString(SHA256.HashData(der.AsSpan(0, written))), text[fields.Location].ToString() + "\n"));
                }
            }

            text = text[fields.Location.End..];
        }

        return result;
    }

    /// <summary>The fingerprint of the first certificate of <paramref name="pem"/> (the CA itself; its issuers may follow); null without one.</summary>
    public static string? Of(string? pem) => All(pem) is [var first, ..] ? first : null;

    /// <summary>Whether any certificate of <paramref name="chainPem"/> (each entry one or more PEM blocks) has one of <paramref name="fingerprints"/>.</summary>
    public static bool ChainHasAny(IEnumerable<string>? chainPem, IReadOnlyCollection<string> fingerprints) =>
        fingerprints.Count > 0 && (chainPem ?? []).SelectMany(All).Any(f => fingerprints.Contains(f, StringComparer.OrdinalIgnoreCase));

    /// <summary>The distinct fingerprints of the first certificate of each PEM text, in order (the rotation CAs a store holds).</summary>
    public static IReadOnlyList<string> Distinct(IEnumerable<string>? caPems) =>
        [.. (caPems ?? []).Select(Of).OfType<string>().Distinct(StringComparer.Ordinal)];

    /// <summary>
    /// The CA bundle of a keystore's <c>ca.crt</c>: the chain, then the rotation's CAs not already
    /// in it, each certificate once (by fingerprint).
    /// </summary>
    public static IReadOnlyList<string> Bundle(IEnumerable<string> chainPem, IEnumerable<string>? extraPems)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return [.. chainPem.Concat(extraPems ?? []).SelectMany(Blocks).Where(b => seen.Add(b.Fingerprint)).Select(b => b.Pem)];
    }
}
