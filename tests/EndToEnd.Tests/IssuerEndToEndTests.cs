using System.Security.Cryptography.X509Certificates;
using System.Text;
using Notary.Pki.Tests.Support;
using Xunit.Abstractions;
using static Notary.EndToEnd.Tests.RealBreachFixture;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Dev mode for issuers end to end: a short propagation delay (3 s) and no overlap beyond it, so
/// a CA rotation through the API server finishes within a test.
/// </summary>
public sealed class IssuerFixture : RealBreachFixture
{
    protected override Task<IReadOnlyDictionary<string, string?>> StartDependenciesAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>
        {
            ["Notary:Rotation:PropagationDelay"] = "00:00:03",
            ["Notary:Rotation:Overlap"] = "00:00:00",
        });
}

[CollectionDefinition(Name)]
public sealed class IssuerCollection : ICollectionFixture<IssuerFixture>
{
    public const string Name = "issuers end to end";
}

/// <summary>
/// Issue 18 §1 and §3 in dev mode, through the watcher and DevCluster with real kubectl: a
/// <c>ca</c> Issuer whose Secret appears later, one that names a Secret of another namespace, a
/// ClusterIssuer used from two namespaces, and a CA rotation started by replacing the Secret
/// with kubectl apply; CAs made by the real openssl CLI, trust proven by a real Java handshake.
/// </summary>
[Collection(IssuerCollection.Name)]
[Trait("Category", "Slow")]
public sealed class IssuerEndToEndTests(IssuerFixture fx, ITestOutputHelper output)
{
    private static readonly string Batch = Path.Combine(AppContext.BaseDirectory, "java", "MutualTlsBatch.java");

    private static string Issuer(string ns, string name, string secretName) => $"""
        apiVersion: notary.dev/v1alpha1
        kind: Issuer
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          ca:
            secretName: {secretName}
        ---

        """;

    private static string IssuedCertificate(string ns, string name, string issuer, string kind = "Issuer") =>
        Certificate(ns, name).Replace("spec:\n", $"spec:\n  issuerRef:\n    name: {issuer}\n    kind: {kind}\n", StringComparison.Ordinal);

    private Task<string> ConditionAsync(string resource, string ns, string field) =>
        fx.OkAsync("get", resource, "-n", ns, "-o", $"jsonpath={{.status.conditions[?(@.type==\"Ready\")].{field}}}");

    [Fact]
    public async Task An_Issuer_whose_Secret_is_missing_holds_its_Certificate_until_kubectl_create_secret_tls_makes_both_Ready()
    {
        var ns = await fx.NamespaceAsync("iss");
        var dir = Directory.CreateTempSubdirectory("notary-e2e-issuer-");
        try
        {
            await fx.ApplyAsync(Metadata(ns) + Issuer(ns, "team", "team-ca") + IssuedCertificate(ns, "api", "team"));
            await UntilAsync(() => ConditionAsync("issuer/team", ns, "reason"), r => r == "SecretNotFound", "the Issuer Ready=False/SecretNotFound");
            Assert.Equal("False", await ConditionAsync("issuer/team", ns, "status"));
            Assert.Contains($"{ns}/team-ca", await ConditionAsync("issuer/team", ns, "message"), StringComparison.Ordinal);
            await UntilAsync(() => ConditionAsync("certificate/api", ns, "reason"), r => r == "IssuerNotReady", "the Certificate Ready=False/IssuerNotReady");
            Assert.Equal("False", await ConditionAsync("certificate/api", ns, "status"));

            // The Secret created: the watcher sees it, the Issuer becomes Ready and wakes the Certificate; nothing is re-applied.
            var ca = await Ca.CreateAsync(dir.FullName, "team", "1");
            await fx.OkAsync("create", "secret", "tls", "team-ca", "-n", ns, $"--cert={ca.ChainFile}", $"--key={ca.KeyFile}");
            await fx.OkAsync("wait", "--for=condition=Ready", "issuer/team", "certificate/api", "-n", ns, "--timeout=60s");

            var table = await fx.OkAsync("get", "issuers", "-n", ns);
            Assert.Matches(@"NAME\s+TYPE\s+READY\s+AGE", table);
            Assert.Matches(@"\nteam\s+ca\s+True\s+\S+", table);
            var wide = await fx.OkAsync("get", "issuers", "-n", ns, "-o", "wide");
            Assert.Matches(@"NAME\s+TYPE\s+READY\s+AGE\s+REASON\s+CA EXPIRES\s+ROTATION\s+REMAINING", wide);
            Assert.Matches(@"\nteam\s+ca\s+True\s+\S+\s+Ready\s+\d{4}-\d\d-\d\dT", wide);
            Assert.Equal("1", await fx.OkAsync("get", "issuer", "team", "-n", ns, "-o", "jsonpath={.status.certificates}"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_namespaced_Issuer_naming_a_Secret_that_exists_only_in_another_namespace_stays_not_Ready()
    {
        var ns = await fx.NamespaceAsync("issns");
        var elsewhere = await fx.NamespaceAsync("issother");
        var dir = Directory.CreateTempSubdirectory("notary-e2e-issuer-");
        try
        {
            var ca = await Ca.CreateAsync(dir.FullName, "other", "1");
            await fx.OkAsync("create", "secret", "tls", "team-ca", "-n", elsewhere, $"--cert={ca.ChainFile}", $"--key={ca.KeyFile}");
            await fx.ApplyAsync(Metadata(ns) + Issuer(ns, "team", "team-ca") + IssuedCertificate(ns, "api", "team"));
            await UntilAsync(() => ConditionAsync("issuer/team", ns, "reason"), r => r == "SecretNotFound", "the Issuer Ready=False/SecretNotFound");
            Assert.Contains($"{ns}/team-ca", await ConditionAsync("issuer/team", ns, "message"), StringComparison.Ordinal);
            await UntilAsync(() => ConditionAsync("certificate/api", ns, "reason"), r => r == "IssuerNotReady", "the Certificate waiting");

            // A change of the other namespace's Secret wakes nothing here either.
            await fx.OkAsync("label", "secret", "team-ca", "-n", elsewhere, "touched=yes");
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.Equal(("False", "SecretNotFound"), (await ConditionAsync("issuer/team", ns, "status"), await ConditionAsync("issuer/team", ns, "reason")));
            Assert.Equal("IssuerNotReady", await ConditionAsync("certificate/api", ns, "reason"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_ClusterIssuer_issues_to_Certificates_of_two_namespaces()
    {
        var name = "shared-" + Guid.NewGuid().ToString("N")[..6];
        var (one, two) = (await fx.NamespaceAsync("cione"), await fx.NamespaceAsync("citwo"));
        await fx.ApplyAsync($$"""
            apiVersion: notary.dev/v1alpha1
            kind: ClusterIssuer
            metadata:
              name: {{name}}
            spec:
              builtin: {}
            ---

            """ + Metadata(one) + Metadata(two) + IssuedCertificate(one, "api", name, "ClusterIssuer") + IssuedCertificate(two, "api", name, "ClusterIssuer")
            + Keystore(one, "api-ks", "api") + Keystore(two, "api-ks", "api"));
        await fx.OkAsync("wait", "--for=condition=Ready", $"clusterissuer/{name}", "--timeout=60s");
        await fx.ReadyAsync(one, two);
        Assert.Matches($@"\n{name}\s+builtin\s+True", await fx.OkAsync("get", "clusterissuers"));
        await UntilAsync(() => fx.OkAsync("get", "clusterissuer", name, "-o", "jsonpath={.status.certificates}"), c => c == "2", "the ClusterIssuer counting both certificates");

        // Both leaves chain to Notary's built-in root (openssl), each for its own name.
        var root = fx.Write($"{name}-root.pem", (await fx.SecretDataAsync("notary", "notary-ca"))["tls.crt"]);
        foreach (var ns in new[] { one, two })
        {
            var chain = Encoding.ASCII.GetString((await fx.SecretDataAsync(ns, "api-ks"))["tls.crt"]);
            var leaf = fx.WriteText($"{ns}-leaf.pem", FirstPem(chain));
            var verified = await ToolRunner.RunAsync("openssl", "verify", "-CAfile", root, "-untrusted", fx.WriteText($"{ns}-chain.pem", chain), leaf);
            Assert.True(verified.ExitCode == 0, $"{ns}: {verified}");
            Assert.Equal(Fqdn(ns, "api"), X509Certificate2.CreateFromPem(chain).GetNameInfo(X509NameType.DnsName, false));
        }
    }

    [Fact]
    public async Task Replacing_a_ca_Issuers_Secret_with_kubectl_apply_rolls_every_store_to_the_new_intermediate_and_peers_still_talk()
    {
        var ns = await fx.NamespaceAsync("issrot");
        var dir = Directory.CreateTempSubdirectory("notary-e2e-issuer-");
        try
        {
            // Intermediate 1 under the team's root; a, b, c: a calls b, b calls c; b's truststore is Issuers-mode.
            var first = await Ca.CreateAsync(dir.FullName, "team", "1");
            await fx.OkAsync("create", "secret", "tls", "team-ca", "-n", ns, $"--cert={first.ChainFile}", $"--key={first.KeyFile}");
            string[] services = ["a", "b", "c"];
            await fx.ApplyAsync(Metadata(ns) + Issuer(ns, "team", "team-ca")
                + string.Concat(services.Select(s => IssuedCertificate(ns, s, "team") + Keystore(ns, $"{s}-ks", s)))
                + Truststore(ns, "a-ts", "a", [(ns, "b")], [])
                + Truststore(ns, "b-ts", "b", [(ns, "c")], [(ns, "a")]).Replace("  certName: b\n", "  certName: b\n  trust: Issuers\n", StringComparison.Ordinal)
                + Truststore(ns, "c-ts", "c", [], [(ns, "b")]));
            await fx.ReadyAsync(ns);
            await fx.OkAsync("wait", "--for=condition=Ready", "issuer/team", "-n", ns, "--timeout=30s");
            Assert.Contains(first.IntermediateSerial, await fx.PemSerialsAsync(ns, "a-ks", "tls.crt"));
            Assert.Contains(first.IntermediateSerial, await fx.PemSerialsAsync(ns, "b-ts", "ca.crt"));

            // The same root's next intermediate (an intermediate renewed): the Secret replaced as an operator does it.
            var second = await Ca.CreateIntermediateAsync(dir.FullName, first, "2");
            var yaml = await fx.OkAsync("create", "secret", "tls", "team-ca", "-n", ns, $"--cert={second.ChainFile}", $"--key={second.KeyFile}", "--dry-run=client", "-o", "yaml");
            await fx.OkAsync("apply", "-f", fx.WriteText($"team-ca-{ns}.yaml", yaml));

            // .status.rotation appears with its phase and what remains, and disappears when it is over.
            var phases = new List<string>();
            var seen = await UntilAsync(
                () => fx.OkAsync("get", "issuer", "team", "-n", ns, "-o", "jsonpath={.status.rotation.phase}/{.status.rotation.remaining}/{.status.rotation.total}"),
                r => r != "//", "the Issuer's status.rotation", seconds: 60);
            output.WriteLine("rotation: " + seen);
            // Its first phase lasts at least the propagation delay: seen first, every certificate still to do.
            Assert.Equal("TrustingNewCa/3/3", seen);
            var last = await UntilAsync(
                async () =>
                {
                    var now = await fx.OkAsync("get", "issuer", "team", "-n", ns, "-o", "jsonpath={.status.rotation.phase}/{.status.rotation.remaining}");
                    if (now != "/" && (phases.Count == 0 || phases[^1] != now))
                    {
                        phases.Add(now);
                        output.WriteLine("rotation: " + now);
                    }

                    return now;
                },
                r => r == "/", "the rotation to end (status.rotation gone)", seconds: 180, intervalMilliseconds: 250);
            Assert.Equal("/", last);
            Assert.Contains(phases, p => p.StartsWith("Reissuing/", StringComparison.Ordinal) || p.StartsWith("RetiringOldCa/", StringComparison.Ordinal));
            Assert.Equal(IssuerFingerprint(second.IntermediatePem), await fx.OkAsync("get", "issuer", "team", "-n", ns, "-o", "jsonpath={.status.caFingerprint}"));

            // Every keystore's leaf chains to the new intermediate (openssl), and not to the old one.
            foreach (var s in services)
            {
                var data = await fx.SecretDataAsync(ns, $"{s}-ks");
                var leaf = fx.Write($"{ns}-{s}-leaf.pem", Encoding.ASCII.GetBytes(FirstPem(Encoding.ASCII.GetString(data["tls.crt"]))));
                var verified = await ToolRunner.RunAsync("openssl", "verify", "-CAfile", first.RootFile, "-untrusted", second.IntermediateFile, "-purpose", "sslserver", leaf);
                Assert.True(verified.ExitCode == 0, $"{s}: {verified}");
                var old = await ToolRunner.RunAsync("openssl", "verify", "-CAfile", first.RootFile, "-untrusted", first.IntermediateFile, leaf);
                Assert.NotEqual(0, old.ExitCode);
            }

            // No store holds the old intermediate: not a PEM, not a PKCS12 entry.
            foreach (var (secret, key, password) in services.SelectMany(s => new[] { ($"{s}-ks", "keystore.p12", KeystorePassword(ns)), ($"{s}-ts", "truststore.p12", TruststorePassword(ns)) }))
            {
                var data = await fx.SecretDataAsync(ns, secret);
                foreach (var pem in data.Keys.Where(k => k.EndsWith(".crt", StringComparison.Ordinal)))
                {
                    Assert.DoesNotContain(first.IntermediateSerial, await fx.PemSerialsAsync(ns, secret, pem));
                }

                var entries = X509CertificateLoader.LoadPkcs12Collection(data[key], password, X509KeyStorageFlags.EphemeralKeySet);
                Assert.DoesNotContain(entries, c => c.SerialNumber.Equals(first.IntermediateSerial, StringComparison.OrdinalIgnoreCase));
            }

            Assert.Contains(second.IntermediateSerial, await fx.PemSerialsAsync(ns, "b-ts", "ca.crt"));

            // a calls b: b's keystore against a's pinned truststore, a's keystore against b's Issuers truststore.
            var files = new Dictionary<string, string>();
            foreach (var (secret, key) in new[] { ("a-ks", "keystore.p12"), ("a-ts", "truststore.p12"), ("b-ks", "keystore.p12"), ("b-ts", "truststore.p12") })
            {
                files[secret] = fx.Write($"{ns}-{secret}.p12", (await fx.SecretDataAsync(ns, secret))[key]);
            }

            var pairs = fx.WriteText($"{ns}-pairs.tsv", string.Join('\t', "a->b",
                files["b-ks"], KeystorePassword(ns), files["b-ts"], TruststorePassword(ns),
                files["a-ks"], KeystorePassword(ns), files["a-ts"], TruststorePassword(ns), Fqdn(ns, "b")) + "\n");
            var handshake = await ToolRunner.RunAsync("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", Batch, pairs);
            Assert.True(handshake.ExitCode == 0 && handshake.StdOut.StartsWith("OK ", StringComparison.Ordinal), handshake.ToString());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string FirstPem(string pem) => pem[..(pem.IndexOf("-----END CERTIFICATE-----", StringComparison.Ordinal) + "-----END CERTIFICATE-----".Length)] + "\n";

    private static string IssuerFingerprint(string pem) =>
        X509Certificate2.CreateFromPem(pem).GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256);

    /// <summary>A team's CA made with openssl: a root and an intermediate under it; the Secret's tls.crt is the intermediate then the root.</summary>
    private sealed record Ca(string Dir, string Name, string RootFile, string RootKeyFile, string IntermediateFile, string KeyFile, string ChainFile)
    {
        public string IntermediatePem => File.ReadAllText(IntermediateFile);

        public string IntermediateSerial => X509Certificate2.CreateFromPem(IntermediatePem).SerialNumber.ToUpperInvariant();

        public static async Task<Ca> CreateAsync(string dir, string name, string generation)
        {
            await OkAsync(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", $"{name}-root.key", "-out", $"{name}-root.pem",
                "-subj", $"/CN={name} root", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
            var root = new Ca(dir, name, Path.Combine(dir, $"{name}-root.pem"), Path.Combine(dir, $"{name}-root.key"), string.Empty, string.Empty, string.Empty);
            return await CreateIntermediateAsync(dir, root, generation);
        }

        /// <summary>An intermediate under <paramref name="root"/>'s root (a renewal of the team's intermediate).</summary>
        public static async Task<Ca> CreateIntermediateAsync(string dir, Ca root, string generation)
        {
            var stem = $"{root.Name}-int{generation}";
            await File.WriteAllTextAsync(Path.Combine(dir, $"{stem}.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
            await OkAsync(dir, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", $"{stem}.key", "-out", $"{stem}.csr", "-subj", $"/CN={root.Name} intermediate {generation}");
            await OkAsync(dir, "openssl", "x509", "-req", "-in", $"{stem}.csr", "-CA", root.RootFile, "-CAkey", root.RootKeyFile, "-CAcreateserial", "-out", $"{stem}.pem", "-days", "20", "-extfile", $"{stem}.ext");
            var chain = Path.Combine(dir, $"{stem}-chain.pem");
            await File.WriteAllTextAsync(chain, await File.ReadAllTextAsync(Path.Combine(dir, $"{stem}.pem")) + await File.ReadAllTextAsync(root.RootFile));
            return root with { IntermediateFile = Path.Combine(dir, $"{stem}.pem"), KeyFile = Path.Combine(dir, $"{stem}.key"), ChainFile = chain };
        }
    }

    private static async Task OkAsync(string dir, string tool, params string[] arguments)
    {
        var run = await ToolRunner.RunAsync(tool, arguments, workingDirectory: dir);
        Assert.True(run.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: {run.StdOut}{run.StdErr}");
    }
}
