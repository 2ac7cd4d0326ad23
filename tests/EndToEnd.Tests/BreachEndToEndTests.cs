using System.Security.Cryptography.X509Certificates;
using System.Text;
using Notary.Api.Contracts;
using Notary.Pki.Tests.Support;
using Notary.Silo;
using Xunit.Abstractions;
using static Notary.EndToEnd.Tests.RealBreachFixture;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Breaches end to end, nothing faked: DevCluster, the real breach grains, certificate and store
/// grains, workload restarter, TokenReview and SubjectAccessReview; set up and checked with real
/// kubectl, reported over real HTTP and with the real <c>breach</c> command.
/// </summary>
[Collection(RealBreachCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BreachEndToEndTests(RealBreachFixture fx, ITestOutputHelper output)
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "Notary.Cli.dll");

    [Fact]
    public async Task A_breach_needs_a_valid_token_and_create_on_breaches_in_the_namespace_which_a_Role_grants()
    {
        var ns = await fx.NamespaceAsync("auth");
        await fx.ApplyAsync(Certificate(ns, "pay"));
        await fx.ReadyAsync(ns);
        var (token, user) = await fx.ServiceAccountAsync(ns, "oncall");
        const string garbage = "not-a-kubernetes-token";

        var anonymous = await fx.PostAsync(null, $"{ns}/pay", "rotate", "who am I?", dryRun: true);
        var forged = await fx.PostAsync(garbage, $"{ns}/pay", "rotate", "who am I?", dryRun: true);
        var withoutRole = await fx.PostAsync(token, $"{ns}/pay", "rotate", "who am I?", dryRun: true);

        Assert.Equal((401, 401, 403), (anonymous.Status, forged.Status, withoutRole.Status));
        Assert.StartsWith("Bearer", anonymous.Challenge, StringComparison.Ordinal);
        Assert.Contains("invalid_token", forged.Challenge, StringComparison.Ordinal);
        Assert.Contains($"{user} may not create breaches.notary.dev in namespace {ns}", withoutRole.Error, StringComparison.Ordinal);

        // The same token once a Role and RoleBinding grant create on breaches.notary.dev.
        await fx.GrantAsync(ns, "oncall", "create");
        var allowed = await fx.PostAsync(token, $"{ns}/pay", "rotate", "who am I?", dryRun: true);

        Assert.True(allowed.Status == 200, allowed.ToString());
        Assert.Equal(("DryRun", user), (allowed.Json.GetProperty("phase").GetString(), allowed.Json.GetProperty("requestedBy").GetString()));
        fx.AssertNoTokenLogged(garbage);
    }

    [Fact]
    public async Task A_rotation_re_keys_the_certificate_rebuilds_its_stores_restarts_their_workloads_and_is_done_once()
    {
        // pay (and its keystore) in one namespace with orders, which calls it; web, which calls it too, in another.
        var ns = await fx.NamespaceAsync("shop");
        var webNs = await fx.NamespaceAsync("web");
        await fx.ApplyAsync(
            Metadata(ns) + Metadata(webNs)
            + Certificate(ns, "pay") + Certificate(ns, "orders") + Certificate(webNs, "web")
            + Keystore(ns, "pay-ks", "pay")
            + Truststore(ns, "orders-ts", "orders", upstream: [(ns, "pay")], downstream: [])
            + Truststore(webNs, "web-ts", "web", upstream: [(ns, "pay")], downstream: [])
            + $"""
              apiVersion: v1
              kind: Secret
              metadata:
                name: unrelated
                namespace: {ns}
              stringData:
                config: nothing to do with pay
              ---

              """
            + Deployment(ns, "pay", "pay-ks", SecretUse.Volume)
            + Deployment(ns, "orders", "orders-ts", SecretUse.EnvFrom)
            + Deployment(webNs, "web", "web-ts", SecretUse.Projected)
            + Deployment(ns, "other", "unrelated", SecretUse.Volume));
        await fx.ReadyAsync(ns, webNs);
        Assert.Equal(["orders", "other", "pay"], (await fx.OkAsync("get", "deployments", "-n", ns, "-o", "jsonpath={.items[*].metadata.name}")).Split(' ').Order());
        var (token, user) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get");
        var before = await fx.CertificateStatusAsync(ns, "pay");
        Assert.Contains(before.Serial, await fx.PemSerialsAsync(ns, "orders-ts", "ca.crt"));
        Assert.Contains(before.Serial, await fx.PemSerialsAsync(webNs, "web-ts", "ca.crt"));
        var keyBefore = (await fx.SecretDataAsync(ns, "pay-ks"))["tls.key"];

        // 1. The dry run: the impact, and nothing changed.
        var dryRun = await fx.PostAsync(token, $"{ns}/pay", "rotate", "what would a rotation touch?", dryRun: true);

        Assert.True(dryRun.Status == 200, dryRun.ToString());
        Assert.Equal("DryRun", dryRun.Json.GetProperty("phase").GetString());
        var expected = new[]
        {
            ("Certificate", ns, "pay"), ("Keystore", ns, "pay-ks"), ("Truststore", ns, "orders-ts"), ("Truststore", webNs, "web-ts"),
            ("Deployment", ns, "pay"), ("Deployment", ns, "orders"), ("Deployment", webNs, "web"),
        };
        Assert.Equal(expected.Order(), Items(dryRun).Select(i => (i.Kind, i.Namespace, i.Name)).Order());
        Assert.Equal(before, await fx.CertificateStatusAsync(ns, "pay"), CertificateViewComparer.Instance);
        Assert.All(await fx.RestartedAtAsync(ns), d => Assert.Null(d.Value));
        Assert.All(await fx.RestartedAtAsync(webNs), d => Assert.Null(d.Value));
        Assert.Equal(404, (await fx.CallAsync(HttpMethod.Get, $"{BreachApiEndpoints.BasePath}/{dryRun.Json.GetProperty("id").GetString()}", token)).Status);

        // 2. The rotation: accepted, followed to the end.
        const string reason = "private key committed to a public repository";
        var accepted = await fx.PostAsync(token, $"{ns}/pay", "rotate", reason);

        Assert.True(accepted.Status == 202, accepted.ToString());
        var id = accepted.Json.GetProperty("id").GetString()!;
        Assert.True(BreachJson.TryParseId(id, out var breachKey) && breachKey.Namespace == ns, id);
        Assert.Equal($"{BreachApiEndpoints.BasePath}/{id}", accepted.Location);
        var done = await fx.FollowAsync(accepted.Location!, token);
        Assert.True(done.Json.GetProperty("phase").GetString() == "Completed", done.ToString());
        // The Breach in the API server says who reported it (Notary wrote status.requestedBy from TokenReview).
        Assert.Equal(user, done.Json.GetProperty("requestedBy").GetString());
        Assert.Equal(user, await fx.OkAsync("get", "br", id[(ns.Length + 1)..], "-n", ns, "-o", "jsonpath={.status.requestedBy}"));
        Assert.Equal(expected.Order(), Items(done).Select(i => (i.Kind, i.Namespace, i.Name)).Order());
        Assert.All(Items(done), i => Assert.True(i.Status == "Completed", $"{i.Kind} {i.Namespace}/{i.Name}: {i.Status}"));

        // A new key and serial, one more issuance.
        var after = await fx.CertificateStatusAsync(ns, "pay");
        Assert.NotEqual(before.Serial, after.Serial);
        Assert.Equal(before.Revision + 1, after.Revision);

        // Both truststores trust the new certificate and no longer the old one.
        foreach (var (tsNs, ts) in new[] { (ns, "orders-ts"), (webNs, "web-ts") })
        {
            var pem = await fx.PemSerialsAsync(tsNs, ts, "ca.crt");
            Assert.Contains(after.Serial, pem);
            Assert.DoesNotContain(before.Serial, pem);
            var file = Pkcs12Serials((await fx.SecretDataAsync(tsNs, ts))["truststore.p12"], TruststorePassword(tsNs));
            Assert.Contains(after.Serial, file.Select(c => c.Serial));
            Assert.DoesNotContain(before.Serial, file.Select(c => c.Serial));
        }

        // The keystore holds the new key and certificate: in its PEM keys (the key matching the leaf) and in its store file.
        var keystore = await fx.SecretDataAsync(ns, "pay-ks");
        Assert.NotEqual(keyBefore, keystore["tls.key"]);
        using (var leaf = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(keystore["tls.crt"]), Encoding.ASCII.GetString(keystore["tls.key"])))
        {
            Assert.Equal(after.Serial, leaf.SerialNumber.ToUpperInvariant());
            Assert.True(leaf.HasPrivateKey);
        }

        Assert.Contains((after.Serial, true), Pkcs12Serials(keystore["keystore.p12"], KeystorePassword(ns)));

        // The workloads that use a changed Secret rolled; the one that does not, did not.
        var restarted = await fx.RestartedAtAsync(ns);
        Assert.NotNull(restarted["pay"]);
        Assert.NotNull(restarted["orders"]);
        Assert.Null(restarted["other"]);
        Assert.NotNull((await fx.RestartedAtAsync(webNs))["web"]);

        // Events on the Certificate, as kubectl get events shows them.
        var events = await UntilAsync(() => fx.EventsAsync(ns, "pay"), e => e.Any(x => x.Reason == "BreachCompleted"), "the BreachCompleted Event");
        var reported = Assert.Single(events, e => e.Reason == "BreachReported");
        Assert.Equal("Warning", reported.Type);
        Assert.Contains(user, reported.Message, StringComparison.Ordinal);
        Assert.Contains(id, reported.Message, StringComparison.Ordinal);
        Assert.Equal("Normal", Assert.Single(events, e => e.Reason == "BreachCompleted").Type);

        // 3. The same report again is a new breach (a new Breach object), and it acts: a second rotation.
        var again = await fx.PostAsync(token, $"{ns}/pay", "rotate", reason);

        Assert.True(again.Status == 202, again.ToString());
        Assert.NotEqual(id, again.Json.GetProperty("id").GetString());
        var second = await fx.FollowAsync(again.Location!, token);
        Assert.True(second.Json.GetProperty("phase").GetString() == "Completed", second.ToString());
        var rotatedAgain = await fx.CertificateStatusAsync(ns, "pay");
        Assert.NotEqual(after.Serial, rotatedAgain.Serial);
        Assert.Equal("Completed", (await fx.CallAsync(HttpMethod.Get, accepted.Location!, token)).Json.GetProperty("phase").GetString());
        fx.AssertNoTokenLogged();
    }

    [Fact]
    public async Task A_quarantine_takes_the_certificate_out_of_truststores_until_someone_allowed_to_delete_lifts_it()
    {
        var ns = await fx.NamespaceAsync("quarantine");
        await fx.ApplyAsync(
            Metadata(ns) + Certificate(ns, "orders") + Certificate(ns, "web")
            + Truststore(ns, "web-ts", "web", upstream: [], downstream: [(ns, "orders")])
            + Deployment(ns, "web", "web-ts", SecretUse.Volume));
        await fx.ReadyAsync(ns);
        var (token, _) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get");
        var orders = await fx.CertificateStatusAsync(ns, "orders");
        var web = await fx.CertificateStatusAsync(ns, "web");
        Assert.Contains(orders.Serial, await fx.PemSerialsAsync(ns, "web-ts", "ca.crt"));

        var accepted = await fx.PostAsync(token, $"{ns}/orders", "quarantine", "suspicious issuance seen in CT logs");

        Assert.True(accepted.Status == 202, accepted.ToString());
        var done = await fx.FollowAsync(accepted.Location!, token);
        Assert.True(done.Json.GetProperty("phase").GetString() == "Completed", done.ToString());
        Assert.Equal(
            new[] { ("Certificate", "orders", "Completed"), ("Deployment", "web", "Completed"), ("Truststore", "web-ts", "Completed") },
            Items(done).Select(i => (i.Kind, i.Name, i.Status)).Order());
        var quarantined = await fx.CertificateStatusAsync(ns, "orders");
        Assert.Equal("True", quarantined.Conditions.GetValueOrDefault("Compromised"));
        Assert.Equal(orders.Serial, quarantined.Serial); // quarantined, not re-issued
        var trusted = await fx.PemSerialsAsync(ns, "web-ts", "ca.crt");
        Assert.DoesNotContain(orders.Serial, trusted);
        Assert.Contains(web.Serial, trusted);
        Assert.NotNull((await fx.RestartedAtAsync(ns))["web"]);

        // Lifting takes delete on breaches: create is not enough.
        var refused = await fx.CallAsync(HttpMethod.Delete, accepted.Location!, token);
        Assert.Equal(403, refused.Status);
        Assert.Contains("may not delete breaches.notary.dev", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(orders.Serial, await fx.PemSerialsAsync(ns, "web-ts", "ca.crt"));

        await fx.GrantAsync(ns, "oncall", "create", "get", "delete");
        var lifting = await fx.CallAsync(HttpMethod.Delete, accepted.Location!, token);

        // Deleted: the finalizer lifts the quarantine, then the Breach goes (GET 404).
        Assert.True(lifting.Status == 202, lifting.ToString());
        await UntilAsync(() => fx.CallAsync(HttpMethod.Get, accepted.Location!, token), a => a.Status == 404, "the Breach gone after its finalizer lifted it");
        Assert.Contains(orders.Serial, await fx.PemSerialsAsync(ns, "web-ts", "ca.crt"));
        Assert.Equal("False", (await fx.CertificateStatusAsync(ns, "orders")).Conditions.GetValueOrDefault("Compromised"));
        fx.AssertNoTokenLogged();
    }

    [Fact]
    public async Task The_breach_command_reports_a_rotation_follows_the_real_grain_to_Completed_and_exits_0()
    {
        var ns = await fx.NamespaceAsync("cli");
        await fx.ApplyAsync(Metadata(ns) + Certificate(ns, "api") + Keystore(ns, "api-ks", "api") + Deployment(ns, "api", "api-ks", SecretUse.Volume));
        await fx.ReadyAsync(ns);
        var (token, user) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get");
        var before = await fx.CertificateStatusAsync(ns, "api");
        const string reason = "key on a stolen laptop";

        string[] args = ["breach", "report", $"{ns}/api", "--mode", "rotate", "--reason", reason, "--server", fx.Dev.ApiUrl.ToString(), "--timeout", "60s"];
        var result = await ToolRunner.RunAsync("dotnet", [Cli, .. args, "--token", token], timeout: TimeSpan.FromSeconds(90));
        output.WriteLine($"$ {string.Join(' ', args)} --token (redacted)\n{result}");

        Assert.True(result.ExitCode == 0, result.ToString());
        var stdout = result.StdOut.ReplaceLineEndings("\n");
        var id = System.Text.RegularExpressions.Regex.Match(stdout, @"Breach (\S+) \(rotate of").Groups[1].Value;
        Assert.StartsWith($"{ns}.api-", id, StringComparison.Ordinal);
        Assert.Contains($"Breach {id} (rotate of {ns}/api, reported by {user}): Pending, 3 items:", stdout, StringComparison.Ordinal);
        Assert.Contains($"  Keystore (1)\n    {ns}/api-ks\n", stdout, StringComparison.Ordinal);
        Assert.Contains($"  Deployment (1)\n    {ns}/api\n", stdout, StringComparison.Ordinal);
        Assert.Contains($"Breach {id}: Completed", stdout, StringComparison.Ordinal);
        foreach (var item in new[] { $"Certificate {ns}/api", $"Keystore {ns}/api-ks", $"Deployment {ns}/api" })
        {
            Assert.Contains($"  {item}: Completed\n", stdout, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(token, result.Output, StringComparison.Ordinal);
        var after = await fx.CertificateStatusAsync(ns, "api");
        Assert.Equal((before.Revision + 1, true), (after.Revision, after.Serial != before.Serial));
        Assert.Equal(after.Serial, (await fx.PemSerialsAsync(ns, "api-ks", "tls.crt"))[0]);
        Assert.NotNull((await fx.RestartedAtAsync(ns))["api"]);
    }

    [Fact]
    public async Task On_re_issue_only_the_workloads_annotated_notary_dev_reload_are_restarted()
    {
        var ns = await fx.NamespaceAsync("reload");
        await fx.ApplyAsync(
            Metadata(ns) + Certificate(ns, "svc") + Keystore(ns, "svc-ks", "svc")
            + Deployment(ns, "reloading", "svc-ks", SecretUse.Volume, reload: true)
            + Deployment(ns, "static", "svc-ks", SecretUse.Volume));
        await fx.ReadyAsync(ns);
        var before = await fx.CertificateStatusAsync(ns, "svc");
        // The first build is no reason to restart anything.
        Assert.All(await fx.RestartedAtAsync(ns), d => Assert.Null(d.Value));

        // A spec change re-issues the certificate, as a renewal does (which only time brings).
        await fx.OkAsync("patch", "certificate", "svc", "-n", ns, "--type=merge", "-p", System.Text.Json.JsonSerializer.Serialize(new { spec = new { alt = new[] { $"svc.{ns}.example.test" } } }));
        var after = await UntilAsync(() => fx.CertificateStatusAsync(ns, "svc"), c => c.Revision > before.Revision, "the re-issue");
        await UntilAsync(() => fx.PemSerialsAsync(ns, "svc-ks", "tls.crt"), s => s[0] == after.Serial, "the keystore rebuilt with the new certificate");

        var restarted = await UntilAsync(() => fx.RestartedAtAsync(ns), d => d["reloading"] is not null, "the opted-in Deployment's restart");
        Assert.Null(restarted["static"]);
    }

    private static List<(string Kind, string Namespace, string Name, string Status, string? Reason)> Items(ApiAnswer answer) =>
        [.. answer.Json.GetProperty("items").EnumerateArray().Select(i => (
            i.GetProperty("kind").GetString()!, i.GetProperty("namespace").GetString()!, i.GetProperty("name").GetString()!,
            i.GetProperty("status").GetString()!, i.TryGetProperty("reason", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.String ? r.GetString() : null))];

    /// <summary>The certificates of a PKCS12 store file, opened with its password: serial and whether it carries a private key.</summary>
    private static List<(string Serial, bool HasKey)> Pkcs12Serials(byte[] store, string password)
    {
        var certificates = X509CertificateLoader.LoadPkcs12Collection(store, password);
        try
        {
            return [.. certificates.Select(c => (c.SerialNumber.ToUpperInvariant(), c.HasPrivateKey))];
        }
        finally
        {
            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }

    /// <summary>Compares what identifies an issuance: serial and revision.</summary>
    private sealed class CertificateViewComparer : IEqualityComparer<CertificateView>
    {
        public static readonly CertificateViewComparer Instance = new();

        public bool Equals(CertificateView? x, CertificateView? y) => x?.Serial == y?.Serial && x?.Revision == y?.Revision;

        public int GetHashCode(CertificateView obj) => HashCode.Combine(obj.Serial, obj.Revision);
    }
}
