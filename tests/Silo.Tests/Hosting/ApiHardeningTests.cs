using System.Net;
using System.Net.Http.Headers;
using System.Text;
using k8s;
using Notary.Dev;
using Notary.Silo.Tests.Support;

namespace Notary.Silo.Tests.Hosting;

/// <summary>
/// The HTTP API of a running host (dev mode: DevCluster, one silo, real TokenReview): a flooding
/// client is throttled before Notary asks the API server anything, and /readyz follows whether
/// the API server can be reached; /healthz stays liveness only.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ApiHardeningTests
{
    private static async Task<DevEnvironment> StartAsync(Dictionary<string, string?> configuration, Func<DevClusterServerConnection>? connection = null)
    {
        var root = Directory.CreateTempSubdirectory("notary-silo-api-").FullName;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await DevEnvironment.StartAsync(new DevModeOptions
                {
                    KubeconfigPath = Path.Combine(root, "kubeconfig"),
                    ApiPort = FreePorts.Next(),
                    SiloPort = FreePorts.Next(),
                    Configuration = configuration,
                    NotaryConnection = connection is null ? null : (cluster, _) => Task.FromResult(connection().For(cluster)),
                });
            }
            catch (IOException) when (attempt < 3)
            {
                // A free port taken between the check and the bind: try others.
            }
        }
    }

    /// <summary>How the host reaches DevCluster, given the cluster once it runs.</summary>
    private sealed record DevClusterServerConnection(Func<DevCluster.DevClusterServer, k8s.KubernetesClientConfiguration> For);

    private static int TokenReviews(DevEnvironment dev) => dev.Cluster.Audit.Count(r => r.Resource == "tokenreviews" && r.Verb == "create");

    private static HttpRequestMessage Post(string token) => new(HttpMethod.Post, "/v1/breaches")
    {
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
        Content = new StringContent("""{"certificate":"shop/web","mode":"rotate","reason":"flood"}""", Encoding.UTF8, "application/json"),
    };

    [Fact]
    public async Task A_flood_gets_429_with_Retry_After_and_no_TokenReview_is_sent_for_the_throttled_requests()
    {
        await using var dev = await StartAsync(new()
        {
            ["Notary:Api:RateLimit:PermitsPerWindow"] = "5",
            ["Notary:Api:RateLimit:Window"] = "00:01:00",
        });
        using var http = new HttpClient { BaseAddress = dev.ApiUrl };
        var before = TokenReviews(dev);

        // Invalid tokens, each different: neither the cache nor anything else spares a TokenReview.
        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 20; i++)
        {
            answers.Add(await http.SendAsync(Post($"flood-{i}-{Guid.NewGuid():N}")));
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 5).Concat(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 15)), answers.Select(a => a.StatusCode));
        foreach (var throttled in answers.Skip(5))
        {
            var retryAfter = throttled.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
            Assert.StartsWith("{\"error\":\"too many requests from this client: try again in ", await throttled.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(5, TokenReviews(dev) - before);

        // Reads and lifts count against the same budget: the client is the address, not the route.
        using var get = new HttpRequestMessage(HttpMethod.Get, "/v1/breaches/shop.web-1a2b3c4d") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", dev.Cluster.AdminToken) } };
        Assert.Equal(HttpStatusCode.TooManyRequests, (await http.SendAsync(get)).StatusCode);
        Assert.Equal(5, TokenReviews(dev) - before);

        // The probes and metrics are not the breach API and are not throttled.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }

    [Fact]
    public async Task With_audiences_a_token_made_for_the_API_server_gets_401_and_one_made_for_Notary_gets_through()
    {
        await using var dev = await StartAsync(new() { ["Notary:Api:Audiences:0"] = "notary" });
        using var http = new HttpClient { BaseAddress = dev.ApiUrl };
        using var admin = new k8s.Kubernetes(dev.Cluster.ClientConfiguration());
        await admin.CoreV1.CreateNamespaceAsync(new k8s.Models.V1Namespace { Metadata = new k8s.Models.V1ObjectMeta { Name = "shop" } });
        await admin.CoreV1.CreateNamespacedServiceAccountAsync(new k8s.Models.V1ServiceAccount { Metadata = new k8s.Models.V1ObjectMeta { Name = "oncall" } }, "shop");
        async Task<string> TokenAsync(string? audience) => (await admin.CoreV1.CreateNamespacedServiceAccountTokenAsync(
            new k8s.Models.Authenticationv1TokenRequest { Spec = new k8s.Models.V1TokenRequestSpec { Audiences = audience is null ? null : [audience] } }, "oncall", "shop")).Status.Token;

        using var forApiServer = await http.SendAsync(Post(await TokenAsync(null)));
        using var forNotary = await http.SendAsync(Post(await TokenAsync("notary")));

        Assert.Equal(HttpStatusCode.Unauthorized, forApiServer.StatusCode);
        // Authenticated; the ServiceAccount has no Role on breaches, so RBAC refuses it.
        Assert.Equal(HttpStatusCode.Forbidden, forNotary.StatusCode);
    }

    [Fact]
    public async Task Readyz_is_503_while_the_API_server_is_unreachable_and_200_when_silo_and_API_server_are_fine()
    {
        TcpRelay? relay = null;
        await using var dev = await StartAsync(
            new()
            {
                ["Notary:Watcher:LeaseDuration"] = "00:00:03",
                ["Notary:Watcher:RenewDeadline"] = "00:00:02",
                ["Notary:Watcher:RetryPeriod"] = "00:00:00.250",
                ["Notary:Health:ApiServerContactMaxAge"] = "00:00:02",
            },
            () => new DevClusterServerConnection(cluster =>
            {
                relay = TcpRelay.Start(FreePorts.Next(), cluster.Url);
                var configuration = cluster.ClientConfiguration();
                configuration.Host = new UriBuilder(cluster.Url) { Port = relay.Port }.Uri.ToString();
                return configuration;
            }));
        await using var _ = relay!;
        using var http = new HttpClient { BaseAddress = dev.ApiUrl };

        await EventuallyAsync(http, HttpStatusCode.OK, "ready once the silo is active and the watcher has its Lease answered");

        relay!.Cut();
        var body = await EventuallyAsync(http, HttpStatusCode.ServiceUnavailable, "not ready once the API server cannot be reached");
        // Unauthenticated: the answer is the status word, no exception text, address or path.
        Assert.Equal("Unhealthy", body);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

        relay.Restore();
        await EventuallyAsync(http, HttpStatusCode.OK, "ready again once the API server answers");
    }

    private static async Task<string> EventuallyAsync(HttpClient http, HttpStatusCode wanted, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var last = "";
        while (true)
        {
            using var answer = await http.GetAsync("/readyz", timeout.Token);
            last = $"{(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync(timeout.Token)}";
            if (answer.StatusCode == wanted)
            {
                return await answer.Content.ReadAsStringAsync(timeout.Token);
            }

            try
            {
                await Task.Delay(100, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"/readyz: {what}; last answer {last}");
            }
        }
    }
}
