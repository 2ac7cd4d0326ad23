using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Amazon.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Notary.Aws.Acm;
using Notary.Aws.Sts;
using Notary.Aws.Tests.Support;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws.Tests.Acm;

/// <summary>
/// ACM issuers of Issuer resources against moto's STS, ACM and ACM Private CA. Moto's STS hands
/// out credentials of the role's own account (the ARN's account id), and its ACM and ACM-PCA
/// keep one state per account: a Private CA made in account B is seen only with B's assumed-role
/// credentials, and a certificate issued with them has an ARN of account B. A FaultProxy in
/// front of moto records which key signed each request. A moto that enforces IAM refuses a role.
/// </summary>
/// <remarks>
/// Moto's ACM signs private certificates with a key of its own, not with the Private CA's, so
/// that an issued leaf chains to the CA certificate CheckAsync returns cannot be shown here; the
/// tests show that CheckAsync returns exactly the certificate installed in the CA.
/// </remarks>
[Collection(MotoCollection.Name)]
[Trait("Category", "Slow")]
public sealed class AcmIssuerFactoryMotoTests(MotoFixture fx)
{
    private const string AccountB = "111122223333";
    private const string RoleB = $"arn:aws:iam::{AccountB}:role/notary-team-b-issuer";

    private AcmIssuerFactory Factory(Uri stsUrl, bool allowNamespaced = false) => new(
        fx.Http,
        new AcmIssuerOptions
        {
            StsServiceUrl = stsUrl.AbsoluteUri,
            AllowHttpServiceUrl = true,
            AllowNamespacedAcm = allowNamespaced,
            MaxAttempts = 2,
            BaseDelay = TimeSpan.FromMilliseconds(10),
            MaxDelay = TimeSpan.FromMilliseconds(50),
        },
        NullLoggerFactory.Instance,
        sourceCredentials: MotoServer.Credentials);

    private static IssueRequest Request(string fqdn) => new()
    {
        Resource = new ResourceKey("team-b", fqdn.Split('.')[0]),
        Origin = new ResourceVersionInfo("uid-" + fqdn, 1),
        Type = "Private",
        Fqdn = fqdn,
        Alt = [],
        Lifetime = TimeSpan.FromDays(90),
        Key = new PrivateKeyRequest("RSA", 2048),
    };

    [Fact]
    public async Task An_issuer_with_roleArn_is_ready_returns_the_CA_certificate_and_issues_in_the_roles_account_with_its_credentials()
    {
        var (caArn, caCertificate) = await ActiveCaInAccountAsync(RoleB);
        await using var proxy = await FaultProxy.StartAsync(fx.Moto.Url);
        using var factory = Factory(proxy.Url);
        var spec = new AcmIssuerSpec { Region = MotoServer.Region, PrivateCaArn = caArn, RoleArn = RoleB, ServiceUrl = proxy.Url.AbsoluteUri };

        var check = await factory.CheckAsync(spec, CancellationToken.None);

        Assert.True(check.Readiness.Ready, check.Readiness.Message);
        Assert.Equal(AcmIssuerReasons.Ready, check.Readiness.Reason);
        using (var returned = X509Certificate2.CreateFromPem(check.CaCertificatePem!))
        {
            Assert.Equal(caCertificate.RawData, returned.RawData);
        }

        var fqdn = $"ledger-{Guid.NewGuid():N}.team-b.svc.cluster.local";
        var issuer = factory.Create("Issuer/team-b/acm", spec);
        Assert.Same(issuer, factory.Create("Issuer/team-b/acm", spec));
        Assert.True(issuer.Supports("Private"));
        var material = (await RunAsync(issuer, Request(fqdn))).Material!;

        // Issued in account B: only the assumed role's credentials reach that account.
        Assert.StartsWith($"arn:aws:acm:{MotoServer.Region}:{AccountB}:certificate/", material.Arn, StringComparison.Ordinal);
        using var leaf = X509Certificate2.CreateFromPem(material.CertificatePem, material.PrivateKeyPem);
        Assert.Equal(fqdn, leaf.GetNameInfo(X509NameType.DnsName, forIssuer: false));

        // One AssumeRole for the check and the whole issuance; every ACM and ACM-PCA call signed
        // with its temporary key and session token, never with Notary's own key.
        var assume = Assert.Single(proxy.Requests, r => r.Operation == "AssumeRole");
        Assert.Contains($"Credential={MotoServer.AccessKey}/", assume.Authorization, StringComparison.Ordinal);
        // A ClusterIssuer's ExternalId; the role's trust policy can require it.
        Assert.Equal("notary:cluster", assume.AssumeRoleParameters!["ExternalId"]);
        Assert.Equal(("notary-issuer-kind", "ClusterIssuer"), (assume.AssumeRoleParameters["Tags.member.1.Key"], assume.AssumeRoleParameters["Tags.member.1.Value"]));
        Assert.Equal(1, factory.AssumedCredentials(spec)!.AssumeCount);
        Assert.Equal("notary-" + caArn[(caArn.LastIndexOf('/') + 1)..], factory.AssumedCredentials(spec)!.SessionName);
        var signed = proxy.Requests.Where(r => r.Operation != "AssumeRole").ToList();
        Assert.Contains(signed, r => r.Operation == "DescribeCertificateAuthority");
        Assert.Contains(signed, r => r.Operation == "RequestCertificate");
        Assert.Contains(signed, r => r.Operation == "ExportCertificate");
        Assert.All(signed, r =>
        {
            Assert.DoesNotContain(MotoServer.AccessKey, r.Authorization ?? "", StringComparison.Ordinal);
            Assert.Contains("Credential=ASIA", r.Authorization ?? "", StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(r.SecurityToken));
        });
    }

    [Fact]
    public async Task A_namespaced_acm_Issuer_is_refused_unless_allowed_and_then_assumes_its_role_with_the_namespaces_ExternalId_and_tag()
    {
        var (caArn, _) = await ActiveCaInAccountAsync(RoleB);
        await using var proxy = await FaultProxy.StartAsync(fx.Moto.Url);
        var spec = new AcmIssuerSpec { Region = MotoServer.Region, PrivateCaArn = caArn, RoleArn = RoleB, ServiceUrl = proxy.Url.AbsoluteUri, Namespace = "team-b" };

        using (var strict = Factory(proxy.Url))
        {
            var refused = await strict.CheckAsync(spec, CancellationToken.None);
            Assert.Equal((false, AcmIssuerReasons.NotAllowed), (refused.Readiness.Ready, refused.Readiness.Reason));
            Assert.Contains("Notary__Issuer__Acm__AllowNamespacedAcm=true", refused.Readiness.Message, StringComparison.Ordinal);
            Assert.Throws<InvalidOperationException>(() => strict.Create("Issuer/team-b/acm", spec));
            Assert.Empty(proxy.Requests);
        }

        using var factory = Factory(proxy.Url, allowNamespaced: true);
        var check = await factory.CheckAsync(spec, CancellationToken.None);

        Assert.True(check.Readiness.Ready, check.Readiness.Message);
        var assume = Assert.Single(proxy.Requests, r => r.Operation == "AssumeRole").AssumeRoleParameters!;
        Assert.Equal("notary:ns:team-b", assume["ExternalId"]);
        Assert.Equal(("notary-issuer-kind", "Issuer"), (assume["Tags.member.1.Key"], assume["Tags.member.1.Value"]));
        Assert.Equal(("notary-namespace", "team-b"), (assume["Tags.member.2.Key"], assume["Tags.member.2.Value"]));
    }

    [Fact]
    public async Task A_Private_CA_that_does_not_exist_is_not_ready_CaNotFound_also_when_it_exists_only_in_another_account()
    {
        var (caArn, _) = await ActiveCaInAccountAsync(RoleB);
        using var factory = Factory(fx.Moto.Url);
        var missing = $"arn:aws:acm-pca:{MotoServer.Region}:123456789012:certificate-authority/{Guid.NewGuid()}";

        var gone = await factory.CheckAsync(new AcmIssuerSpec { Region = MotoServer.Region, PrivateCaArn = missing, ServiceUrl = fx.Moto.Url.AbsoluteUri }, CancellationToken.None);
        // B's CA through Notary's own credentials (account 123456789012): not there.
        var elsewhere = await factory.CheckAsync(new AcmIssuerSpec { Region = MotoServer.Region, PrivateCaArn = caArn, ServiceUrl = fx.Moto.Url.AbsoluteUri }, CancellationToken.None);

        foreach (var check in new[] { gone, elsewhere })
        {
            Assert.False(check.Readiness.Ready);
            Assert.Equal(AcmIssuerReasons.CaNotFound, check.Readiness.Reason);
            Assert.Null(check.CaCertificatePem);
        }

        Assert.Contains(missing, gone.Readiness.Message, StringComparison.Ordinal);
        Assert.Contains("Notary's own credentials", elsewhere.Readiness.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Private_CA_without_its_certificate_is_not_ready_CaNotActive()
    {
        using var factory = Factory(fx.Moto.Url);
        // The fixture's CA was created and never given its certificate: PENDING_CERTIFICATE.
        var check = await factory.CheckAsync(new AcmIssuerSpec { Region = MotoServer.Region, PrivateCaArn = fx.CertificateAuthorityArn, ServiceUrl = fx.Moto.Url.AbsoluteUri }, CancellationToken.None);

        Assert.False(check.Readiness.Ready);
        Assert.Equal(AcmIssuerReasons.CaNotActive, check.Readiness.Reason);
        Assert.Contains("PENDING_CERTIFICATE", check.Readiness.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_role_STS_refuses_is_not_ready_RoleNotAssumable_and_issuing_fails_before_any_ACM_call()
    {
        // A moto of its own that enforces IAM after two unauthenticated calls: they create
        // Notary's user and its access key, with no policy, so moto's STS refuses AssumeRole.
        await using var moto = await MotoServer.StartAsync(new Dictionary<string, string> { ["INITIAL_NO_AUTH_ACTION_COUNT"] = "2" });
        var notary = await UserWithoutPoliciesAsync(moto, "notary");
        await using var proxy = await FaultProxy.StartAsync(moto.Url);
        using var factory = new AcmIssuerFactory(
            fx.Http,
            new AcmIssuerOptions { StsServiceUrl = proxy.Url.AbsoluteUri, AllowHttpServiceUrl = true, MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(50) },
            NullLoggerFactory.Instance,
            sourceCredentials: notary);
        var spec = new AcmIssuerSpec
        {
            Region = MotoServer.Region,
            PrivateCaArn = $"arn:aws:acm-pca:{MotoServer.Region}:{AccountB}:certificate-authority/{Guid.NewGuid()}",
            RoleArn = RoleB,
            ServiceUrl = proxy.Url.AbsoluteUri,
        };
        var secret = notary.GetCredentials().SecretKey;

        var check = await factory.CheckAsync(spec, CancellationToken.None);

        Assert.False(check.Readiness.Ready);
        Assert.Equal(AcmIssuerReasons.RoleNotAssumable, check.Readiness.Reason);
        Assert.Contains("AccessDenied", check.Readiness.Message, StringComparison.Ordinal);
        Assert.Contains("not authorized to perform: sts:AssumeRole", check.Readiness.Message, StringComparison.Ordinal);
        Assert.Contains(RoleB, check.Readiness.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, check.Readiness.Message, StringComparison.Ordinal);

        var failure = await Assert.ThrowsAsync<IssuerFailedException>(() =>
            factory.Create("ClusterIssuer/team-b", spec).IssueAsync(Request($"x-{Guid.NewGuid():N}.team-b.svc"), CancellationToken.None));
        Assert.Contains("AccessDenied", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, failure.ToString(), StringComparison.Ordinal);
        Assert.NotEmpty(proxy.Requests);
        Assert.All(proxy.Requests, r => Assert.Equal("AssumeRole", r.Operation));
    }

    private static async Task<IssueProgress> RunAsync(ICertificateIssuer issuer, IssueRequest request)
    {
        var progress = await issuer.IssueAsync(request, CancellationToken.None);
        for (var step = 0; progress.Material is null && progress.RetryAfter == TimeSpan.Zero && step < 10; step++)
        {
            progress = await issuer.IssueAsync(request with { Ticket = progress.Ticket, Step = step }, CancellationToken.None);
        }

        return progress;
    }

    /// <summary>An IAM user and its access key, made through moto's IAM query API while it still takes unauthenticated calls.</summary>
    private static async Task<AWSCredentials> UserWithoutPoliciesAsync(MotoServer moto, string user)
    {
        using var http = new HttpClient();
        async Task<System.Xml.Linq.XDocument> IamAsync(string action)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, moto.Url)
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["Action"] = action, ["UserName"] = user, ["Version"] = "2010-05-08" }),
            };
            // Moto routes by the credential scope; the first calls are not authenticated.
            request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIAMSETUP00000000/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0");
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            return System.Xml.Linq.XDocument.Parse(body);
        }

        await IamAsync("CreateUser");
        var key = await IamAsync("CreateAccessKey");
        string Value(string name) => key.Descendants().Single(e => e.Name.LocalName == name).Value;
        return new BasicAWSCredentials(Value("AccessKeyId"), Value("SecretAccessKey"));
    }

    /// <summary>
    /// An ACTIVE Private CA in the role's account: created with the role's credentials (moto's STS
    /// puts them in that account), then given a certificate made here, as a team would install
    /// one signed by its own root.
    /// </summary>
    private async Task<(string Arn, X509Certificate2 Certificate)> ActiveCaInAccountAsync(string roleArn)
    {
        using var sts = new StsAssumeRole(MotoServer.Region, fx.Moto.Url.AbsoluteUri, fx.Moto.ClientOptions(), MotoServer.Credentials);
        var role = await sts.AssumeRoleAsync(roleArn, "test-setup", TimeSpan.FromHours(1), AssumeRoleScope.For(null), CancellationToken.None);
        var credentials = new SessionAWSCredentials(role.Credentials.AccessKey, role.Credentials.SecretKey, role.Credentials.Token);
        var pca = new AwsJsonClient(fx.Http, AwsServiceInfo.AcmPca, fx.Moto.ClientOptions(), credentials);
        var created = await pca.InvokeAsync(
            "CreateCertificateAuthority",
            new CreateCertificateAuthorityRequest
            {
                CertificateAuthorityType = "ROOT",
                CertificateAuthorityConfiguration = new PcaConfiguration
                {
                    KeyAlgorithm = "RSA_2048",
                    SigningAlgorithm = "SHA256WITHRSA",
                    Subject = new PcaSubject { CommonName = "Team B CA", Organization = "Team B" },
                },
            },
            TestJsonContext.Default.CreateCertificateAuthorityRequest,
            TestJsonContext.Default.CreateCertificateAuthorityResponse,
            CancellationToken.None);
        var arn = created.CertificateAuthorityArn!;

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=Team B CA, O=Team B", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(5));
        await pca.InvokeAsync(
            "ImportCertificateAuthorityCertificate",
            new ImportCertificateAuthorityCertificateRequest { CertificateAuthorityArn = arn, Certificate = System.Text.Encoding.ASCII.GetBytes(certificate.ExportCertificatePem()) },
            TestJsonContext.Default.ImportCertificateAuthorityCertificateRequest,
            TestJsonContext.Default.AwsEmptyResponse,
            CancellationToken.None);
        return (arn, certificate);
    }
}
