using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;
using Notary.Adapters.Kubernetes;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Watcher.Tests.Support;
using Xunit.Abstractions;
using Action = Notary.Watcher.Tests.Support.Action;

namespace Notary.Watcher.Tests;

/// <summary>
/// Secrets reach the watcher as metadata only (issue 17): its list and watch of Secrets ask for
/// PartialObjectMetadata, so no Secret's data is ever read into Notary's process, while a change
/// to a metadata Secret is still forwarded; the content of the one Secret a store names is read by
/// a GET of that Secret alone.
/// </summary>
[Collection(WatcherCollection.Name)]
[Trait("Category", "Slow")]
public sealed class MetadataOnlySecretTests(WatcherCluster cluster, ITestOutputHelper output)
{
    private readonly CapturingLoggerProvider _logs = new(output);
    private readonly RecordingSink _sink = new();

    [Fact]
    public async Task The_watcher_never_receives_a_Secrets_data_and_still_forwards_a_metadata_Secrets_change()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CreateAsync(new Keystore
        {
            Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = ns },
            Spec = new CustomResources.Models.KeystoreSpec { Fqdn = "api.shop", CertName = "api", MetadataSecret = "api-metadata" },
        });

        // Every value written to the Secrets' data, random so that nothing else in the cluster holds it.
        var written = new List<byte[]>();
        await CreateSecretAsync(ns, "unrelated", Marker(), RandomNumberGenerator.GetBytes(64 * 1024), written);
        await CreateSecretAsync(ns, "api-metadata", Marker(), RandomNumberGenerator.GetBytes(1024), written);

        var recorder = new RecordingHandler();
        using var client = new k8s.Kubernetes(cluster.Server.ClientConfiguration(), recorder);
        var auditFrom = cluster.Server.Audit.Count;
        await using (var session = cluster.Start(_sink, _logs, client))
        {
            await session.Session.Synced.WaitAsync(TimeSpan.FromSeconds(30));
            // Once the Keystore that names it is forwarded, the Secret is a metadata Secret. (Whether the
            // first list already forwards it depends on which list, Keystores' or Secrets', is handled
            // first; nothing needs that notice, as the store's first build reads the Secret anyway.)
            await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/api" && x.Kind == ResourceKind.Keystore && x.Action == Action.Apply), "the Keystore naming the metadata Secret, listed");
            var listed = _sink.Deliveries.Count(x => x.Key == $"{ns}/api-metadata" && x.Action == Action.SecretChanged);

            // Changes arrive through the watch: the unrelated one is ignored, the metadata Secret's is forwarded.
            await PatchDataAsync(ns, "unrelated", Marker(), written);
            await PatchDataAsync(ns, "api-metadata", Marker(), written);
            await _sink.WaitAsync(d => d.Count(x => x.Key == $"{ns}/api-metadata" && x.Action == Action.SecretChanged) > listed, "the change of api-metadata, watched");
            Assert.DoesNotContain(_sink.Deliveries, d => d.Key == $"{ns}/unrelated");
        }

        var secretReads = recorder.Exchanges.Where(e => e.Path == "/api/v1/secrets").ToList();
        Assert.Contains(secretReads, e => !e.PathAndQuery.Contains("watch=true", StringComparison.Ordinal));
        Assert.Contains(secretReads, e => e.PathAndQuery.Contains("watch=true", StringComparison.Ordinal));
        foreach (var exchange in secretReads)
        {
            var watch = exchange.PathAndQuery.Contains("watch=true", StringComparison.Ordinal);
            var body = Encoding.UTF8.GetString(exchange.Body);
            Assert.DoesNotContain("\"data\"", body, StringComparison.Ordinal);
            Assert.All(written, value => Assert.DoesNotContain(Convert.ToBase64String(value)[..24], body, StringComparison.Ordinal));
            Assert.Contains(watch ? "\"kind\":\"PartialObjectMetadata\"" : "\"kind\":\"PartialObjectMetadataList\"", body, StringComparison.Ordinal);

            // (HttpClient prints the header back with a space after each ';'.)
            Assert.Equal(watch ? MetadataOnly.WatchAccept : MetadataOnly.ListAccept, exchange.Accept.Replace(" ", "", StringComparison.Ordinal));
        }

        // The watched events reached the client: they were read, not merely requested.
        Assert.Contains(secretReads, e => e.PathAndQuery.Contains("watch=true", StringComparison.Ordinal) && Encoding.UTF8.GetString(e.Body).Contains("api-metadata", StringComparison.Ordinal));

        // The watcher itself reads no Secret's content at all.
        Assert.DoesNotContain(recorder.Exchanges, e => e.Path.Contains("/secrets/", StringComparison.Ordinal) && e.Method == "GET");

        // The API server's side agrees: every list and watch of Secrets asked for metadata only.
        var audited = cluster.Server.Audit.Skip(auditFrom).Where(r => r.Resource == "secrets" && r.Verb is "list" or "watch").ToList();
        Assert.NotEmpty(audited);
        Assert.All(audited, r => Assert.Contains("as=PartialObjectMetadata", r.Accept, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_watch_event_carrying_a_full_Secret_is_refused_never_forwarded_and_the_watch_restarts()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CreateAsync(new Keystore
        {
            Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = ns },
            Spec = new CustomResources.Models.KeystoreSpec { Fqdn = "api.shop", CertName = "api", MetadataSecret = "api-metadata" },
        });
        var written = new List<byte[]>();

        // A proxy that drops the watch's as=PartialObjectMetadata: DevCluster then streams full Secrets.
        var recorder = new RecordingHandler();
        using var client = new k8s.Kubernetes(cluster.Server.ClientConfiguration(), new MetadataIgnoringProxy(), recorder);
        await using (var session = cluster.Start(_sink, _logs, client))
        {
            // Listed (the Keystore that names the Secret is known), then the Secret is created: it
            // reaches the watcher only as a watch event, which the Keystore makes worth forwarding.
            await session.Session.Synced.WaitAsync(TimeSpan.FromSeconds(30));
            await CreateSecretAsync(ns, "api-metadata", Marker(), RandomNumberGenerator.GetBytes(1024), written);

            // Refused with a warning that names the event, not its content, and the watch is restarted (again refused).
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (_logs.Lines.Count(Refusal) < 2)
            {
                Assert.True(DateTime.UtcNow < deadline, "the full Secret event was not refused twice within 30 s");
                await Task.Delay(50);
            }

            Assert.All(_logs.Lines.Where(Refusal), l => Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, l.Level));
            Assert.Contains(_logs.Lines, l => Refusal(l) && l.Message.Contains($"Added event carrying a Secret ({ns}/api-metadata)", StringComparison.Ordinal));
        }

        // The full object did reach the client (the test forced it), but nothing of it went further:
        // no delivery for the Secret at all, and no log line holds its data.
        Assert.Contains(recorder.Exchanges, e => e.PathAndQuery.Contains("watch=true", StringComparison.Ordinal)
            && Encoding.UTF8.GetString(e.Body).Contains("\"data\"", StringComparison.Ordinal));
        Assert.Empty(_sink.For($"{ns}/api-metadata"));
        Assert.All(written, value => Assert.DoesNotContain(_logs.Lines, l => l.Message.Contains(Convert.ToBase64String(value)[..16], StringComparison.Ordinal)
            || l.Message.Contains(Encoding.UTF8.GetString(value), StringComparison.Ordinal)));
        Assert.True(recorder.Exchanges.Count(e => e.PathAndQuery.Contains("watch=true", StringComparison.Ordinal) && e.Path == "/api/v1/secrets") >= 2);
    }

    private static bool Refusal(Support.LogLine line) =>
        line.EventId.Id == 3005 && line.Message.Contains("not PartialObjectMetadata: refused and not forwarded", StringComparison.Ordinal);

    /// <summary>What a misbehaving proxy would do: a watch of Secrets loses its Accept header's as=, so the server sends full objects.</summary>
    private sealed class MetadataIgnoringProxy : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath == "/api/v1/secrets" && request.RequestUri.Query.Contains("watch=true", StringComparison.Ordinal))
            {
                request.Headers.Accept.Clear();
                request.Headers.Accept.ParseAdd("application/json");
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task The_content_of_a_metadata_Secret_is_read_by_one_GET_of_that_Secret()
    {
        var ns = await cluster.NamespaceAsync();
        var value = Marker();
        await CreateSecretAsync(ns, "api-metadata", value, RandomNumberGenerator.GetBytes(1024), []);
        await CreateSecretAsync(ns, "other", Marker(), [], []);

        var recorder = new RecordingHandler();
        using var client = new k8s.Kubernetes(cluster.Server.ClientConfiguration(), recorder);
        var content = await new KubernetesMetadataSource(client).ReadAsync(ns, "api-metadata", CancellationToken.None);

        Assert.True(content.SecretExists);
        Assert.Contains(value, content.MetadataJson, StringComparison.Ordinal);
        var request = Assert.Single(recorder.Exchanges);
        Assert.Equal(("GET", $"/api/v1/namespaces/{ns}/secrets/api-metadata"), (request.Method, request.Path));
    }

    private static string Marker() => "m" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));

    private static byte[] MetadataJson(string password) => Encoding.UTF8.GetBytes($$"""{"tlsKeyStorePassword":"{{password}}"}""");

    private Task<V1Secret> CreateSecretAsync(string ns, string name, string password, byte[] bulk, List<byte[]> written)
    {
        written.Add(MetadataJson(password));
        if (bulk.Length > 0)
        {
            written.Add(bulk);
        }

        return cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = name },
            Data = new Dictionary<string, byte[]> { ["metadata.json"] = MetadataJson(password), ["bulk"] = bulk },
        }, ns);
    }

    private Task<V1Secret> PatchDataAsync(string ns, string name, string password, List<byte[]> written)
    {
        written.Add(MetadataJson(password));
        var patch = new V1Secret { Data = new Dictionary<string, byte[]> { ["metadata.json"] = MetadataJson(password) } };
        return cluster.Client.CoreV1.PatchNamespacedSecretAsync(new V1Patch(KubernetesJson.Serialize(patch), V1Patch.PatchType.MergePatch), name, ns);
    }
}
