using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Grains.Policies;

/// <summary>
/// Builds the files of a keystore or truststore Secret: the store
/// file under the name the service expects, plus PEM companions. Pure apart from the random
/// salts of the encryption.
/// </summary>
public static class StoreBuilder
{
    public const string TlsCrt = "tls.crt";
    public const string TlsKey = "tls.key";
    public const string CaCrt = "ca.crt";

    /// <summary>Parses spec.format ("PKCS12" by default, or "JKS").</summary>
    public static (StoreFormat Format, Problem? Problem) ParseFormat(string? format) => (format ?? "PKCS12").ToUpperInvariant() switch
    {
        "PKCS12" => (StoreFormat.Pkcs12, null),
        "JKS" => (StoreFormat.Jks, null),
        _ => (StoreFormat.Pkcs12, new Problem(Reasons.InvalidSpec, $"spec.format \"{format}\" is not supported: use \"PKCS12\" or \"JKS\".")),
    };

    /// <remarks>
    /// <para><c>issuerCas</c>: CAs its issuer's CA rotation has the service trust beside the chain (<see cref="CertificateSnapshot.IssuerCas"/>): added to <c>ca.crt</c>.</para>
    /// </remarks>
    public static StoreWrite Keystore(ResourceKey resource, string fqdn, StoreFormat format, ServiceMetadata metadata, string alias, IssuedMaterial material, IReadOnlyList<string>? issuerCas = null)
    {
        var certificate = ToPki(material);
        var fileName = metadata.TlsKeyStoreName ?? StoreEncoder.DefaultFileName(format, keystore: true);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [fileName] = StoreEncoder.BuildKeystore(format, alias, certificate, metadata.TlsKeyStorePassword),
            [TlsCrt] = Utf8(PemEncoder.TlsCrt(certificate)),
            [TlsKey] = Utf8(PemEncoder.TlsKey(certificate)),
            [CaCrt] = Utf8(PemEncoder.Bundle(issuerCas is { Count: > 0 } ? CaFingerprints.Bundle(material.ChainPem, issuerCas) : material.ChainPem)),
        };
        return new StoreWrite(resource, ResourceKind.Keystore, fqdn, fileName, files);
    }

    public static (StoreWrite Write, IReadOnlyList<string> Aliases) Truststore(
        ResourceKey resource, string fqdn, StoreFormat format, ServiceMetadata metadata, IReadOnlyList<TrustedEntry> entries)
    {
        var fileName = metadata.TlsTrustStoreName ?? StoreEncoder.DefaultFileName(format, keystore: false);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [fileName] = StoreEncoder.BuildTruststore(format, entries, metadata.TlsTrustStorePassword),
            [CaCrt] = Utf8(PemEncoder.Bundle(entries.Select(e => e.CertificatePem))),
        };
        return (new StoreWrite(resource, ResourceKind.Truststore, fqdn, fileName, files), entries.Select(e => e.Alias).ToList());
    }

    public static IssuedCertificate ToPki(IssuedMaterial material) =>
        new(material.CertificatePem, material.ChainPem, material.PrivateKeyPem, material.SerialNumber, material.NotBefore, material.NotAfter);

    private static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);
}
