using System.Text;
using k8s;
using k8s.Models;
using Notary.CustomResources.Models;
using Notary.Watcher.Tests.Support;
using Xunit.Abstractions;
using Action = Notary.Watcher.Tests.Support.Action;

namespace Notary.Watcher.Tests;

/// <summary>
/// A ConfigMap or Secret a Truststore names in spec.sources changes: the watcher nudges exactly
/// the Truststores that name it (issue 18 §2), from a metadata-only watch (no ConfigMap's data is
/// read by the watcher).
/// </summary>
[Collection(WatcherCollection.Name)]
[Trait("Category", "Slow")]
public sealed class TrustSourceWatchTests(WatcherCluster cluster, ITestOutputHelper output)
{
    private readonly CapturingLoggerProvider _logs = new(output);
    private readonly RecordingSink _sink = new();

    [Fact]
    public async Task A_changed_or_deleted_source_nudges_the_truststores_naming_it_and_nothing_else()
    {
        var ns = await cluster.NamespaceAsync();
        var other = await cluster.NamespaceAsync();
        await CreateTruststoreAsync(ns, "partners", new TrustSource { ConfigMap = new ObjectKeyReference { Name = "partner-ca", Key = "ca.crt" } });
        await CreateTruststoreAsync(ns, "db", new TrustSource { Secret = new ObjectKeyReference { Name = "db-ca", Key = "ca.crt" } });
        await CreateTruststoreAsync(ns, "plain");

        var recorder = new RecordingHandler();
        using var client = new k8s.Kubernetes(cluster.Server.ClientConfiguration(), recorder);
        await using (var session = cluster.Start(_sink, _logs, client))
        {
            await session.Session.Synced.WaitAsync(TimeSpan.FromSeconds(30));
            await _sink.WaitAsync(d => d.Count(x => x.Action == Action.Apply && x.Key.StartsWith(ns + "/", StringComparison.Ordinal)) == 3, "the three Truststores, listed");

            // Created after the Truststore (a SourceInvalid source being fixed): nudged.
            await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("partner-ca", "one"), ns);
            await _sink.WaitAsync(d => Nudges(d, $"{ns}/partners") == 1, "partners nudged for its created ConfigMap");

            // Changed: nudged again.
            await cluster.Client.CoreV1.ReplaceNamespacedConfigMapAsync(ConfigMap("partner-ca", "two"), "partner-ca", ns);
            await _sink.WaitAsync(d => Nudges(d, $"{ns}/partners") == 2, "partners nudged for its changed ConfigMap");

            // A Secret source, created and deleted.
            await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "db-ca" }, StringData = new Dictionary<string, string> { ["ca.crt"] = "x" } }, ns);
            await _sink.WaitAsync(d => Nudges(d, $"{ns}/db") == 1, "db nudged for its created Secret");
            await cluster.Client.CoreV1.DeleteNamespacedSecretAsync("db-ca", ns);
            await _sink.WaitAsync(d => Nudges(d, $"{ns}/db") == 2, "db nudged for its deleted Secret");

            // A same-named ConfigMap in another namespace, and unnamed ones, nudge nobody; so does a
            // ConfigMap named like the Secret source (kinds differ).
            await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("partner-ca", "elsewhere"), other);
            await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("db-ca", "not a secret"), ns);
            await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("unrelated", "x"), ns);

            // The Truststore's spec drops the source: a change of it no longer nudges.
            var partners = await cluster.Client.CustomObjects.GetNamespacedCustomObjectAsync<Truststore>(Truststore.KubeGroup, Truststore.KubeApiVersion, ns, Truststore.KubePluralName, "partners");
            partners.Spec.Sources = null;
            await cluster.Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(partners, Truststore.KubeGroup, Truststore.KubeApiVersion, ns, Truststore.KubePluralName, "partners");
            await _sink.WaitAsync(d => d.Count(x => x.Action == Action.Apply && x.Key == $"{ns}/partners") == 2, "partners without sources, forwarded");
            await cluster.Client.CoreV1.DeleteNamespacedConfigMapAsync("partner-ca", ns);

            // A marker, created last: once it is nudged, the earlier ConfigMap events have most likely been handled too.
            await CreateTruststoreAsync(ns, "marker", new TrustSource { ConfigMap = new ObjectKeyReference { Name = "marker-ca", Key = "ca.crt" } });
            await _sink.WaitAsync(d => d.Any(x => x.Action == Action.Apply && x.Key == $"{ns}/marker"), "marker forwarded");
            await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("marker-ca", "m"), ns);
            await _sink.WaitAsync(d => Nudges(d, $"{ns}/marker") == 1, "marker nudged");
        }

        var nudges = _sink.Deliveries.Where(d => d.Action == Action.TrustSourceChanged).Select(d => d.Key).ToList();
        Assert.Equal([$"{ns}/partners", $"{ns}/partners", $"{ns}/db", $"{ns}/db", $"{ns}/marker"], nudges.Where(k => k.StartsWith(ns + "/", StringComparison.Ordinal) || k.StartsWith(other + "/", StringComparison.Ordinal)));

        // ConfigMaps were listed and watched as metadata only, never read whole by the watcher.
        var reads = recorder.Exchanges.Where(e => e.Path == "/api/v1/configmaps").ToList();
        Assert.Contains(reads, e => e.PathAndQuery.Contains("watch=true", StringComparison.Ordinal));
        Assert.All(reads, e => Assert.DoesNotContain("\"data\"", Encoding.UTF8.GetString(e.Body), StringComparison.Ordinal));
        Assert.DoesNotContain(recorder.Exchanges, e => e.Path.Contains("/configmaps/", StringComparison.Ordinal) && e.Method == "GET");
    }

    private static int Nudges(IReadOnlyList<Delivery> deliveries, string truststore) =>
        deliveries.Count(d => d.Action == Action.TrustSourceChanged && d.Key == truststore);

    private static V1ConfigMap ConfigMap(string name, string value) =>
        new() { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["ca.crt"] = value } };

    private Task<Truststore> CreateTruststoreAsync(string ns, string name, params TrustSource[] sources) =>
        cluster.Client.CreateAsync(new Truststore
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new CustomResources.Models.TruststoreSpec { Fqdn = $"{name}.shop", CertName = name, Sources = sources.Length == 0 ? null : sources },
        });
}
