using System.Net;
using System.Text;
using k8s;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>
/// A Secret the API server refuses to create (over 1 MiB: 422 "Too long", or 413 from a proxy in
/// front of it) is refused for good: the store throws <see cref="SecretStoreRejectedException"/>,
/// which the store grains do not retry. DevCluster has no size limit, so the answers here come
/// from a handler that speaks the API server's Status object.
/// </summary>
public sealed class SecretStoreRefusalTests
{
    private const string TooLong = "Secret \"api\" is invalid: data: Too long: must have at most 1048576 bytes";

    /// <summary>GET answers 404 (no Secret yet); POST answers with <paramref name="refusal"/>; every call is counted.</summary>
    private sealed class ApiServer(HttpStatusCode refusal) : DelegatingHandler
    {
        public int Creates { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Post)
            {
                Creates++;
                return Task.FromResult(Status(refusal, refusal == HttpStatusCode.UnprocessableEntity ? "Invalid" : "RequestEntityTooLarge", TooLong));
            }

            return Task.FromResult(Status(HttpStatusCode.NotFound, "NotFound", "secrets \"api\" not found"));
        }

        private static HttpResponseMessage Status(HttpStatusCode code, string reason, string message) => new(code)
        {
            Content = new StringContent(
                $$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":{{System.Text.Json.JsonSerializer.Serialize(message)}},"reason":"{{reason}}","code":{{(int)code}}}""",
                Encoding.UTF8,
                "application/json"),
        };
    }

    [Theory]
    [InlineData(HttpStatusCode.UnprocessableEntity)]
    [InlineData(HttpStatusCode.RequestEntityTooLarge)]
    public async Task A_Secret_the_API_server_refuses_as_too_large_is_rejected_not_failed(HttpStatusCode refusal)
    {
        var server = new ApiServer(refusal);
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:9" }, server);
        var store = new KubernetesSecretStore(client, ClusterFixture.Options(), ClusterFixture.Log<KubernetesSecretStore>());
        var write = new StoreWrite(new ResourceKey("shop", "api"), ResourceKind.Truststore, "api.shop.svc", "truststore.p12", new Dictionary<string, byte[]> { ["truststore.p12"] = new byte[(1024 * 1024) + 1] });

        var refused = await Assert.ThrowsAsync<SecretStoreRejectedException>(() => store.PutAsync(write, CancellationToken.None));

        Assert.Contains("shop/api", refused.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.Creates);
    }
}
