using System.Globalization;
using System.Text.Json;
using Notary.Pki.Tests.Support;
using static Notary.EndToEnd.Tests.Aws.Manifests;

namespace Notary.EndToEnd.Tests.Aws;

/// <summary>
/// SPEC's whole flow on the AWS backends, through real kubectl: certificates from ACM (moto),
/// stores in Secrets Manager (moto) that keytool reads, validation records of a Public
/// certificate, a key ACM cannot issue, and deletion cleaning up in AWS.
/// </summary>
[Collection(AwsCollection.Name)]
[Trait("Category", "Slow")]
public sealed class AwsFlowTests(AwsFixture fx)
{
    private Task<string> ApplyAsync(string yaml) => fx.OkAsync("apply", "-f", fx.WriteText(Guid.NewGuid().ToString("N") + ".yaml", yaml));

    private async Task<JsonElement> StatusAsync(string kind, string ns, string name) =>
        Status(await fx.OkAsync("get", kind, name, "-n", ns, "-o", "json"));

    [Fact]
    public async Task Certificates_from_ACM_and_stores_in_Secrets_Manager_work_end_to_end_and_deletion_cleans_up_AWS()
    {
        var ns = UniqueNamespace("aws-flow");
        var orders = $"orders.{ns}.svc.cluster.local";
        var payments = $"payments.{ns}.svc.cluster.local";
        await fx.OkAsync("create", "namespace", ns);
        await ApplyAsync(All(
            MetadataSecret(ns),
            Certificate(ns, "orders", orders, algorithm: "RSA", size: 2048),
            Certificate(ns, "payments", payments),
            Keystore(ns, "orders-keystore", orders, "orders", "PKCS12"),
            Truststore(ns, "orders-truststore", orders, "orders", "payments", payments, "JKS", trust: "Issuers")));
        await fx.OkAsync("wait", "--for=condition=Ready", "certificates,keystores,truststores", "--all", "-n", ns, "--timeout=90s");

        // Each Certificate's status names its ACM certificate, and says what ACM says of it.
        var arns = new Dictionary<string, string>();
        var chains = new Dictionary<string, List<string>>();
        foreach (var (name, fqdn) in new[] { ("orders", orders), ("payments", payments) })
        {
            var status = await StatusAsync("cert", ns, name);
            var arn = status.GetProperty("arn").GetString()!;
            Assert.StartsWith("arn:aws:acm:us-west-2:", arn, StringComparison.Ordinal);
            arns[name] = arn;
            var detail = await fx.Acm.DescribeCertificateAsync(arn, CancellationToken.None);
            Assert.Equal("ISSUED", detail.Status);
            Assert.Equal("PRIVATE", detail.Type);
            Assert.Equal(fx.PrivateCaArn, detail.CertificateAuthorityArn);
            Assert.Equal(fqdn, detail.DomainName);
            Assert.Equal(Serial(detail.Serial!, hex: false), Serial(status.GetProperty("serialNumber").GetString()!, hex: true));
            var notAfter = DateTimeOffset.Parse(status.GetProperty("notAfter").GetString()!, CultureInfo.InvariantCulture);
            Assert.Equal(detail.NotAfter!.Value.ToUnixTimeSeconds(), notAfter.ToUnixTimeSeconds());
            Assert.Equal(1, status.GetProperty("revision").GetInt64());

            // What the stores must hold: the chain ACM exports with the certificate.
            var export = await fx.Acm.ExportCertificateAsync(arn, "end-to-end-passphrase"u8.ToArray(), CancellationToken.None);
            chains[name] = [.. CommonNames(export.CertificateChain!)];
            Assert.NotEmpty(chains[name]);
        }

        // Each store is the secret notary/{namespace}/{name}, whose ARN is the store's location.
        var files = new Dictionary<string, string>();
        foreach (var (kind, name, secretKind, fqdn) in new[] { ("ks", "orders-keystore", "Keystore", orders), ("ts", "orders-truststore", "Truststore", orders) })
        {
            var status = await StatusAsync(kind, ns, name);
            var secret = await fx.SecretsManager.DescribeSecretAsync($"notary/{ns}/{name}", CancellationToken.None);
            Assert.NotNull(secret);
            Assert.StartsWith($"arn:aws:secretsmanager:us-west-2:", secret.Arn, StringComparison.Ordinal);
            Assert.Equal(secret.Arn, status.GetProperty("location").GetString());
            Assert.Equal(secret.Arn, status.GetProperty("arn").GetString());
            Assert.Null(secret.DeletedDate);
            var tags = secret.Tags!.ToDictionary(t => t.Key, t => t.Value);
            Assert.Equal("notary", tags["app.kubernetes.io/managed-by"]);
            Assert.Equal(ns, tags["notary.dev/namespace"]);
            Assert.Equal(name, tags["notary.dev/name"]);
            Assert.Equal(secretKind, tags["notary.dev/kind"]);
            Assert.Equal(fqdn, tags["notary.dev/fqdn"]);

            var value = await fx.SecretsManager.GetSecretValueAsync(secret.Arn!, null, CancellationToken.None);
            Assert.NotNull(value.SecretBinary);
            files[name] = fx.Write($"{ns}-{name}", value.SecretBinary);
        }

        // PKCS12 starts with a DER SEQUENCE, JKS with the magic FEEDFEED.
        Assert.Equal(0x30, File.ReadAllBytes(files["orders-keystore"])[0]);
        Assert.Equal([0xFE, 0xED, 0xFE, 0xED], File.ReadAllBytes(files["orders-truststore"])[..4]);

        // The keystore: the private key under the certificate's name, with the leaf and ACM's chain.
        var keystore = await KeytoolListAsync(files["orders-keystore"], "PKCS12", KeystorePassword);
        Assert.True(keystore.ExitCode == 0, keystore.ToString());
        Assert.Contains("Your keystore contains 1 entry", keystore.StdOut, StringComparison.Ordinal);
        Assert.Contains("Alias name: orders", keystore.StdOut, StringComparison.Ordinal);
        Assert.Contains("Entry type: PrivateKeyEntry", keystore.StdOut, StringComparison.Ordinal);
        Assert.Contains($"Certificate chain length: {1 + chains["orders"].Count}", keystore.StdOut, StringComparison.Ordinal);
        Assert.Contains($"Owner: CN={orders}", keystore.StdOut, StringComparison.Ordinal);
        foreach (var ca in chains["orders"])
        {
            Assert.Contains($"CN={ca}", keystore.StdOut, StringComparison.Ordinal);
        }

        // The truststore (trust: Issuers, so that ACM's chain is in it): a trustedCertEntry for its
        // own certificate, the upstream one, and every distinct CA of their chains; the aliases
        // are those the status lists.
        var truststore = await KeytoolListAsync(files["orders-truststore"], "JKS", TruststorePassword);
        Assert.True(truststore.ExitCode == 0, truststore.ToString());
        var entries = (await StatusAsync("ts", ns, "orders-truststore")).GetProperty("entries").EnumerateArray().Select(e => e.GetString()!).ToList();
        var distinctCas = chains["orders"].Concat(chains["payments"]).Distinct(StringComparer.Ordinal).Count();
        Assert.Equal(2 + distinctCas, entries.Count);
        Assert.Equal(entries.Count, Count(truststore.StdOut, "Entry type: trustedCertEntry"));
        Assert.Equal(0, Count(truststore.StdOut, "PrivateKeyEntry"));
        foreach (var alias in entries)
        {
            Assert.Contains($"Alias name: {alias}\n", truststore.StdOut, StringComparison.Ordinal);
        }

        Assert.Contains($"Owner: CN={orders}", truststore.StdOut, StringComparison.Ordinal);
        Assert.Contains($"Owner: CN={payments}", truststore.StdOut, StringComparison.Ordinal);

        // A store deleted and created again within the recovery window gets its secret back.
        var keystoreArn = (await StatusAsync("ks", ns, "orders-keystore")).GetProperty("location").GetString();
        await fx.OkAsync("delete", "ks", "orders-keystore", "-n", ns, "--timeout=60s");
        Assert.NotNull((await fx.SecretsManager.DescribeSecretAsync($"notary/{ns}/orders-keystore", CancellationToken.None))!.DeletedDate);
        await ApplyAsync(Keystore(ns, "orders-keystore", orders, "orders", "PKCS12"));
        await fx.OkAsync("wait", "--for=condition=Ready", "ks/orders-keystore", "-n", ns, "--timeout=60s");
        Assert.Equal(keystoreArn, (await StatusAsync("ks", ns, "orders-keystore")).GetProperty("location").GetString());
        Assert.Null((await fx.SecretsManager.DescribeSecretAsync($"notary/{ns}/orders-keystore", CancellationToken.None))!.DeletedDate);

        // A spec change re-issues: a new ACM certificate with the new name, the old one retired
        // (deleted from ACM), and the keystore rewritten as a new version of the same secret.
        await fx.OkAsync("patch", "cert", "orders", "-n", ns, "--type", "merge", "-p", $$$"""{"spec":{"alt":["orders.{{{ns}}}"]}}""");
        await fx.OkAsync("wait", "--for=jsonpath={.status.revision}=2", "cert/orders", "-n", ns, "--timeout=60s");
        await fx.OkAsync("wait", "--for=jsonpath={.status.certificateRevision}=2", "ks/orders-keystore", "-n", ns, "--timeout=60s");
        var reissued = await StatusAsync("cert", ns, "orders");
        var newArn = reissued.GetProperty("arn").GetString()!;
        Assert.NotEqual(arns["orders"], newArn);
        Assert.Contains($"orders.{ns}", (await fx.Acm.DescribeCertificateAsync(newArn, CancellationToken.None)).SubjectAlternativeNames!);
        await EventuallyAsync(
            async () => !(await fx.Acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None)).Any(c => c.CertificateArn == arns["orders"]),
            $"the replaced certificate {arns["orders"]} is deleted from ACM");
        var rewritten = await fx.SecretsManager.GetSecretValueAsync($"notary/{ns}/orders-keystore", null, CancellationToken.None);
        var again = await KeytoolListAsync(fx.Write($"{ns}-orders-keystore-2", rewritten.SecretBinary!), "PKCS12", KeystorePassword);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains($"DNSName: orders.{ns}", again.StdOut.Split('\n').Select(l => l.Trim()));
        Assert.Contains($"Serial number: {reissued.GetProperty("serialNumber").GetString()!.TrimStart('0').ToLowerInvariant()}", again.StdOut, StringComparison.Ordinal);
        arns["orders-reissued"] = newArn;

        // Deleting everything waits on Notary's finalizers: the secrets are scheduled for deletion
        // (recoverable for the configured window) and the ACM certificates are deleted.
        await fx.OkAsync("delete", "truststores,keystores,certificates", "--all", "-n", ns, "--timeout=90s");
        Assert.Empty(await fx.OkAsync("get", "cert,ks,ts", "-n", ns, "-o", "name"));
        foreach (var name in new[] { "orders-keystore", "orders-truststore" })
        {
            var secret = await fx.SecretsManager.DescribeSecretAsync($"notary/{ns}/{name}", CancellationToken.None);
            Assert.NotNull(secret);
            Assert.NotNull(secret.DeletedDate);
        }

        var left = await fx.Acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None);
        Assert.DoesNotContain(left, c => arns.ContainsValue(c.CertificateArn!));
        Assert.DoesNotContain(left, c => c.DomainName == orders || c.DomainName == payments);
    }

    [Fact]
    public async Task A_Public_certificate_shows_its_validation_records_until_ACM_has_validated_it()
    {
        var ns = UniqueNamespace("aws-public");
        var fqdn = $"shop-{ns}.example.com";
        await fx.OkAsync("create", "namespace", ns);
        // The default name policy refuses Public certificates: a CertificatePolicy lets this namespace have them.
        await ApplyAsync($"apiVersion: notary.dev/v1alpha1\nkind: CertificatePolicy\nmetadata: {{name: public-{ns}}}\nspec:\n  namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}\n  types: [Public, Private]\n");
        await ApplyAsync(Certificate(ns, "shop", fqdn, type: "Public", algorithm: "RSA", size: 2048));

        // moto keeps the certificate in PENDING_VALIDATION for a few seconds.
        await fx.OkAsync("wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=PendingValidation", "cert/shop", "-n", ns, "--timeout=30s");

        // One read, so reason, message and records come from the same status.
        var snapshot = await fx.OkAsync("get", "cert", "shop", "-n", ns, "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}"
            + "{.status.conditions[?(@.type==\"Ready\")].reason}{\"\\n\"}"
            + "{.status.conditions[?(@.type==\"Ready\")].message}{\"\\n\"}"
            + "{range .status.validationRecords[*]}{.name}{\"\\t\"}{.type}{\"\\t\"}{.value}{\"\\n\"}{end}");
        var lines = snapshot.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 4, snapshot);
        Assert.Equal(("False", "PendingValidation"), (lines[0], lines[1]));
        var fields = lines[3].Split('\t');
        Assert.Equal(3, fields.Length);
        var (name, type, value) = (fields[0], fields[1], fields[2]);
        Assert.Contains($"{name} {type} {value}", lines[2], StringComparison.Ordinal);

        // The very record ACM asks for.
        var arn = Assert.Single(await fx.Acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None), c => c.DomainName == fqdn).CertificateArn!;
        var detail = await fx.Acm.DescribeCertificateAsync(arn, CancellationToken.None);
        Assert.Equal("AMAZON_ISSUED", detail.Type);
        Assert.Equal(Notary.Aws.AcmSetting.Enabled, detail.Options?.Export);
        var record = Assert.Single(detail.DomainValidationOptions!).ResourceRecord!;
        Assert.Equal((record.Name, record.Type, record.Value), (name, type, value));
        Assert.EndsWith($".{fqdn}.", name, StringComparison.Ordinal);
        Assert.Equal("CNAME", type);
        Assert.NotEmpty(value);

        // ACM validates it: Ready on its own, exported, without the records.
        await fx.OkAsync("wait", "--for=condition=Ready", "cert/shop", "-n", ns, "--timeout=60s");
        Assert.Empty(await fx.OkAsync("get", "cert", "shop", "-n", ns, "-o", "jsonpath={.status.validationRecords}"));
        var issued = await StatusAsync("cert", ns, "shop");
        Assert.Equal(arn, issued.GetProperty("arn").GetString());
        Assert.Equal("ISSUED", (await fx.Acm.DescribeCertificateAsync(arn, CancellationToken.None)).Status);

        await fx.OkAsync("delete", "cert", "shop", "-n", ns, "--timeout=60s");
        Assert.DoesNotContain(await fx.Acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None), c => c.CertificateArn == arn);
    }

    [Fact]
    public async Task A_key_ACM_cannot_issue_is_reported_with_what_ACM_supports_and_nothing_is_requested()
    {
        var ns = UniqueNamespace("aws-bad");
        var fqdn = $"big.{ns}.svc.cluster.local";
        await fx.OkAsync("create", "namespace", ns);
        await ApplyAsync(Certificate(ns, "big", fqdn, algorithm: "RSA", size: 4096));
        await fx.OkAsync("wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=UnsupportedKey", "cert/big", "-n", ns, "--timeout=60s");

        var (status, _, message) = Ready(await StatusAsync("cert", ns, "big"));
        Assert.Equal("False", status);
        Assert.Contains("RSA 2048, ECDSA 256 and ECDSA 384", message, StringComparison.Ordinal);
        Assert.Contains("RSA 4096", message, StringComparison.Ordinal);
        Assert.Contains("spec.privateKey", message, StringComparison.Ordinal);

        var uid = await fx.OkAsync("get", "cert", "big", "-n", ns, "-o", "jsonpath={.metadata.uid}");
        using var events = JsonDocument.Parse(await fx.OkAsync("get", "events", "-n", ns, "--field-selector", $"involvedObject.uid={uid}", "-o", "json"));
        Assert.Contains(events.RootElement.GetProperty("items").EnumerateArray(), e =>
            e.GetProperty("type").GetString() == "Warning"
            && e.GetProperty("reason").GetString() == "UnsupportedKey"
            && e.GetProperty("message").GetString()!.Contains("RSA 2048, ECDSA 256 and ECDSA 384", StringComparison.Ordinal));

        // Refused before anything was asked of ACM: no request, so nothing to retry or clean up.
        Assert.DoesNotContain(fx.Proxy.Requests, r => r.Resource == fqdn);
        Assert.DoesNotContain(await fx.Acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None), c => c.DomainName == fqdn);
        await fx.OkAsync("delete", "cert", "big", "-n", ns, "--timeout=60s");
    }

    /// <summary>keytool -list -v; the password goes through the environment, so no message (a timeout's included) quotes it.</summary>
    private static Task<ToolResult> KeytoolListAsync(string path, string type, string password) =>
        ToolRunner.RunAsync(
            "keytool",
            ["-list", "-v", "-keystore", path, "-storetype", type, "-storepass:env", "NOTARY_STORE_PASSWORD"],
            environment: new Dictionary<string, string> { ["NOTARY_STORE_PASSWORD"] = password });

    /// <summary>Polls <paramref name="condition"/> until it holds, failing with <paramref name="what"/> after a deadline.</summary>
    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(200);
        }
    }

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>The common names of the certificates in a PEM bundle.</summary>
    private static IEnumerable<string> CommonNames(string pemBundle)
    {
        var collection = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        collection.ImportFromPem(pemBundle);
        foreach (var certificate in collection)
        {
            yield return certificate.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, forIssuer: false);
            certificate.Dispose();
        }
    }
}
