using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Notary.DevCluster.Tests;

/// <summary>
/// PartialObjectMetadata as the real API server serves it (apiserver's Accept negotiation and its
/// asPartialObjectMetadata/asPartialObjectMetadataList transforms): a client that asks for
/// metadata gets kind PartialObjectMetadata(List), apiVersion meta.k8s.io/v1 and metadata only.
/// Driven by KubernetesClient, raw through its own HttpClient (every byte checked) and through
/// its generated calls with a custom Accept, as Notary's watcher makes them.
/// </summary>
[Collection("client")]
[Trait("Category", "Slow")]
public sealed class PartialObjectMetadataTests(ClientFixture fx)
{
    public const string ListAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    public const string ObjectAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

    /// <summary>A Secret whose data holds a random value; returns the value's base64 (how data travels).</summary>
    internal static async Task<string> CreateSecretAsync(IKubernetes client, string ns, string name)
    {
        var value = RandomNumberGenerator.GetBytes(48);
        await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["app"] = "shop" }, Annotations = new Dictionary<string, string> { ["note"] = "kept" } },
            Data = new Dictionary<string, byte[]> { ["password"] = value },
        }, ns);
        return Convert.ToBase64String(value);
    }

    private async Task<(HttpStatusCode Code, string Body, JsonObject? Json)> GetAsync(string pathAndQuery, string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fx.Server.Url, pathAndQuery));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fx.Server.AdminToken);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await fx.Client.HttpClient.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, body, JsonNode.Parse(body) as JsonObject);
    }

    [Fact]
    public async Task A_metadata_list_of_Secrets_carries_each_Secrets_metadata_and_no_data()
    {
        var ns = await fx.NamespaceAsync();
        var first = await CreateSecretAsync(fx.Client, ns, "a");
        var second = await CreateSecretAsync(fx.Client, ns, "b");

        foreach (var path in new[] { $"/api/v1/namespaces/{ns}/secrets", "/api/v1/secrets" })
        {
            var (code, body, list) = await GetAsync(path, ListAccept);
            Assert.Equal(HttpStatusCode.OK, code);
            Assert.Equal(("PartialObjectMetadataList", "meta.k8s.io/v1"), ((string?)list!["kind"], (string?)list["apiVersion"]));
            Assert.NotNull((string?)list["metadata"]!["resourceVersion"]);
            var ours = list["items"]!.AsArray().Select(i => i!.AsObject()).Where(i => (string?)i["metadata"]!["namespace"] == ns).ToList();
            Assert.Equal(["a", "b"], ours.Select(i => (string?)i["metadata"]!["name"]));
            foreach (var item in ours)
            {
                Assert.Equal(["kind", "apiVersion", "metadata"], item.Select(p => p.Key));
                Assert.Equal(("PartialObjectMetadata", "meta.k8s.io/v1"), ((string?)item["kind"], (string?)item["apiVersion"]));
                var meta = item["metadata"]!;
                Assert.True(Guid.TryParse((string?)meta["uid"], out _));
                Assert.NotNull((string?)meta["resourceVersion"]);
                Assert.Equal(("shop", "kept"), ((string?)meta["labels"]!["app"], (string?)meta["annotations"]!["note"]));
            }

            Assert.DoesNotContain("\"data\"", body, StringComparison.Ordinal);
            Assert.DoesNotContain(first, body, StringComparison.Ordinal);
            Assert.DoesNotContain(second, body, StringComparison.Ordinal);
        }

        // Paged as any list: limit and continue.
        var (_, _, page) = await GetAsync($"/api/v1/namespaces/{ns}/secrets?limit=1", ListAccept);
        Assert.Equal("a", (string?)page!["items"]![0]!["metadata"]!["name"]);
        var next = Uri.EscapeDataString((string)page["metadata"]!["continue"]!);
        var (_, _, rest) = await GetAsync($"/api/v1/namespaces/{ns}/secrets?limit=1&continue={next}", ListAccept);
        Assert.Equal(("PartialObjectMetadataList", "b"), ((string?)rest!["kind"], (string?)rest["items"]![0]!["metadata"]!["name"]));

        // Through KubernetesClient's generated call with the Accept header, as Notary's watcher lists.
        using var response = await fx.Client.CoreV1.ListNamespacedSecretWithHttpMessagesAsync(ns,
            customHeaders: new Dictionary<string, IReadOnlyList<string>> { ["Accept"] = [ListAccept] });
        Assert.Equal("PartialObjectMetadataList", response.Body.Kind);
        Assert.Equal(["a", "b"], response.Body.Items.Select(s => s.Metadata.Name));
        Assert.All(response.Body.Items, s => Assert.Null(s.Data));
    }

    [Fact]
    public async Task Accept_is_negotiated_clause_by_clause_as_the_real_server_does()
    {
        var ns = await fx.NamespaceAsync();
        var data = await CreateSecretAsync(fx.Client, ns, "s");
        var list = $"/api/v1/namespaces/{ns}/secrets";
        var one = $"/api/v1/namespaces/{ns}/secrets/s";

        // client-go's metadata client: protobuf first (DevCluster answers JSON), the JSON metadata clause, plain JSON last.
        var (_, _, fallback) = await GetAsync(list, "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1," + ListAccept + ",application/json");
        Assert.Equal("PartialObjectMetadataList", (string?)fallback!["kind"]);
        var (_, _, beta) = await GetAsync(list, "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1");
        Assert.Equal(("PartialObjectMetadataList", "meta.k8s.io/v1beta1"), ((string?)beta!["kind"], (string?)beta["apiVersion"]));

        var (_, oneBody, single) = await GetAsync(one, ObjectAccept);
        Assert.Equal(("PartialObjectMetadata", "meta.k8s.io/v1", "s"), ((string?)single!["kind"], (string?)single["apiVersion"], (string?)single["metadata"]!["name"]));
        Assert.DoesNotContain(data, oneBody, StringComparison.Ordinal);

        // A transform the server does not know is skipped for the next clause, or refused when none is left.
        var (_, _, plain) = await GetAsync(list, "application/json;as=Foo;g=meta.k8s.io;v=v1,application/json");
        Assert.Equal("SecretList", (string?)plain!["kind"]);
        Assert.Equal(data, (string?)plain["items"]![0]!["data"]!["password"]);
        foreach (var refused in new[] { "application/json;as=Foo;g=meta.k8s.io;v=v1", "application/json;as=PartialObjectMetadataList;g=apps;v=v1", "text/html" })
        {
            var (code, _, status) = await GetAsync(list, refused);
            Assert.Equal(HttpStatusCode.NotAcceptable, code);
            Assert.Equal(("Status", "NotAcceptable", 406), ((string?)status!["kind"], (string?)status["reason"], (int?)status["code"]));
            Assert.Equal("only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf", (string?)status["message"]);
        }

        // The single-object kind of a list, or the list kind of one object: 406, worded as the real server words it.
        var (listCode, _, listStatus) = await GetAsync(list, ObjectAccept);
        Assert.Equal(HttpStatusCode.NotAcceptable, listCode);
        Assert.StartsWith("you requested PartialObjectMetadata, but the requested object is a list", (string?)listStatus!["message"], StringComparison.Ordinal);
        var (oneCode, _, oneStatus) = await GetAsync(one, ListAccept);
        Assert.Equal(HttpStatusCode.NotAcceptable, oneCode);
        Assert.StartsWith("you requested PartialObjectMetadataList, but the requested object is not a list", (string?)oneStatus!["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_metadata_watch_sends_every_event_and_bookmark_as_PartialObjectMetadata()
    {
        var ns = await fx.NamespaceAsync();
        var before = await CreateSecretAsync(fx.Client, ns, "before");
        var (_, _, listed) = await GetAsync($"/api/v1/namespaces/{ns}/secrets", ListAccept);
        var rv = (string)listed!["metadata"]!["resourceVersion"]!;

        await using var watch = await WatchStream.OpenAsync(fx, $"/api/v1/namespaces/{ns}/secrets?watch=true&allowWatchBookmarks=true&resourceVersion={rv}", ObjectAccept);
        var during = await CreateSecretAsync(fx.Client, ns, "during");
        await fx.Client.CoreV1.PatchNamespacedSecretAsync(new V1Patch("""{"stringData":{"password":"changed-value-1234"}}""", V1Patch.PatchType.MergePatch), "during", ns);
        await fx.Client.CoreV1.DeleteNamespacedSecretAsync("during", ns);

        var events = await watch.ReadUntilAsync(e => (string?)e["type"] == "DELETED");
        Assert.Equal(["ADDED", "MODIFIED", "DELETED"], events.Where(e => (string?)e["type"] != "BOOKMARK").Select(e => (string?)e["type"]));
        foreach (var e in events)
        {
            var o = e["object"]!;
            Assert.Equal(("PartialObjectMetadata", "meta.k8s.io/v1"), ((string?)o["kind"], (string?)o["apiVersion"]));
            if ((string?)e["type"] != "BOOKMARK")
            {
                Assert.Equal(("during", "shop"), ((string?)o["metadata"]!["name"], (string?)o["metadata"]!["labels"]!["app"]));
            }
        }

        // Bookmarks (every 300 ms in this fixture) are PartialObjectMetadata too.
        var bookmark = (await watch.ReadUntilAsync(e => (string?)e["type"] == "BOOKMARK"))[^1];
        Assert.Equal("PartialObjectMetadata", (string?)bookmark["object"]!["kind"]);
        Assert.NotNull((string?)bookmark["object"]!["metadata"]!["resourceVersion"]);

        Assert.DoesNotContain("\"data\"", watch.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(during, watch.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes("changed-value-1234")), watch.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(before, watch.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_watch_asking_the_list_kind_gets_whole_objects_as_the_real_server_sends_them()
    {
        // apiserver's watchEmbeddedEncoder: the PartialObjectMetadataList transform fails for each
        // event's single object and the object is sent untransformed. A watcher must ask for
        // PartialObjectMetadata; this is why (Notary's watcher test checks it does).
        var ns = await fx.NamespaceAsync();
        await using var watch = await WatchStream.OpenAsync(fx, $"/api/v1/namespaces/{ns}/secrets?watch=true", ListAccept);
        var data = await CreateSecretAsync(fx.Client, ns, "s");
        var added = (await watch.ReadUntilAsync(e => (string?)e["type"] == "ADDED"))[^1];
        Assert.Equal("Secret", (string?)added["object"]!["kind"]);
        Assert.Equal(data, (string?)added["object"]!["data"]!["password"]);
    }
}

/// <summary>A raw watch stream read line by line through the fixture client's HttpClient.</summary>
internal sealed class WatchStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;
    private readonly StringBuilder _text = new();

    private WatchStream(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    public string Text => _text.ToString();

    public static async Task<WatchStream> OpenAsync(DevClusterFixture fx, string pathAndQuery, string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fx.Server.Url, pathAndQuery));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fx.Server.AdminToken);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        var response = await fx.Client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return new WatchStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>Events up to and including the first that matches (10 s at most).</summary>
    public async Task<List<JsonObject>> ReadUntilAsync(Func<JsonObject, bool> last)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var events = new List<JsonObject>();
        while (await _reader.ReadLineAsync(timeout.Token) is { } line)
        {
            _text.AppendLine(line);
            var e = JsonNode.Parse(line)!.AsObject();
            events.Add(e);
            if (last(e))
            {
                return events;
            }
        }

        throw new InvalidOperationException("the watch ended early: " + Text);
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
