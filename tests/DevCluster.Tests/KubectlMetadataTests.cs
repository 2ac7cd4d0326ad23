using k8s;
using System.Net;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Notary.DevCluster.Tests;

/// <summary>
/// What real kubectl v1.32 does with Secrets' metadata against DevCluster. kubectl has no flag that
/// sets Accept (<c>get --raw</c> sends <c>application/json, */*</c>); its table output
/// (<c>get</c>, <c>get --watch --output-watch-events</c>) asks for <c>as=Table</c>, whose rows carry
/// each object as PartialObjectMetadata (includeObject=Metadata, the server's default), so the
/// data never reaches it. <c>kubectl proxy</c> relays a client's own Accept: the metadata list and
/// watch through it are the ones Notary's watcher makes. -v=9 shows each request's headers.
/// </summary>
[Collection("kubectl")]
[Trait("Category", "Slow")]
public sealed class KubectlMetadataTests(KubectlFixture fx, ITestOutputHelper output)
{
    [Fact]
    public async Task Kubectl_get_and_its_watch_of_Secrets_ask_for_a_Table_whose_rows_carry_metadata_only()
    {
        var ns = await fx.NamespaceAsync();
        var data = await PartialObjectMetadataTests.CreateSecretAsync(fx.Client, ns, "s");

        var get = (await fx.KubectlAsync("get", "secrets", "-n", ns, "-v=9")).Ok();
        output.WriteLine(get.Stderr);
        Assert.Contains("Accept: application/json;as=Table;v=v1;g=meta.k8s.io", get.Stderr, StringComparison.Ordinal);
        // -v=9 logs the body with its quotes escaped.
        Assert.Contains("\\\"kind\\\":\\\"PartialObjectMetadata\\\"", get.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(data, get.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^s\s+Opaque\s+1\s+", get.Stdout);

        // The control: asked for the objects, kubectl gets the data.
        Assert.Contains(data, (await fx.KubectlAsync("get", "secrets", "-n", ns, "-o", "yaml")).Ok().Stdout, StringComparison.Ordinal);

        using var watch = fx.StartKubectl("get", "secrets", "-n", ns, "--watch", "--output-watch-events", "-v=9");
        Assert.Matches(@"^EVENT\s+NAME\s+TYPE\s+DATA\s+AGE", await watch.NextLineAsync());
        Assert.Matches(@"^ADDED\s+s\s+Opaque\s+1\s+", await watch.NextLineAsync());
        var later = await PartialObjectMetadataTests.CreateSecretAsync(fx.Client, ns, "t");
        Assert.Matches(@"^ADDED\s+t\s+Opaque\s+1\s+", await watch.NextLineAsync());
        await fx.Client.CoreV1.DeleteNamespacedSecretAsync("t", ns);
        Assert.Matches(@"^DELETED\s+t\s+Opaque\s+1\s+", await watch.NextLineAsync());

        // The watch asked for a Table too (the audit has the Accept kubectl sent).
        var watched = Assert.Single(fx.Server.Audit, r => r.Verb == "watch" && r.Resource == "secrets" && r.Namespace == ns);
        Assert.StartsWith("application/json;as=Table;v=v1;g=meta.k8s.io", watched.Accept, StringComparison.Ordinal);
        Assert.DoesNotContain(later, watch.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubectl_get_raw_cannot_ask_for_metadata_and_receives_the_data()
    {
        var ns = await fx.NamespaceAsync();
        var data = await PartialObjectMetadataTests.CreateSecretAsync(fx.Client, ns, "s");
        var raw = (await fx.KubectlAsync("get", "--raw", $"/api/v1/namespaces/{ns}/secrets", "-v=9")).Ok();
        output.WriteLine(raw.Stderr);
        Assert.Contains("Accept: application/json, */*", raw.Stderr, StringComparison.Ordinal);
        Assert.Equal("SecretList", (string?)JsonNode.Parse(raw.Stdout)!["kind"]);
        Assert.Contains(data, raw.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Through_kubectl_proxy_a_metadata_list_and_watch_of_Secrets_carry_no_data()
    {
        var ns = await fx.NamespaceAsync();
        var data = await PartialObjectMetadataTests.CreateSecretAsync(fx.Client, ns, "s");
        using var proxy = fx.StartKubectl("proxy", "--port=0", "--address=127.0.0.1");
        var serving = await proxy.NextLineAsync();
        var port = int.Parse(serving!.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var listRequest = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/{ns}/secrets");
        listRequest.Headers.TryAddWithoutValidation("Accept", PartialObjectMetadataTests.ListAccept);
        using var listResponse = await http.SendAsync(listRequest);
        Assert.Equal(HttpStatusCode.OK, listResponse.StatusCode);
        var list = await listResponse.Content.ReadAsStringAsync();
        Assert.Equal("PartialObjectMetadataList", (string?)JsonNode.Parse(list)!["kind"]);
        Assert.DoesNotContain(data, list, StringComparison.Ordinal);
        var rv = (string)JsonNode.Parse(list)!["metadata"]!["resourceVersion"]!;

        using var watchRequest = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/{ns}/secrets?watch=true&resourceVersion={rv}");
        watchRequest.Headers.TryAddWithoutValidation("Accept", PartialObjectMetadataTests.ObjectAccept);
        using var watchResponse = await http.SendAsync(watchRequest, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await watchResponse.Content.ReadAsStreamAsync());
        var added = await PartialObjectMetadataTests.CreateSecretAsync(fx.Client, ns, "t");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var line = await reader.ReadLineAsync(timeout.Token);
        var e = JsonNode.Parse(line!)!;
        Assert.Equal(("ADDED", "PartialObjectMetadata", "t"), ((string?)e["type"], (string?)e["object"]!["kind"], (string?)e["object"]!["metadata"]!["name"]));
        Assert.DoesNotContain(added, line, StringComparison.Ordinal);
        Assert.DoesNotContain("\"data\"", line, StringComparison.Ordinal);
    }
}
