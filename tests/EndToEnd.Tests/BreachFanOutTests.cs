using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Models;
using Xunit.Abstractions;
using Models = Notary.CustomResources.Models;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// A breach fanning out to many dependents, one of them broken, end to end: DevCluster, the real
/// breach, certificate and truststore grains, the breach API over HTTP with a real token. The
/// 400 objects are created through KubernetesClient (in parallel, as a GitOps tool would) rather
/// than one kubectl call each; everything is read back from the API server. About 15 s on an idle
/// two-core machine. Should other items fail with timeouts (StoreFailed TaskCanceledException,
/// an Orleans TimeoutException) the host's thread pool was starved during the fan-out: the
/// summary line in the output says which.
/// </summary>
[Collection(RealBreachCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BreachFanOutTests(RealBreachFixture fx, ITestOutputHelper output)
{
    private const int Clients = 200;
    private const int Broken = 17;
    private const int Parallelism = 16;
    private const string MissingMetadata = "notary-metadata-c17";

    [Fact]
    public async Task A_rotation_rebuilds_200_dependent_truststores_and_one_broken_one_fails_alone_keeping_its_old_contents()
    {
        var clock = Stopwatch.StartNew();
        void Mark(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s {what}");

        using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Kubeconfig));
        var ns = await fx.NamespaceAsync("fanout");
        await fx.ApplyAsync(RealBreachFixture.Metadata(ns) + RealBreachFixture.Certificate(ns, "pay"));
        var names = Enumerable.Range(0, Clients).Select(i => $"c{i}").ToList();
        var brokenStore = $"c{Broken}-ts";

        // 200 client services: their Certificates first, then a Truststore each that trusts pay
        // (upstream, by namespace), so that the stores do not wait on certificates still missing.
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (name, ct) =>
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(CertificateOf(ns, name), Models.NotaryResources.Group, Models.NotaryResources.Version, ns, Models.NotaryResources.CertificatePlural, cancellationToken: ct));
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (name, ct) =>
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(TruststoreOf(ns, name), Models.NotaryResources.Group, Models.NotaryResources.Version, ns, Models.NotaryResources.TruststorePlural, cancellationToken: ct));
        Mark("created 200 certificates and 200 truststores");

        var ready = await PollAsync(() => TruststoresAsync(client, ns), l => l.Count == Clients && l.All(IsReady), "all 200 truststores Ready", seconds: 60,
            describe: l => $"{l.Count(IsReady)} of {l.Count} Ready; not: {string.Join(", ", l.Where(t => !IsReady(t)).Take(5).Select(t => $"{t.Metadata.Name} {t.Status?.GetCondition(Models.ConditionTypes.Ready)?.Message}"))}");
        Mark("all 200 truststores Ready");
        var before = await fx.CertificateStatusAsync(ns, "pay");
        var payKey = $"{ns}/pay";
        Assert.All(ready, t => Assert.Equal(before.Revision, t.Status!.CertificateRevision![payKey]));

        // Break exactly one dependent the way an operator could: c17 is moved to its own metadata
        // Secret (its own store passwords), but the Secret is never created (a typo, or a
        // forgotten step of the rollout). Its truststore cannot be built any more while every
        // other store can; the failure is Notary's own check of real input, not a fault injected
        // into Notary, and it is permanent (no retry makes it pass), so the breach must report it.
        var oldSecret = await client.CoreV1.ReadNamespacedSecretAsync(brokenStore, ns);
        var oldContents = new Dictionary<string, byte[]>(oldSecret.Data);
        await client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(System.Text.Json.JsonSerializer.Serialize(new { spec = new { metadataSecret = MissingMetadata } }), V1Patch.PatchType.MergePatch),
            Models.NotaryResources.Group, Models.NotaryResources.Version, ns, Models.NotaryResources.TruststorePlural, brokenStore);
        var broken = await PollAsync(
            async () => (await TruststoresAsync(client, ns)).Single(t => t.Metadata.Name == brokenStore),
            t => t.Status?.GetCondition(Models.ConditionTypes.Ready) is { Status: "False", Reason: "MetadataSecretMissing" },
            $"{brokenStore} Ready=False MetadataSecretMissing");
        Assert.Contains(MissingMetadata, broken.Status!.GetCondition(Models.ConditionTypes.Ready)!.Message, StringComparison.Ordinal);
        // Not being able to build it again leaves what was stored as it was.
        AssertSameData(oldContents, await fx.SecretDataAsync(ns, brokenStore));
        Mark($"{brokenStore} broken");

        // The rotation, reported by someone a Role allows to create and read breaches.
        var (token, _) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get");
        var accepted = await fx.PostAsync(token, payKey, "rotate", "pay's key leaked in a crash dump");
        Assert.True(accepted.Status == 202, accepted.ToString());
        Assert.Equal(1 + Clients, Items(accepted).Count);
        Mark("breach accepted");
        ApiAnswer? last = null;
        var done = (await PollAsync(
            async () =>
            {
                try
                {
                    var answer = await fx.CallAsync(HttpMethod.Get, accepted.Location!, token);
                    Assert.True(answer.Status == 200, answer.ToString());
                    return last = answer;
                }
                catch (TaskCanceledException)
                {
                    // A GET that outlived the client's timeout: ask again, until the deadline
                    // (which then reports the last answer received).
                    return null;
                }
            },
            a => a?.Json.GetProperty("done").GetBoolean() == true, "the breach to finish", seconds: 60,
            describe: _ => last is null ? "no answer" : Summary(last)))!;
        Mark("breach done");

        // Failed as a whole, because of exactly one item: c17-ts, which says why.
        var items = Items(done);
        output.WriteLine(Summary(done));
        Assert.Equal("Failed", done.Json.GetProperty("phase").GetString());
        Assert.Equal($"1 of {1 + Clients} items failed.", done.Json.GetProperty("message").GetString());
        var certificate = Assert.Single(items, i => i.Kind == "Certificate");
        Assert.Equal((ns, "pay", "Completed"), (certificate.Namespace, certificate.Name, certificate.Status));
        Assert.Equal(1 + Clients, items.Count); // pay and its 200 truststores: no workloads use them
        var stores = items.Where(i => i.Kind == "Truststore").ToList();
        Assert.Equal(names.Select(n => $"{n}-ts").Order(StringComparer.Ordinal), stores.Select(i => i.Name).Order(StringComparer.Ordinal));
        Assert.All(stores, i => Assert.Equal(ns, i.Namespace));
        var failed = Assert.Single(items, i => i.Status == "Failed");
        Assert.Equal(("Truststore", brokenStore), (failed.Kind, failed.Name));
        Assert.Contains("MetadataSecretMissing", failed.Reason, StringComparison.Ordinal);
        Assert.Contains($"{ns}/{MissingMetadata} does not exist", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(Clients - 1, stores.Count(i => i.Status == "Completed"));

        // pay was re-issued once; the 199 stores were built from the new revision (one list call).
        var after = await fx.CertificateStatusAsync(ns, "pay");
        Assert.NotEqual(before.Serial, after.Serial);
        Assert.Equal(before.Revision + 1, after.Revision);
        // (The grains publish their status before they answer the breach; a short poll only
        // covers the API server's own pace.)
        bool Expected(Models.Truststore t) =>
            (t.Metadata.Name == brokenStore ? (before.Revision, false) : (after.Revision, true)) == (t.Status!.CertificateRevision![payKey], IsReady(t));
        await PollAsync(() => TruststoresAsync(client, ns), l => l.Count == Clients && l.All(Expected), "the 200 truststores' status.certificateRevision", seconds: 15,
            describe: l => string.Join(", ", l.Where(t => !Expected(t)).Take(10).Select(t => $"{t.Metadata.Name}: {payKey}@{t.Status!.CertificateRevision![payKey]}, Ready={IsReady(t)}")));

        // Every stored truststore (all 200 Secrets, one list call): the 199 trust the new pay and
        // no longer the old one; a sample of their PKCS12 files says the same.
        var secrets = (await client.CoreV1.ListNamespacedSecretAsync(ns)).Items;
        var data = secrets.ToDictionary(s => s.Metadata.Name, s => s.Data);
        foreach (var name in names.Where((_, i) => i != Broken).Select(n => $"{n}-ts"))
        {
            var trusted = PemSerials(data[name]["ca.crt"]);
            Assert.True(trusted.Contains(after.Serial) && !trusted.Contains(before.Serial), $"{name} trusts {string.Join(", ", trusted)}; pay was {before.Serial}, is {after.Serial}");
        }

        foreach (var name in names.Where((_, i) => i % 10 == 0 || i == Broken + 1).Select(n => $"{n}-ts"))
        {
            var file = Pkcs12Serials(data[name]["truststore.p12"], RealBreachFixture.TruststorePassword(ns));
            Assert.True(file.Contains(after.Serial) && !file.Contains(before.Serial), $"{name}'s truststore.p12 holds {string.Join(", ", file)}");
        }

        // c17-ts: nothing stored was lost or overwritten by the failed attempt; its Secret was not
        // even written (the same resourceVersion as before it broke).
        var brokenSecret = secrets.Single(s => s.Metadata.Name == brokenStore);
        Assert.Equal(oldSecret.Metadata.ResourceVersion, brokenSecret.Metadata.ResourceVersion);
        AssertSameData(oldContents, new Dictionary<string, byte[]>(brokenSecret.Data));
        Assert.Contains(before.Serial, PemSerials(oldContents["ca.crt"]));
        Assert.DoesNotContain(after.Serial, PemSerials(oldContents["ca.crt"]));
        Assert.Contains(before.Serial, Pkcs12Serials(oldContents["truststore.p12"], RealBreachFixture.TruststorePassword(ns)));

        // The failure is on record where an operator looks: a Warning Event on pay.
        var events = await RealBreachFixture.UntilAsync(() => fx.EventsAsync(ns, "pay"), e => e.Any(x => x.Reason == "BreachFailed"), "the BreachFailed Event");
        Assert.Equal("Warning", events.Single(e => e.Reason == "BreachFailed").Type);
        fx.AssertNoTokenLogged();
        Mark("checked");
    }

    private static Models.Certificate CertificateOf(string ns, string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new Models.CertificateSpec
        {
            Type = Models.CertificateTypes.Private,
            Fqdn = RealBreachFixture.Fqdn(ns, name),
            PrivateKey = new Models.PrivateKeySpec { Algorithm = Models.KeyAlgorithms.Ecdsa, Size = 256 },
        },
    };

    private static Models.Truststore TruststoreOf(string ns, string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"{name}-ts", NamespaceProperty = ns },
        Spec = new Models.TruststoreSpec
        {
            Fqdn = RealBreachFixture.Fqdn(ns, name),
            CertName = name,
            Upstream = [new Models.PeerReference { Tag = "pay", Fqdn = RealBreachFixture.Fqdn(ns, "pay"), Namespace = ns }],
        },
    };

    /// <summary>Every Truststore of the namespace, in one list call.</summary>
    private static async Task<List<Models.Truststore>> TruststoresAsync(k8s.Kubernetes client, string ns)
    {
        var list = await client.CustomObjects.ListNamespacedCustomObjectAsync(Models.NotaryResources.Group, Models.NotaryResources.Version, ns, Models.NotaryResources.TruststorePlural);
        return [.. KubernetesJson.Deserialize<Models.TruststoreList>(KubernetesJson.Serialize(list)).Items];
    }

    /// <summary>
    /// Probes until <paramref name="done"/> holds, every half second (a list of 200 objects every
    /// 100 ms would compete with Notary for the CPU), for at most <paramref name="seconds"/>.
    /// </summary>
    private static async Task<T> PollAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, int seconds = 30, Func<T, string>? describe = null)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"waited {seconds}s for {what}; last: {(describe is null ? value : describe(value))}");
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    /// <summary>A breach's phase and its items by status (the failed ones with their reasons).</summary>
    private static string Summary(ApiAnswer answer)
    {
        var items = Items(answer);
        return $"{answer.Json.GetProperty("phase").GetString()}, "
            + string.Join(", ", items.GroupBy(i => i.Status).Select(g => $"{g.Count()} {g.Key}"))
            + "; failed: " + string.Join("; ", items.Where(i => i.Status == "Failed").Take(5).Select(i => $"{i.Name}: {i.Reason}"));
    }

    private static bool IsReady(Models.Truststore t) => t.Status?.GetCondition(Models.ConditionTypes.Ready)?.Status == "True";

    private static void AssertSameData(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        Assert.All(expected, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(actual[kv.Key]), $"{kv.Key} changed"));
    }

    private static List<(string Kind, string Namespace, string Name, string Status, string? Reason)> Items(ApiAnswer answer) =>
        [.. answer.Json.GetProperty("items").EnumerateArray().Select(i => (
            i.GetProperty("kind").GetString()!, i.GetProperty("namespace").GetString()!, i.GetProperty("name").GetString()!,
            i.GetProperty("status").GetString()!, i.TryGetProperty("reason", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.String ? r.GetString() : null))];

    private static HashSet<string> PemSerials(byte[] pem)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPem(Encoding.ASCII.GetString(pem));
        return Serials(certificates);
    }

    private static HashSet<string> Pkcs12Serials(byte[] store, string password) =>
        Serials(X509CertificateLoader.LoadPkcs12Collection(store, password));

    private static HashSet<string> Serials(X509Certificate2Collection certificates)
    {
        try
        {
            return [.. certificates.Select(c => c.SerialNumber.ToUpperInvariant())];
        }
        finally
        {
            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }
}
