using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using static Notary.EndToEnd.Tests.RealBreachFixture;

namespace Notary.EndToEnd.Tests.Cli;

/// <summary>status, inspect and policy check against dev mode, with real certificates, stores and quarantines.</summary>
public sealed partial class KubectlNotaryTests
{
    private async Task ReadyAsync(string ns) =>
        await fx.OkAsync("wait", "--for=condition=Ready", "certificates,keystores,truststores", "--all", "-n", ns, "--timeout=60s");

    private static string Suffix() => Guid.NewGuid().ToString("N")[..5];

    [Fact]
    public async Task Status_certificate_shows_ready_serial_validity_issuer_its_keystores_the_truststores_trusting_it_and_events()
    {
        var ns = await fx.NamespaceAsync("st");
        var other = await fx.NamespaceAsync("st-web");
        await fx.ApplyAsync(Metadata(ns) + Metadata(other) + Certificate(ns, "pay") + Certificate(ns, "orders") + Certificate(other, "web")
            + Keystore(ns, "pay-ks", "pay")
            + Truststore(ns, "orders-ts", "orders", upstream: [(ns, "pay")], downstream: [])
            + Truststore(other, "web-ts", "web", upstream: [(ns, "pay")], downstream: [])
            + Truststore(ns, "unrelated-ts", "orders", upstream: [], downstream: []));
        await ReadyAsync(ns);
        await ReadyAsync(other);
        var serial = await fx.OkAsync("get", "certificate", "pay", "-n", ns, "-o", "jsonpath={.status.serialNumber}");

        var result = await NotaryAsync("status", "certificate", "pay", "-n", ns);

        Assert.True(result.ExitCode == 0, result.ToString());
        var text = result.StdOut.ReplaceLineEndings("\n");
        Assert.Contains($"Certificate {ns}/pay\n", text, StringComparison.Ordinal);
        Assert.Contains("  Ready:         True (Issued)", text, StringComparison.Ordinal);
        Assert.Contains($"  Serial:        {serial}", text, StringComparison.Ordinal);
        Assert.Contains("  Issuer:        (the configured default)", text, StringComparison.Ordinal);
        Assert.Matches(@"  Not after:     20\d\d-\d\d-\d\dT", text);
        Assert.Matches(@"  Renewal time:  20\d\d-\d\d-\d\dT", text);
        Assert.Contains($"Keystores holding it (1):\n  {ns}/pay-ks  Ready: True", text, StringComparison.Ordinal);
        Assert.Contains("Truststores trusting it (2):", text, StringComparison.Ordinal);
        Assert.Contains($"  {ns}/orders-ts  Ready: True", text, StringComparison.Ordinal);
        Assert.Contains($"  {other}/web-ts  Ready: True", text, StringComparison.Ordinal);
        Assert.DoesNotContain("unrelated-ts", text, StringComparison.Ordinal);
        Assert.Matches(@"Events \([1-9]\d*\):\n  .*Normal", text);

        // The same through -o json and -o yaml; -n from the kubeconfig's context when not given.
        var json = await NotaryAsync("status", "certificate", "pay", "-n", ns, "-o", "json");
        Assert.True(json.ExitCode == 0, json.ToString());
        using var document = JsonDocument.Parse(json.StdOut);
        Assert.Equal(serial, document.RootElement.GetProperty("serialNumber").GetString());
        Assert.Equal("True", document.RootElement.GetProperty("ready").GetProperty("status").GetString());
        Assert.Equal(["pay-ks"], document.RootElement.GetProperty("keystores").EnumerateArray().Select(k => k.GetProperty("name").GetString()));
        Assert.Equal([$"{ns}/orders-ts", $"{other}/web-ts"], document.RootElement.GetProperty("truststores").EnumerateArray().Select(t => $"{t.GetProperty("namespace").GetString()}/{t.GetProperty("name").GetString()}"));
        var yaml = await NotaryAsync("status", "cert", "pay", "--namespace", ns, "-o", "yaml");
        Assert.True(yaml.ExitCode == 0, yaml.ToString());
        Assert.Contains($"serialNumber: \"{serial}\"", yaml.StdOut, StringComparison.Ordinal);
        var parsed = new YamlDotNet.Serialization.Deserializer().Deserialize<Dictionary<string, object>>(yaml.StdOut);
        Assert.Equal(serial, parsed["serialNumber"]);
    }

    [Fact]
    public async Task Status_truststore_shows_what_it_trusts_from_where_its_mode_sources_and_the_quarantined_certificate_left_out()
    {
        var ns = await fx.NamespaceAsync("sts");
        var peerNs = await fx.NamespaceAsync("sts-peer");
        var peer = "peer" + Suffix();
        await fx.ApplyAsync(Metadata(ns) + Metadata(peerNs) + Certificate(ns, "api") + Certificate(ns, "db") + Certificate(peerNs, peer) + $"""
            apiVersion: notary.dev/v1alpha1
            kind: Truststore
            metadata:
              name: api-ts
              namespace: {ns}
            spec:
              fqdn: {Fqdn(ns, "api")}
              certName: api
              trust: Issuers
              upstream:
                - tag: db
                  fqdn: {Fqdn(ns, "db")}
                  namespace: {ns}
              downstream:
                - tag: {peer}
                  fqdn: {Fqdn(peerNs, peer)}
              sources:
                - defaultCAs: true
            ---
            apiVersion: notary.dev/v1alpha1
            kind: Breach
            metadata:
              name: db-quarantine
              namespace: {ns}
            spec:
              certificate: db
              mode: quarantine
              reason: leaked
            """);
        await ReadyAsync(peerNs);
        await fx.OkAsync("wait", "--for=condition=Ready", "truststore/api-ts", "-n", ns, "--timeout=60s");

        var result = await NotaryAsync("status", "truststore", "api-ts", "-n", ns);

        Assert.True(result.ExitCode == 0, result.ToString());
        var text = result.StdOut.ReplaceLineEndings("\n");
        Assert.Contains("  Mode:      Issuers", text, StringComparison.Ordinal);
        Assert.Contains("Trusts (3 certificates):", text, StringComparison.Ordinal);
        Assert.Contains($"  self       {ns}/api  fqdn {Fqdn(ns, "api")}\n", text, StringComparison.Ordinal);
        Assert.Contains($"  upstream   {ns}/db  fqdn {Fqdn(ns, "db")}  LEFT OUT: quarantined by breach db-quarantine", text, StringComparison.Ordinal);
        // No namespace in the spec: the one it was bound to, from status.references.
        Assert.Contains($"  downstream {peerNs}/{peer} (bound)  fqdn {Fqdn(peerNs, peer)}\n", text, StringComparison.Ordinal);
        Assert.Contains("Sources (1):\n  defaultCAs", text, StringComparison.Ordinal);

        var json = await NotaryAsync("status", "ts", "api-ts", "-n", ns, "-o", "json");
        using var document = JsonDocument.Parse(json.StdOut);
        var db = document.RootElement.GetProperty("trusts").EnumerateArray().Single(t => t.GetProperty("certificate").GetString() == "db");
        Assert.Equal(["db-quarantine"], db.GetProperty("leftOutBy").EnumerateArray().Select(b => b.GetString()));
        Assert.Equal("Issuers", document.RootElement.GetProperty("mode").GetString());
    }

    [Fact]
    public async Task Inspect_secret_decodes_PKCS12_and_JKS_stores_with_the_metadata_password_and_never_prints_a_key_or_a_password()
    {
        var ns = await fx.NamespaceAsync("insp");
        await fx.ApplyAsync(Metadata(ns) + Certificate(ns, "pay") + Certificate(ns, "orders")
            + Keystore(ns, "pay-ks", "pay")
            + $"""
              apiVersion: notary.dev/v1alpha1
              kind: Keystore
              metadata:
                name: pay-jks
                namespace: {ns}
              spec:
                fqdn: {Fqdn(ns, "pay")}
                certName: pay
                format: JKS
              ---

              """
            + Truststore(ns, "orders-ts", "orders", upstream: [(ns, "pay")], downstream: []));
        await ReadyAsync(ns);
        var data = await fx.SecretDataAsync(ns, "pay-ks");
        using var leaf = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(data["tls.crt"]));
        var fingerprint = string.Join(':', Convert.ToHexString(leaf.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c)));
        var keyPem = Encoding.UTF8.GetString(data["tls.key"]);
        var keyBody = keyPem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)).ToList();
        var pkcs8 = Convert.ToBase64String(Convert.FromBase64String(string.Concat(keyBody)));

        var keystore = await NotaryAsync("inspect", "secret", "pay-ks", "-n", ns);
        var jks = await NotaryAsync("inspect", "secret", "pay-jks", "-n", ns);
        var truststore = await NotaryAsync("inspect", "secret", "orders-ts", "-n", ns, "-o", "json");

        Assert.True(keystore.ExitCode == 0, keystore.ToString());
        var text = keystore.StdOut.ReplaceLineEndings("\n");
        Assert.Contains("keystore.p12: PKCS12, 1 entry\n  pay  PrivateKeyEntry (a private key, not shown; chain of 2)", text, StringComparison.Ordinal);
        Assert.Contains($"    SANs:     {Fqdn(ns, "pay")}", text, StringComparison.Ordinal);
        Assert.Contains($"    SHA-256:  {fingerprint}", text, StringComparison.Ordinal);
        Assert.Contains("tls.key: PEM private key (not shown)", text, StringComparison.Ordinal);
        Assert.True(jks.ExitCode == 0, jks.ToString());
        Assert.Contains("keystore.p12: JKS, 1 entry\n  pay  PrivateKeyEntry (a private key, not shown; chain of 2)", jks.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains($"    SHA-256:  {fingerprint}", jks.StdOut, StringComparison.Ordinal);
        Assert.True(truststore.ExitCode == 0, truststore.ToString());
        using var document = JsonDocument.Parse(truststore.StdOut);
        var store = document.RootElement.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("key").GetString() == "truststore.p12");
        var entries = store.GetProperty("entries").EnumerateArray().ToList();
        Assert.All(entries, e => Assert.Equal("trustedCertEntry", e.GetProperty("kind").GetString()));
        Assert.Contains(entries, e => e.GetProperty("sha256").GetString() == fingerprint);

        // Never a password, never a key, whatever the format.
        foreach (var output in new[] { keystore.Output, jks.Output, truststore.Output })
        {
            Assert.DoesNotContain(KeystorePassword(ns), output, StringComparison.Ordinal);
            Assert.DoesNotContain(TruststorePassword(ns), output, StringComparison.Ordinal);
            Assert.DoesNotContain("BEGIN PRIVATE KEY", output, StringComparison.Ordinal);
            Assert.DoesNotContain("BEGIN EC PRIVATE KEY", output, StringComparison.Ordinal);
            Assert.All(keyBody, line => Assert.DoesNotContain(line, output, StringComparison.Ordinal));
            Assert.DoesNotContain(pkcs8[..40], output, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(data["keystore.p12"])[..40], output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Inspect_secret_of_a_store_the_metadata_password_does_not_open_says_so_and_exits_1()
    {
        var ns = await fx.NamespaceAsync("insp-bad");
        await fx.ApplyAsync(Metadata(ns));
        var wrong = "wrong-" + Suffix();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var self = new CertificateRequest("CN=elsewhere", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        var file = fx.Write($"elsewhere-{ns}.p12", self.Export(X509ContentType.Pkcs12, wrong));
        await fx.OkAsync("create", "secret", "generic", "elsewhere", "-n", ns, $"--from-file=store.p12={file}");

        var result = await NotaryAsync("inspect", "secret", "elsewhere", "-n", ns);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("store.p12: PKCS12: the password from the metadata Secret does not open it", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("does not open it", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(KeystorePassword(ns), result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Policy_check_gives_the_controllers_answer_allowed_exits_0_refused_exits_1_with_the_rule()
    {
        var ns = await fx.NamespaceAsync("pol");
        var label = "team-" + Suffix();
        await fx.OkAsync("label", "namespace", ns, $"notary-cli-test={label}");

        var own = await NotaryAsync("policy", "check", ns, $"api.{ns}.svc.cluster.local");
        var foreign = await NotaryAsync("policy", "check", ns, "api.kube-system.svc.cluster.local");
        var publicName = await NotaryAsync("policy", "check", ns, "www.example.com", "--type", "Public");

        Assert.True(own.ExitCode == 0, own.ToString());
        Assert.Contains($"allowed: api.{ns}.svc.cluster.local (Private) in namespace {ns}, by the default policy", own.StdOut, StringComparison.Ordinal);
        Assert.True(foreign.ExitCode == 1, foreign.ToString());
        Assert.Contains("refused by the default policy", foreign.StdErr, StringComparison.Ordinal);
        Assert.Single(foreign.StdErr.Trim().Split('\n'));
        Assert.True(publicName.ExitCode == 1, publicName.ToString());

        // The controller refuses the same name with the same words.
        await fx.ApplyAsync(Metadata(ns) + $"""
            apiVersion: notary.dev/v1alpha1
            kind: Certificate
            metadata:
              name: foreign
              namespace: {ns}
            spec:
              type: Private
              fqdn: api.kube-system.svc.cluster.local
            """);
        await fx.OkAsync("wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=PolicyDenied", "certificate/foreign", "-n", ns, "--timeout=60s");
        var controllerSays = await fx.OkAsync("get", "certificate", "foreign", "-n", ns, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].message}");
        Assert.Contains(controllerSays.Trim(), foreign.StdErr, StringComparison.Ordinal);

        // A CertificatePolicy selecting the namespace allows Public names under example.com.
        var policy = "cli-" + label;
        await fx.ApplyAsync($"""
            apiVersion: notary.dev/v1alpha1
            kind: CertificatePolicy
            metadata:
              name: {policy}
            spec:
              namespaceSelector:
                matchLabels:
                  notary-cli-test: {label}
              dnsNames: ["*.example.com"]
              types: [Public, Private]
            """);
        try
        {
            var allowed = await NotaryAsync("policy", "check", ns, "www.example.com", "--type", "Public");
            var stillRefused = await NotaryAsync("policy", "check", ns, "*.example.org", "--type", "Public");
            var otherNamespace = await NotaryAsync("policy", "check", "default", "www.example.com", "--type", "Public");

            Assert.True(allowed.ExitCode == 0, allowed.ToString());
            Assert.Contains($"by CertificatePolicy \"{policy}\"", allowed.StdOut, StringComparison.Ordinal);
            Assert.True(stillRefused.ExitCode == 1, stillRefused.ToString());
            Assert.Contains($"CertificatePolicy \"{policy}\"", stillRefused.StdErr, StringComparison.Ordinal);
            Assert.True(otherNamespace.ExitCode == 1, otherNamespace.ToString());
        }
        finally
        {
            await fx.OkAsync("delete", "certificatepolicy", policy);
        }
    }

    [Fact]
    public async Task Errors_exit_1_with_one_line_on_stderr_unknown_resource_no_permission_api_down()
    {
        var ns = await fx.NamespaceAsync("err");
        await fx.ApplyAsync(Metadata(ns) + Certificate(ns, "pay"));
        var nobody = await fx.KubeconfigAsAsync(ns, "nobody");
        var down = await fx.KubeconfigOfNothingAsync();

        var unknown = await NotaryAsync("status", "certificate", "nope", "-n", ns);
        var unknownSecret = await NotaryAsync("inspect", "secret", "nope", "-n", ns);
        var forbidden = await KubectlNotaryFixture.NotaryAsAsync(nobody, "status", "certificate", "pay", "-n", ns);
        var unreachable = await KubectlNotaryFixture.NotaryAsAsync(down, "status", "certificate", "pay", "-n", ns);
        var noConfig = await KubectlNotaryTool.RunAsync(Path.Combine(fx.Root, "missing-kubeconfig"), ["status", "certificate", "pay"]);
        output.WriteLine($"{unknown}\n{unknownSecret}\n{forbidden}\n{unreachable}\n{noConfig}");

        foreach (var result in new[] { unknown, unknownSecret, forbidden, unreachable, noConfig })
        {
            Assert.Equal(1, result.ExitCode);
            Assert.Single(result.StdErr.Trim().Split('\n'));
            Assert.Empty(result.StdOut);
        }

        Assert.Contains($"certificates.notary.dev \"nope\" not found", unknown.StdErr, StringComparison.Ordinal);
        Assert.Contains("secrets \"nope\" not found", unknownSecret.StdErr, StringComparison.Ordinal);
        Assert.Contains("Error from server (Forbidden)", forbidden.StdErr, StringComparison.Ordinal);
        Assert.Contains($"system:serviceaccount:{ns}:nobody", forbidden.StdErr, StringComparison.Ordinal);
        Assert.Contains("Unable to connect to the server", unreachable.StdErr, StringComparison.Ordinal);
        Assert.Contains("missing-kubeconfig", noConfig.StdErr, StringComparison.Ordinal);
    }
}
