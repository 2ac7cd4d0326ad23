using System.Net;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Notary.CustomResources;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>
/// TokenReview and SubjectAccessReview against DevCluster, with Notary's client holding only the
/// two review rules of README's RBAC table (a ServiceAccount token, not the admin's).
/// </summary>
[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class AccessReviewerTests(ClusterFixture cluster)
{
    /// <summary>The rules Notary needs for the breach API's reviews (src/Kubernetes/README.md).</summary>
    public static readonly V1PolicyRule[] ReviewRules =
    [
        new() { ApiGroups = ["authentication.k8s.io"], Resources = ["tokenreviews"], Verbs = ["create"] },
        new() { ApiGroups = ["authorization.k8s.io"], Resources = ["subjectaccessreviews"], Verbs = ["create"] },
    ];

    [Fact]
    public async Task A_ServiceAccount_token_authenticates_as_its_ServiceAccount()
    {
        using var notary = await NotaryClientAsync();
        var ns = await cluster.NamespaceAsync();
        var (token, uid) = await ServiceAccountTokenAsync(ns, "oncall");
        var reviewer = Reviewer(notary);

        var user = await reviewer.AuthenticateAsync(token, CancellationToken.None);

        Assert.NotNull(user);
        Assert.Equal($"system:serviceaccount:{ns}:oncall", user.Name);
        Assert.Equal(uid, user.Uid);
        Assert.Contains($"system:serviceaccounts:{ns}", user.Groups);
        Assert.Contains("system:authenticated", user.Groups);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")]
    public async Task Garbage_does_not_authenticate(string token)
    {
        using var notary = await NotaryClientAsync();

        Assert.Null(await Reviewer(notary).AuthenticateAsync(token, CancellationToken.None));
    }

    [Fact]
    public async Task A_token_stops_authenticating_when_its_ServiceAccount_is_deleted_once_its_cached_answer_expires()
    {
        using var notary = await NotaryClientAsync();
        var ns = await cluster.NamespaceAsync();
        var (token, _) = await ServiceAccountTokenAsync(ns, "gone");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var reviewer = Reviewer(notary, time: time);
        Assert.NotNull(await reviewer.AuthenticateAsync(token, CancellationToken.None));

        await cluster.Client.CoreV1.DeleteNamespacedServiceAccountAsync("gone", ns);

        // The answer is reused for the cache's 10 s, and no longer.
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.NotNull(await reviewer.AuthenticateAsync(token, CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(await reviewer.AuthenticateAsync(token, CancellationToken.None));
    }

    [Fact]
    public async Task Two_calls_with_one_token_send_one_TokenReview_and_the_answer_expires_on_the_clock()
    {
        using var notary = await NotaryClientAsync();
        var ns = await cluster.NamespaceAsync();
        var (token, _) = await ServiceAccountTokenAsync(ns, "poller");
        var (other, _) = await ServiceAccountTokenAsync(ns, "other");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var reviewer = Reviewer(notary, time: time);
        var before = TokenReviews();

        Assert.NotNull(await reviewer.AuthenticateAsync(token, CancellationToken.None));
        Assert.NotNull(await reviewer.AuthenticateAsync(token, CancellationToken.None));
        Assert.Equal(1, TokenReviews() - before);

        // Another token is another answer.
        Assert.NotNull(await reviewer.AuthenticateAsync(other, CancellationToken.None));
        Assert.Equal(2, TokenReviews() - before);

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.NotNull(await reviewer.AuthenticateAsync(token, CancellationToken.None));
        Assert.Equal(3, TokenReviews() - before);
    }

    [Fact]
    public async Task A_refusal_is_cached_for_the_shorter_negative_ttl()
    {
        using var notary = await NotaryClientAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var reviewer = Reviewer(notary, time: time);
        var before = TokenReviews();

        Assert.Null(await reviewer.AuthenticateAsync("not-a-token", CancellationToken.None));
        Assert.Null(await reviewer.AuthenticateAsync("not-a-token", CancellationToken.None));
        Assert.Equal(1, TokenReviews() - before);

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(await reviewer.AuthenticateAsync("not-a-token", CancellationToken.None));
        Assert.Equal(2, TokenReviews() - before);
    }

    [Fact]
    public async Task The_cache_holds_at_most_MaxEntries_answers_the_oldest_going_first()
    {
        using var notary = await NotaryClientAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var reviewer = Reviewer(notary, o => o.TokenCache.MaxEntries = 2, time);
        var before = TokenReviews();

        foreach (var token in new[] { "bad-1", "bad-2", "bad-3", "bad-3", "bad-2", "bad-1" })
        {
            Assert.Null(await reviewer.AuthenticateAsync(token, CancellationToken.None));
        }

        // bad-1 was pushed out by bad-3, so it is reviewed again; bad-2 and bad-3 were still held.
        Assert.Equal(4, TokenReviews() - before);
    }

    [Fact]
    public async Task With_audiences_only_a_token_issued_for_one_of_them_authenticates()
    {
        using var notary = await NotaryClientAsync();
        var ns = await cluster.NamespaceAsync();
        var reviewer = Reviewer(notary, o => o.Audiences = ["notary"]);
        var (forNotary, _) = await ServiceAccountTokenAsync(ns, "oncall", "notary");
        var (forApiServer, _) = await ServiceAccountTokenAsync(ns, "workload");

        var user = await reviewer.AuthenticateAsync(forNotary, CancellationToken.None);
        Assert.Equal($"system:serviceaccount:{ns}:oncall", user?.Name);
        Assert.Null(await reviewer.AuthenticateAsync(forApiServer, CancellationToken.None));
        // The cluster admin's static token is not meant for Notary either.
        Assert.Null(await reviewer.AuthenticateAsync(cluster.Server.AdminToken, CancellationToken.None));

        // And without audiences, Notary takes what the API server takes.
        Assert.Null(await Reviewer(notary).AuthenticateAsync(forNotary, CancellationToken.None));
        Assert.NotNull(await Reviewer(notary).AuthenticateAsync(forApiServer, CancellationToken.None));
    }

    [Fact]
    public async Task A_review_that_authenticates_without_confirming_an_audience_is_refused()
    {
        // An authenticator that ignores spec.audiences (an old webhook authenticator) answers
        // authenticated without status.audiences: that does not say the token was meant for Notary.
        var handler = new FixedTokenReview("""{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","status":{"authenticated":true,"user":{"username":"mallory"}}}""");
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" }, handler);
        var reviewer = Reviewer(client, o => o.Audiences = ["notary"]);

        Assert.Null(await reviewer.AuthenticateAsync("token", CancellationToken.None));
        Assert.Contains("\"audiences\":[\"notary\"]", handler.LastBody, StringComparison.Ordinal);
        Assert.Equal("mallory", (await Reviewer(client).AuthenticateAsync("token", CancellationToken.None))?.Name);
    }

    private sealed class FixedTokenReview(string answer) : DelegatingHandler
    {
        public string LastBody { get; private set; } = "";

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            LastBody = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.Created) { RequestMessage = request, Content = new StringContent(answer, System.Text.Encoding.UTF8, "application/json") };
        }
    }

    /// <summary>TokenReviews the API server has answered so far (its audit log), from every client.</summary>
    private int TokenReviews() => cluster.Server.Audit.Count(r => r.Resource == "tokenreviews" && r.Verb == "create");

    [Fact]
    public async Task A_Role_on_breaches_allows_create_in_its_namespace_only()
    {
        using var notary = await NotaryClientAsync();
        var allowedNs = await cluster.NamespaceAsync();
        var otherNs = await cluster.NamespaceAsync();
        var (token, _) = await ServiceAccountTokenAsync(allowedNs, "oncall");
        await GrantAsync(allowedNs, "oncall", allowedNs, "create");
        var reviewer = Reviewer(notary);
        var user = (await reviewer.AuthenticateAsync(token, CancellationToken.None))!;

        Assert.True((await reviewer.CanCreateBreachAsync(user, allowedNs, CancellationToken.None)).Allowed);
        Assert.False((await reviewer.CanCreateBreachAsync(user, otherNs, CancellationToken.None)).Allowed);
        // The rule names one verb: delete (lifting a quarantine) is another permission.
        Assert.False((await reviewer.CanAccessBreachesAsync(user, "delete", allowedNs, CancellationToken.None)).Allowed);
    }

    [Fact]
    public async Task Without_a_Role_nothing_is_allowed_and_a_rule_on_another_resource_does_not_count()
    {
        using var notary = await NotaryClientAsync();
        var ns = await cluster.NamespaceAsync();
        var (token, _) = await ServiceAccountTokenAsync(ns, "dev");
        var reviewer = Reviewer(notary);
        var user = (await reviewer.AuthenticateAsync(token, CancellationToken.None))!;
        Assert.False((await reviewer.CanCreateBreachAsync(user, ns, CancellationToken.None)).Allowed);

        // Create on certificates.notary.dev is not create on breaches.notary.dev.
        await cluster.Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "certs" },
            Rules = [new V1PolicyRule { ApiGroups = ["notary.dev"], Resources = ["certificates"], Verbs = ["create"] }],
        }, ns);
        await BindAsync(ns, "certs", "dev", ns);

        Assert.False((await reviewer.CanCreateBreachAsync(user, ns, CancellationToken.None)).Allowed);
    }

    [Fact]
    public async Task Without_the_review_rules_Notary_gets_a_sanitized_403_that_never_holds_the_token()
    {
        using var notary = await NotaryClientAsync(rules: []);
        var ns = await cluster.NamespaceAsync();
        var (token, _) = await ServiceAccountTokenAsync(ns, "oncall");

        var error = await Assert.ThrowsAsync<KubernetesApiException>(() => Reviewer(notary).AuthenticateAsync(token, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, error.StatusCode);
        Assert.Contains("tokenreviews", error.Message, StringComparison.Ordinal);
        Assert.Null(error.InnerException);
        Assert.DoesNotContain(token, error.ToString(), StringComparison.Ordinal);
    }

    private static KubernetesAccessReviewer Reviewer(IKubernetes client, Action<ApiAuthenticationOptions>? change = null, TimeProvider? time = null)
    {
        var options = new ApiAuthenticationOptions();
        change?.Invoke(options);
        return new(client, Microsoft.Extensions.Options.Options.Create(options), time ?? TimeProvider.System, ClusterFixture.Log<KubernetesAccessReviewer>());
    }

    /// <summary>A client for a fresh ServiceAccount bound (cluster-wide) to <paramref name="rules"/>, by default <see cref="ReviewRules"/>.</summary>
    private async Task<k8s.Kubernetes> NotaryClientAsync(V1PolicyRule[]? rules = null)
    {
        var ns = await cluster.NamespaceAsync();
        var (token, _) = await ServiceAccountTokenAsync(ns, "notary");
        var name = "notary-reviews-" + Guid.NewGuid().ToString("N")[..8];
        await cluster.Client.RbacAuthorizationV1.CreateClusterRoleAsync(new V1ClusterRole { Metadata = new V1ObjectMeta { Name = name }, Rules = rules ?? ReviewRules });
        await cluster.Client.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new V1ObjectMeta { Name = name },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = name },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "notary", NamespaceProperty = ns }],
        });
        return new k8s.Kubernetes(cluster.Server.ClientConfiguration(token));
    }

    private async Task<(string Token, string Uid)> ServiceAccountTokenAsync(string ns, string name, string? audience = null)
    {
        var account = await cluster.Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = name } }, ns);
        var request = await cluster.Client.CoreV1.CreateNamespacedServiceAccountTokenAsync(
            new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { ExpirationSeconds = 3600, Audiences = audience is null ? null : [audience] } }, name, ns);
        return (request.Status.Token, account.Metadata.Uid);
    }

    private async Task GrantAsync(string roleNs, string account, string accountNs, params string[] verbs)
    {
        await cluster.Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "breach-reporter" },
            Rules = [new V1PolicyRule { ApiGroups = ["notary.dev"], Resources = ["breaches"], Verbs = verbs }],
        }, roleNs);
        await BindAsync(roleNs, "breach-reporter", account, accountNs);
    }

    private async Task BindAsync(string roleNs, string role, string account, string accountNs) =>
        await cluster.Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = role },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = role },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = account, NamespaceProperty = accountNs }],
        }, roleNs);
}
