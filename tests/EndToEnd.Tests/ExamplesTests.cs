using Notary.Pki.Tests.Support;

namespace Notary.EndToEnd.Tests;

/// <summary>The README walk-through, through real kubectl: everything Ready, the stores usable by Java, deletion cleaning up.</summary>
[Collection(DevCollection.Name)]
[Trait("Category", "Slow")]
public sealed class ExamplesTests(DevFixture fx)
{
    private static readonly string Examples = Path.Combine(AppContext.BaseDirectory, "examples");
    private static readonly string MutualTls = Path.Combine(AppContext.BaseDirectory, "java", "MutualTls.java");

    [Fact]
    public async Task The_examples_become_ready_their_stores_work_for_mutual_tls_and_deletion_cleans_up()
    {
        // The README's order: the payments team makes its intermediate (openssl) and stores it as
        // a Secret, then everything is applied.
        var teamCa = Path.Combine(Path.GetTempPath(), "notary-team-ca-" + Guid.NewGuid().ToString("N")[..8]);
        var made = await ToolRunner.RunAsync("bash", [Path.Combine(Examples, "team-ca.sh"), teamCa], environment: new Dictionary<string, string> { ["KUBECONFIG"] = fx.Kubeconfig });
        Assert.True(made.ExitCode == 0, made.ToString());
        await fx.OkAsync("apply", "-f", Examples);
        foreach (var ns in new[] { "frontend", "orders", "payments" })
        {
            await fx.OkAsync("wait", "--for=condition=Ready", "certificates,keystores,truststores", "--all", "-n", ns, "--timeout=90s");
        }

        // 06-team-issuer.yaml: the team's Issuer is Ready, and the ledger's keystore carries the
        // leaf, the team's intermediate and its root; openssl verifies the leaf against the
        // team's root (and not against the built-in CA's).
        Assert.Matches(@"team-ca\s+ca\s+True", await fx.OkAsync("get", "issuers", "-n", "payments"));
        var ledger = await fx.SecretDataAsync("payments", "ledger-keystore");
        var chain = System.Text.Encoding.ASCII.GetString(ledger["tls.crt"]);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Count(chain, "BEGIN CERTIFICATE"));
        var leaf = fx.Write("ledger-tls.crt", ledger["tls.crt"]);
        var verified = await ToolRunner.RunAsync("openssl", "verify", "-CAfile", Path.Combine(teamCa, "root.crt"), "-untrusted", Path.Combine(teamCa, "team.crt"), leaf);
        Assert.True(verified.ExitCode == 0 && verified.StdOut.Contains(": OK", StringComparison.Ordinal), verified.ToString());
        var builtinRoot = fx.Write("builtin-ca.crt", (await fx.SecretDataAsync("notary", "notary-ca"))["tls.crt"]);
        var foreign = await ToolRunner.RunAsync("openssl", "verify", "-CAfile", builtinRoot, leaf);
        Assert.NotEqual(0, foreign.ExitCode);

        // kubectl shows the printer columns and Ready=True for every resource.
        var certs = await fx.OkAsync("get", "cert", "-A");
        Assert.Matches(@"NAMESPACE\s+NAME\s+TYPE\s+FQDN\s+READY\s+EXPIRES\s+AGE", certs);
        Assert.Matches(@"orders\s+orders\s+Private\s+orders\.orders\.svc\.cluster\.local\s+True\s+20\d\d-\d\d-\d\dT", certs);
        var stores = await fx.OkAsync("get", "ks,ts", "-A");
        Assert.Equal(8, stores.Split('\n').Count(l => l.Contains("True", StringComparison.Ordinal) && l.Contains("k8s://", StringComparison.Ordinal)));
        Assert.Equal("k8s://payments/secrets/payments-keystore", await fx.OkAsync("get", "ks", "payments-keystore", "-n", "payments", "-o", "jsonpath={.status.location}"));
        var entries = await fx.OkAsync("get", "ts", "orders-truststore", "-n", "orders", "-o", "jsonpath={.status.entries}");
        Assert.Contains("payments.payments", entries, StringComparison.Ordinal);
        Assert.Contains("frontend.frontend", entries, StringComparison.Ordinal);

        // 05-trust-sources.yaml: the partner CA of the ConfigMap is an entry of orders-partners and in its ca.crt.
        var partnerEntries = await fx.OkAsync("get", "ts", "orders-partners", "-n", "orders", "-o", "jsonpath={.status.entries}");
        Assert.Contains("source-configmap-partner-ca-", partnerEntries, StringComparison.Ordinal);
        var partnerCa = await fx.OkAsync("get", "configmap", "partner-ca", "-n", "orders", "-o", "jsonpath={.data.ca\\.crt}");
        var caCrt = System.Text.Encoding.ASCII.GetString((await fx.SecretDataAsync("orders", "orders-partners"))["ca.crt"]);
        Assert.Contains(partnerCa.Trim(), caCrt, StringComparison.Ordinal);

        // The stores, taken from the Secrets, read with keytool under the metadata passwords.
        var files = new Dictionary<string, string>();
        foreach (var (ns, secret, key) in new[]
        {
            ("frontend", "frontend-keystore", "frontend-keystore.p12"), ("frontend", "frontend-truststore", "frontend-truststore.p12"),
            ("orders", "orders-keystore", "orders-keystore.p12"), ("orders", "orders-truststore", "orders-truststore.p12"),
            ("payments", "payments-keystore", "payments-keystore.jks"), ("payments", "payments-truststore", "payments-truststore.jks"),
        })
        {
            var data = await fx.SecretDataAsync(ns, secret);
            Assert.Contains(key, data.Keys);
            files[key] = fx.Write(key, data[key]);
        }

        // keytool and Java detect the format themselves, so check it by the bytes: JKS starts with
        // the magic FEEDFEED, PKCS12 with a DER SEQUENCE.
        foreach (var (file, path) in files)
        {
            var head = File.ReadAllBytes(path)[..4];
            if (file.EndsWith(".jks", StringComparison.Ordinal))
            {
                Assert.Equal([0xFE, 0xED, 0xFE, 0xED], head);
            }
            else
            {
                Assert.Equal(0x30, head[0]);
            }
        }

        var keystore = await ToolRunner.RunAsync("keytool", "-list", "-v", "-keystore", files["payments-keystore.jks"], "-storepass", "payments-ks-pass");
        Assert.True(keystore.ExitCode == 0, keystore.ToString());
        Assert.Contains("Alias name: payments", keystore.StdOut, StringComparison.Ordinal);
        Assert.Contains("Entry type: PrivateKeyEntry", keystore.StdOut, StringComparison.Ordinal);
        var truststore = await ToolRunner.RunAsync("keytool", "-list", "-keystore", files["orders-truststore.p12"], "-storepass", "orders-ts-pass");
        Assert.True(truststore.ExitCode == 0, truststore.ToString());
        // Pinned (the default): orders, payments, frontend, and no CA.
        Assert.Equal(3, truststore.StdOut.Split('\n').Count(l => l.Contains("trustedCertEntry", StringComparison.Ordinal)));

        // frontend calls orders (PKCS12 on both sides), orders calls payments (JKS server).
        await HandshakeAsync(
            server: (files["orders-keystore.p12"], "orders-ks-pass", files["orders-truststore.p12"], "orders-ts-pass"),
            client: (files["frontend-keystore.p12"], "frontend-ks-pass", files["frontend-truststore.p12"], "frontend-ts-pass"),
            "orders.orders.svc.cluster.local");
        await HandshakeAsync(
            server: (files["payments-keystore.jks"], "payments-ks-pass", files["payments-truststore.jks"], "payments-ts-pass"),
            client: (files["orders-keystore.p12"], "orders-ks-pass", files["orders-truststore.p12"], "orders-ts-pass"),
            "payments.payments.svc.cluster.local");

        // The walk-through's isolation: frontend cannot call payments directly. The client side
        // here trusts payments (it borrows orders' truststore), so what refuses is payments' own
        // pinned truststore, which lists only orders: the CA that signed frontend is in none.
        var refused = await ToolRunner.RunAsync("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", MutualTls, "JKS",
            files["payments-keystore.jks"], "payments-ks-pass", files["payments-truststore.jks"], "payments-ts-pass",
            files["frontend-keystore.p12"], "frontend-ks-pass", files["orders-truststore.p12"], "orders-ts-pass",
            "payments.payments.svc.cluster.local");
        Assert.True(refused.ExitCode != 0, refused.ToString());
        Assert.DoesNotContain("HANDSHAKE OK", refused.StdOut, StringComparison.Ordinal);
        Assert.Contains("SERVER FAILED", refused.StdOut + refused.StdErr, StringComparison.Ordinal);
        Assert.Contains("PKIX path", refused.StdOut + refused.StdErr, StringComparison.Ordinal);

        // Deleting a store waits on Notary's finalizer, which removes the stored Secret.
        await fx.OkAsync("delete", "ks", "orders-keystore", "-n", "orders", "--timeout=60s");
        var gone = await fx.KubectlAsync("get", "secret", "orders-keystore", "-n", "orders");
        Assert.NotEqual(0, gone.ExitCode);
        Assert.Contains("NotFound", gone.StdErr, StringComparison.Ordinal);
        await fx.OkAsync("delete", "-f", Path.Combine(Examples, "06-team-issuer.yaml"), "-f", Path.Combine(Examples, "05-trust-sources.yaml"), "-f", Path.Combine(Examples, "04-truststores.yaml"), "-f", Path.Combine(Examples, "03-keystores.yaml"), "-f", Path.Combine(Examples, "02-certificates.yaml"), "--ignore-not-found", "--timeout=90s");
        await fx.OkAsync("delete", "secret", "team-ca-keys", "-n", "payments");
        foreach (var ns in new[] { "frontend", "orders", "payments" })
        {
            // Only the metadata Secrets (the user's) remain.
            Assert.Equal(string.Empty, (await fx.OkAsync("get", "secrets", "-n", ns, "-l", "app.kubernetes.io/managed-by=notary", "-o", "name")).Trim());
            Assert.Equal("secret/notary-metadata", (await fx.OkAsync("get", "secrets", "-n", ns, "-o", "name")).Trim());
        }

        // The built-in CA's root stays where it is kept.
        Assert.Equal("secret/notary-ca", (await fx.OkAsync("get", "secret", "notary-ca", "-n", "notary", "-o", "name")).Trim());
    }

    private static async Task HandshakeAsync((string Ks, string KsPass, string Ts, string TsPass) server, (string Ks, string KsPass, string Ts, string TsPass) client, string serverFqdn)
    {
        // Java 17 reads both PKCS12 and JKS under either store type (keystore.type.compat).
        var result = await ToolRunner.RunAsync("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", MutualTls, "JKS",
            server.Ks, server.KsPass, server.Ts, server.TsPass, client.Ks, client.KsPass, client.Ts, client.TsPass, serverFqdn);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("HANDSHAKE OK", result.StdOut, StringComparison.Ordinal);
    }
}
