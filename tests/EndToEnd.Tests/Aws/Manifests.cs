using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace Notary.EndToEnd.Tests.Aws;

/// <summary>The manifests and status readings the AWS end-to-end tests share.</summary>
internal static class Manifests
{
    public const string KeystorePassword = "orders-ks-secret";
    public const string TruststorePassword = "orders-ts-secret";

    /// <summary>A namespace name of its own per test: moto and the clusters are shared.</summary>
    public static string UniqueNamespace(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    public static string MetadataSecret(string ns) => $$"""
        apiVersion: v1
        kind: Secret
        metadata: {name: notary-metadata, namespace: {{ns}}}
        type: Opaque
        stringData:
          metadata.json: '{"tlsStoreRootPath":"/etc/tls","tlsKeyStoreName":"keystore.p12","tlsTrustStoreName":"truststore.jks","tlsKeyStorePassword":"{{KeystorePassword}}","tlsTrustStorePassword":"{{TruststorePassword}}"}'
        """;

    public static string Certificate(string ns, string name, string fqdn, string type = "Private", string algorithm = "ECDSA", int size = 256) => $$"""
        apiVersion: notary.dev/v1alpha1
        kind: Certificate
        metadata: {name: {{name}}, namespace: {{ns}}}
        spec:
          type: {{type}}
          fqdn: {{fqdn}}
          privateKey: {algorithm: {{algorithm}}, size: {{size}}}
        """;

    public static string Keystore(string ns, string name, string fqdn, string certName, string format = "PKCS12") => $$"""
        apiVersion: notary.dev/v1alpha1
        kind: Keystore
        metadata: {name: {{name}}, namespace: {{ns}}}
        spec: {fqdn: {{fqdn}}, certName: {{certName}}, format: {{format}}}
        """;

    public static string Truststore(string ns, string name, string fqdn, string certName, string upstreamTag, string upstreamFqdn, string format = "JKS", string trust = "Pinned") => $$"""
        apiVersion: notary.dev/v1alpha1
        kind: Truststore
        metadata: {name: {{name}}, namespace: {{ns}}}
        spec:
          fqdn: {{fqdn}}
          certName: {{certName}}
          format: {{format}}
          trust: {{trust}}
          upstream: [{tag: {{upstreamTag}}, fqdn: {{upstreamFqdn}}, namespace: {{ns}}}]
          downstream: []
        """;

    /// <summary>Every document joined into one file for one kubectl apply.</summary>
    public static string All(params string[] documents) => string.Join("\n---\n", documents);

    /// <summary>The resource's status as kubectl prints it.</summary>
    public static JsonElement Status(string kubectlJson)
    {
        using var document = JsonDocument.Parse(kubectlJson);
        return document.RootElement.GetProperty("status").Clone();
    }

    /// <summary>The Ready condition's reason and message in a status.</summary>
    public static (string Status, string Reason, string Message) Ready(JsonElement status)
    {
        var ready = status.GetProperty("conditions").EnumerateArray().First(c => c.GetProperty("type").GetString() == "Ready");
        return (ready.GetProperty("status").GetString()!, ready.GetProperty("reason").GetString()!, ready.GetProperty("message").GetString()!);
    }

    /// <summary>
    /// A serial number as a number, whatever the spelling: colon-separated hex (real ACM's
    /// DescribeCertificate), plain hex (Notary's status, from the certificate itself), or decimal
    /// (moto's DescribeCertificate).
    /// </summary>
    public static BigInteger Serial(string serial, bool hex) => hex
        ? BigInteger.Parse("0" + serial.Replace(":", "", StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
        : serial.Contains(':', StringComparison.Ordinal) ? Serial(serial, hex: true) : BigInteger.Parse(serial, CultureInfo.InvariantCulture);
}
