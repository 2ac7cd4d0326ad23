using k8s;
using k8s.Models;

namespace Notary.DevCluster.Tests;

/// <summary>
/// TokenReview with audiences, as the API server documents it: a token is authenticated only for
/// audiences it was issued for; without spec.audiences that is the API server's own; and
/// status.audiences names the audiences it was confirmed for. Through KubernetesClient.
/// </summary>
[Collection("client")]
[Trait("Category", "Slow")]
public sealed class TokenReviewAudienceTests(ClientFixture fx)
{
    private const string ApiServer = "https://kubernetes.default.svc.cluster.local";

    private async Task<string> TokenAsync(string ns, params string[] audiences)
    {
        var name = "caller-" + Guid.NewGuid().ToString("N")[..6];
        await fx.Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = name } }, ns);
        var request = await fx.Client.CoreV1.CreateNamespacedServiceAccountTokenAsync(
            new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { Audiences = audiences.Length > 0 ? audiences : null } }, name, ns);
        return request.Status.Token;
    }

    private async Task<V1TokenReviewStatus> ReviewAsync(string token, params string[] audiences) =>
        (await fx.Client.AuthenticationV1.CreateTokenReviewAsync(new V1TokenReview
        {
            Spec = new V1TokenReviewSpec { Token = token, Audiences = audiences.Length > 0 ? audiences : null },
        })).Status;

    [Fact]
    public async Task A_token_for_an_audience_is_confirmed_for_it_and_for_nothing_else()
    {
        var ns = await fx.NamespaceAsync();
        var notary = await TokenAsync(ns, "notary");

        var confirmed = await ReviewAsync(notary, "notary", "other");
        Assert.True(confirmed.Authenticated);
        Assert.Equal(["notary"], confirmed.Audiences);

        // Without spec.audiences the API server's own audience is asked for: not this token's.
        Assert.NotEqual(true, (await ReviewAsync(notary)).Authenticated);
        var other = await ReviewAsync(notary, "other");
        Assert.NotEqual(true, other.Authenticated);
        Assert.Contains("audiences", other.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_default_token_is_confirmed_for_the_API_server_only_and_status_says_so()
    {
        var ns = await fx.NamespaceAsync();
        var plain = await TokenAsync(ns);

        var review = await ReviewAsync(plain);
        Assert.True(review.Authenticated);
        Assert.Equal([ApiServer], review.Audiences);
        Assert.NotEqual(true, (await ReviewAsync(plain, "notary")).Authenticated);
    }

    [Fact]
    public async Task The_admins_static_token_is_audience_agnostic_so_only_the_API_servers_audience_confirms_it()
    {
        Assert.True((await ReviewAsync(fx.Server.AdminToken)).Authenticated);
        Assert.True((await ReviewAsync(fx.Server.AdminToken, ApiServer)).Authenticated);
        Assert.NotEqual(true, (await ReviewAsync(fx.Server.AdminToken, "notary")).Authenticated);
    }
}
