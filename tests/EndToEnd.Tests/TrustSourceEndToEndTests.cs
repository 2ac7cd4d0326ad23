using System.Security.Cryptography.X509Certificates;
using System.Text;
using Notary.Pki.Tests.Support;
using static Notary.EndToEnd.Tests.RealBreachFixture;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Issue 18 §2 in dev mode, through the watcher and DevCluster with real kubectl: a Truststore
/// whose ConfigMap source holds an openssl-made external CA, judged by real Java handshakes
/// against servers of that CA and of another one; the ConfigMap changed (the outcome flips),
/// deleted (SourceInvalid, last contents kept); a Secret source is read only from the
/// Truststore's own namespace.
/// </summary>
[Collection(RealBreachCollection.Name)]
[Trait("Category", "Slow")]
public sealed class TrustSourceEndToEndTests(RealBreachFixture fx)
{
    private static readonly string SourceHandshake = Path.Combine(AppContext.BaseDirectory, "java", "SourceHandshake.java");

    [Fact]
    public async Task A_ConfigMap_source_is_trusted_a_change_rebuilds_the_store_and_a_deletion_keeps_the_last_contents()
    {
        var ns = await fx.NamespaceAsync("src");
        var dir = Directory.CreateTempSubdirectory("notary-e2e-source-");
        try
        {
            var partnerCa = await ServerOfNewCaAsync(dir.FullName, "partner");
            var strangerCa = await ServerOfNewCaAsync(dir.FullName, "stranger");
            await fx.ApplyAsync(Metadata(ns) + Certificate(ns, "orders") + ConfigMap(ns, "partner-ca", partnerCa) + SourcedTruststore(ns, "orders-ts", "orders", """
                  - configMap:
                      name: partner-ca
                      key: ca.crt
                """));
            await fx.ReadyAsync(ns);

            // ca.crt holds the external CA; the store's entries name the source.
            Assert.Contains(Serial(partnerCa), await fx.PemSerialsAsync(ns, "orders-ts", "ca.crt"));
            Assert.Contains("source-configmap-partner-ca-", await fx.OkAsync("get", "ts", "orders-ts", "-n", ns, "-o", "jsonpath={.status.entries}"), StringComparison.Ordinal);
            var truststore = await TruststoreFileAsync(ns, dir.FullName, "one.p12");
            AssertAccepted(await HandshakeAsync(dir.FullName, "partner", truststore, ns), "partner");
            AssertRefused(await HandshakeAsync(dir.FullName, "stranger", truststore, ns));

            // The ConfigMap now holds the other CA: the watcher sees it change and the store is rebuilt.
            await fx.ApplyAsync(ConfigMap(ns, "partner-ca", strangerCa));
            var serials = await UntilAsync(() => fx.PemSerialsAsync(ns, "orders-ts", "ca.crt"), s => s.Contains(Serial(strangerCa)), "the changed ConfigMap's CA in ca.crt");
            Assert.DoesNotContain(Serial(partnerCa), serials);
            truststore = await TruststoreFileAsync(ns, dir.FullName, "two.p12");
            AssertAccepted(await HandshakeAsync(dir.FullName, "stranger", truststore, ns), "stranger");
            AssertRefused(await HandshakeAsync(dir.FullName, "partner", truststore, ns));

            // Deleted: Ready=False/SourceInvalid naming it, and the Secret keeps its last contents.
            var before = await fx.SecretDataAsync(ns, "orders-ts");
            await fx.OkAsync("delete", "configmap", "partner-ca", "-n", ns);
            var reason = await UntilAsync(() => fx.OkAsync("get", "ts", "orders-ts", "-n", ns, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}"), r => r == "SourceInvalid", "SourceInvalid after the ConfigMap's deletion");
            Assert.Equal("SourceInvalid", reason);
            var message = await fx.OkAsync("get", "ts", "orders-ts", "-n", ns, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].message}");
            Assert.Contains("partner-ca", message, StringComparison.Ordinal);
            Assert.Equal("False", await fx.OkAsync("get", "ts", "orders-ts", "-n", ns, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"));
            var after = await fx.SecretDataAsync(ns, "orders-ts");
            Assert.Equal(before["ca.crt"], after["ca.crt"]);
            Assert.Equal(before["truststore.p12"], after["truststore.p12"]);

            // Created again with the first CA: the fixed source rebuilds the store (no resync needed).
            await fx.ApplyAsync(ConfigMap(ns, "partner-ca", partnerCa));
            await fx.OkAsync("wait", "--for=condition=Ready", "ts/orders-ts", "-n", ns, "--timeout=30s");
            truststore = await TruststoreFileAsync(ns, dir.FullName, "three.p12");
            AssertAccepted(await HandshakeAsync(dir.FullName, "partner", truststore, ns), "partner");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_secret_source_is_read_only_in_the_truststores_namespace()
    {
        var ns = await fx.NamespaceAsync("srcns");
        var elsewhere = await fx.NamespaceAsync("srcother");
        var dir = Directory.CreateTempSubdirectory("notary-e2e-source-");
        try
        {
            var ca = await ServerOfNewCaAsync(dir.FullName, "partner");

            // A same-named Secret in another namespace: never read, so the source is missing.
            await fx.OkAsync("create", "secret", "generic", "db-ca", "-n", elsewhere, $"--from-file=ca.crt={Path.Combine(dir.FullName, "partner-ca.pem")}");
            await fx.ApplyAsync(Metadata(ns) + Certificate(ns, "orders") + SourcedTruststore(ns, "orders-ts", "orders", """
                  - secret:
                      name: db-ca
                      key: ca.crt
                """));
            var message = await UntilAsync(
                () => fx.OkAsync("get", "ts", "orders-ts", "-n", ns, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].message}"),
                m => m.Contains("db-ca", StringComparison.Ordinal),
                "SourceInvalid naming the Secret");
            Assert.Contains($"{ns}/db-ca", message, StringComparison.Ordinal);
            Assert.Equal("SourceInvalid", await fx.OkAsync("get", "ts", "orders-ts", "-n", ns, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}"));

            // The Secret created in the Truststore's own namespace: trusted (the watcher saw it appear).
            await fx.OkAsync("create", "secret", "generic", "db-ca", "-n", ns, $"--from-file=ca.crt={Path.Combine(dir.FullName, "partner-ca.pem")}");
            await fx.OkAsync("wait", "--for=condition=Ready", "ts/orders-ts", "-n", ns, "--timeout=30s");
            Assert.Contains(Serial(ca), await fx.PemSerialsAsync(ns, "orders-ts", "ca.crt"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string SourcedTruststore(string ns, string name, string certificate, string sources) => $"""
        apiVersion: notary.dev/v1alpha1
        kind: Truststore
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          fqdn: {Fqdn(ns, certificate)}
          certName: {certificate}
          upstream: []
          downstream: []
          sources:
        {sources.TrimEnd()}
        ---

        """;

    private static string ConfigMap(string ns, string name, string pem) => $"""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {name}
          namespace: {ns}
        data:
          ca.crt: |
        {string.Concat(pem.Trim().Split('\n').Select(l => $"    {l}\n"))}---

        """;

    private static string Serial(string pem) => X509Certificate2.CreateFromPem(pem).SerialNumber.ToUpperInvariant();

    private async Task<string> TruststoreFileAsync(string ns, string dir, string name)
    {
        var path = Path.Combine(dir, name);
        await File.WriteAllBytesAsync(path, (await fx.SecretDataAsync(ns, "orders-ts"))["truststore.p12"]);
        return path;
    }

    private static Task<ToolResult> HandshakeAsync(string dir, string server, string truststore, string ns) =>
        ToolRunner.RunAsync("java", ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", SourceHandshake, Path.Combine(dir, $"{server}.p12"), "changeit", truststore, TruststorePassword(ns)], workingDirectory: dir);

    private static void AssertAccepted(ToolResult result, string server) =>
        Assert.True(result.ExitCode == 0 && result.StdOut.Contains($"HANDSHAKE OK CN={server}.example", StringComparison.Ordinal), result.StdOut + result.StdErr);

    private static void AssertRefused(ToolResult result) =>
        Assert.True(result.ExitCode != 0 && result.StdOut.Contains("PKIX path building failed", StringComparison.Ordinal), result.StdOut + result.StdErr);

    /// <summary>With openssl: a CA "{name}-ca.pem" and a server PKCS12 "{name}.p12" (password changeit) for {name}.example signed by it; answers the CA's PEM.</summary>
    private static async Task<string> ServerOfNewCaAsync(string dir, string name)
    {
        await File.WriteAllTextAsync(Path.Combine(dir, $"{name}.ext"), $"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:{name}.example\n");
        await OkAsync(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", $"{name}-ca.key", "-out", $"{name}-ca.pem", "-subj", $"/CN={name} external root", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        await OkAsync(dir, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", $"{name}.key", "-out", $"{name}.csr", "-subj", $"/CN={name}.example");
        await OkAsync(dir, "openssl", "x509", "-req", "-in", $"{name}.csr", "-CA", $"{name}-ca.pem", "-CAkey", $"{name}-ca.key", "-CAcreateserial", "-out", $"{name}.pem", "-days", "30", "-extfile", $"{name}.ext");
        await OkAsync(dir, "openssl", "pkcs12", "-export", "-inkey", $"{name}.key", "-in", $"{name}.pem", "-certfile", $"{name}-ca.pem", "-out", $"{name}.p12", "-passout", "pass:changeit");
        return await File.ReadAllTextAsync(Path.Combine(dir, $"{name}-ca.pem"), Encoding.ASCII);
    }

    private static async Task OkAsync(string dir, string tool, params string[] arguments)
    {
        var run = await ToolRunner.RunAsync(tool, arguments, workingDirectory: dir);
        Assert.True(run.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: {run.StdOut}{run.StdErr}");
    }
}
