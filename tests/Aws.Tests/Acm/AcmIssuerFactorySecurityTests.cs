using Amazon.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Notary.Aws.Acm;
using Notary.Aws.Sts;
using Notary.Grains.Abstractions;

namespace Notary.Aws.Tests.Acm;

/// <summary>What the operator allows of an acm issuer's spec, the ExternalId per issuer, AWS text in status, and the factory's caches.</summary>
public sealed class AcmIssuerFactorySecurityTests
{
    private const string Ca = "arn:aws:acm-pca:us-west-2:111122223333:certificate-authority/abc";

    [Theory]
    [InlineData(null, null, false, false, null)]
    [InlineData("team-a", null, false, false, "AllowNamespacedAcm")]
    [InlineData("team-a", null, true, false, null)]
    [InlineData(null, "https://acm-pca.internal.example:8443/", false, false, null)]
    [InlineData(null, "http://127.0.0.1:5000/", false, false, "not https")]
    [InlineData(null, "http://127.0.0.1:5000/", false, true, null)]
    [InlineData(null, "http://[::1]:5000/", false, true, null)]
    [InlineData(null, "http://169.254.169.254/latest/", false, true, "not https")]
    [InlineData(null, "http://metadata.internal/", false, true, "not https")]
    [InlineData("team-a", "https://attacker.example/", false, true, "AllowNamespacedAcm")]
    public async Task The_operator_decides_whether_namespaced_Issuers_and_plain_http_endpoints_are_allowed(string? ns, string? serviceUrl, bool allowNamespaced, bool allowHttp, string? refusal)
    {
        var spec = new AcmIssuerSpec { Region = "us-west-2", PrivateCaArn = Ca, ServiceUrl = serviceUrl, Namespace = ns };
        var options = new AcmIssuerOptions { AllowNamespacedAcm = allowNamespaced, AllowHttpServiceUrl = allowHttp };

        var why = AcmIssuerFactory.Refusal(spec, options);

        if (refusal is null)
        {
            Assert.Null(why);
            return;
        }

        Assert.NotNull(why);
        Assert.Contains(refusal, why, StringComparison.Ordinal);

        // Refused before any AWS call: the endpoint is never contacted.
        using var http = new HttpClient(new NoNetwork());
        using var factory = new AcmIssuerFactory(http, options, NullLoggerFactory.Instance, sourceCredentials: new BasicAWSCredentials("AKIAEXAMPLE", "secret"));
        var check = await factory.CheckAsync(spec, CancellationToken.None);
        Assert.Equal((false, AcmIssuerReasons.NotAllowed), (check.Readiness.Ready, check.Readiness.Reason));
        Assert.Throws<InvalidOperationException>(() => factory.Create("Issuer/team-a/pca", spec));
    }

    [Theory]
    [InlineData(null, "notary:cluster")]
    [InlineData("team-a", "notary:ns:team-a")]
    [InlineData("cluster", "notary:ns:cluster")]
    public void The_ExternalId_says_which_issuers_assume_the_role_and_no_namespace_can_pass_for_a_ClusterIssuer(string? ns, string externalId)
    {
        var scope = AssumeRoleScope.For(ns);

        Assert.Equal(externalId, scope.ExternalId);
        Assert.Equal(ns is null ? "ClusterIssuer" : "Issuer", scope.Tags.Single(t => t.Key == AssumeRoleScope.KindTag).Value);
        Assert.Equal(ns, scope.Tags.SingleOrDefault(t => t.Key == AssumeRoleScope.NamespaceTag).Value);
    }

    [Fact]
    public void AWS_text_goes_into_status_as_one_bounded_line()
    {
        var text = "User: arn:aws:sts::1:assumed-role/x is not authorized\r\n<html>" + new string('x', 5000);

        var line = AcmIssuerFactory.OneLine(text);

        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\r', line);
        Assert.Equal(AcmIssuerFactory.MaxAwsText, line.Length);
        Assert.StartsWith("User: arn:aws:sts::1:assumed-role/x is not authorized  <html>", line, StringComparison.Ordinal);
        Assert.Equal("", AcmIssuerFactory.OneLine(null));
    }

    [Fact]
    public void Issuers_and_clients_nobody_asked_for_within_the_idle_timeout_are_dropped()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var http = new HttpClient(new NoNetwork());
        using var factory = new AcmIssuerFactory(http, new AcmIssuerOptions { CacheIdleTimeout = TimeSpan.FromHours(1) }, NullLoggerFactory.Instance, time, new BasicAWSCredentials("AKIAEXAMPLE", "secret"));
        AcmIssuerSpec Spec(int i) => new() { Region = "us-west-2", PrivateCaArn = $"{Ca}{i}" };

        var kept = factory.Create("ClusterIssuer/kept", Spec(0));
        for (var i = 1; i <= 20; i++)
        {
            factory.Create($"ClusterIssuer/old-{i}", Spec(i));
        }

        Assert.Equal(21, factory.CachedIssuers);
        time.Advance(TimeSpan.FromMinutes(50));
        Assert.Same(kept, factory.Create("ClusterIssuer/kept", Spec(0)));
        time.Advance(TimeSpan.FromMinutes(20));

        // 70 min after the others were last asked for, 20 after "kept": only it stays.
        Assert.Same(kept, factory.Create("ClusterIssuer/kept", Spec(0)));
        Assert.Equal(1, factory.CachedIssuers);
        Assert.Equal(1, factory.CachedClients);
        Assert.NotSame(kept, factory.Create("ClusterIssuer/kept", Spec(0) with { Namespace = null, ServiceUrl = "https://acm-pca.example/" }));
    }

    private sealed class NoNetwork : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException($"no request expected, got {request.RequestUri}");
    }
}
