using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Notary.Aws.Acm;
using Notary.Aws.Tests.Support;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws.Tests.Acm;

/// <summary>The ACM issuer, its adapter and the JSON client together against moto's ACM.</summary>
[Collection(MotoCollection.Name)]
[Trait("Category", "Slow")]
public sealed class AcmIssuerMotoTests(MotoFixture fx)
{
    private AcmClient Client => AwsClients.CreateAcm(fx.Moto.ClientOptions(), fx.Http, NullLoggerFactory.Instance, credentials: MotoServer.Credentials);

    private AcmIssuer Issuer(string onRetire = "Delete") => new(
        new AcmApi(Client),
        Options.Create(new AcmIssuerOptions { Region = MotoServer.Region, ServiceUrl = fx.Moto.Url.AbsoluteUri, PrivateCaArn = fx.CertificateAuthorityArn, OnRetire = onRetire }),
        NullLogger<AcmIssuer>.Instance);

    private static IssueRequest Request(string fqdn, string type = "Private", string uid = "uid-1") => new()
    {
        Resource = new ResourceKey("shop", fqdn.Split('.')[0]),
        Origin = new ResourceVersionInfo(uid, 1),
        Type = type,
        Fqdn = fqdn,
        Alt = [],
        Lifetime = TimeSpan.FromDays(90),
        Key = new PrivateKeyRequest("RSA", 2048),
    };

    private static async Task<IssueProgress> RunAsync(AcmIssuer issuer, IssueRequest request)
    {
        var progress = await issuer.IssueAsync(request, CancellationToken.None);
        for (var step = 0; progress.Material is null && progress.RetryAfter == TimeSpan.Zero && step < 10; step++)
        {
            progress = await issuer.IssueAsync(request with { Ticket = progress.Ticket, Step = step }, CancellationToken.None);
        }

        return progress;
    }

    [Fact]
    public async Task A_private_certificate_is_issued_exported_and_decrypted_with_a_key_that_matches()
    {
        var fqdn = $"orders-{Guid.NewGuid():N}.shop.svc.cluster.local";
        var material = (await RunAsync(Issuer(), Request(fqdn))).Material!;

        Assert.StartsWith("arn:aws:acm:us-west-2:", material.Arn, StringComparison.Ordinal);
        using var leaf = X509Certificate2.CreateFromPem(material.CertificatePem, material.PrivateKeyPem);
        Assert.True(leaf.HasPrivateKey);
        Assert.Equal(fqdn, leaf.GetNameInfo(X509NameType.DnsName, forIssuer: false));
        Assert.Equal(leaf.SerialNumber, material.SerialNumber);
        Assert.NotEmpty(material.ChainPem);
        Assert.DoesNotContain(material.ChainPem, pem => pem == material.CertificatePem);

        var detail = await Client.DescribeCertificateAsync(material.Arn, CancellationToken.None);
        Assert.Equal("ISSUED", detail.Status);
        Assert.Equal(fqdn, detail.DomainName);
    }

    [Fact]
    public async Task The_same_request_again_gets_the_same_certificate_and_a_new_revision_a_new_one()
    {
        var fqdn = $"pay-{Guid.NewGuid():N}.shop.svc.cluster.local";
        var issuer = Issuer();
        var first = await issuer.IssueAsync(Request(fqdn), CancellationToken.None);
        var again = await issuer.IssueAsync(Request(fqdn), CancellationToken.None);
        var next = await issuer.IssueAsync(Request(fqdn) with { Revision = 1 }, CancellationToken.None);

        Assert.Equal(first.Ticket, again.Ticket);
        Assert.NotEqual(first.Ticket, next.Ticket);
        var all = await Client.ListCertificatesAsync(allStatuses: true, CancellationToken.None);
        Assert.Equal(2, all.Count(c => c.DomainName == fqdn));
    }

    [Fact]
    public async Task A_public_certificate_waits_with_the_dns_records_moto_publishes()
    {
        var fqdn = $"web-{Guid.NewGuid():N}.example.com";
        var progress = await RunAsync(Issuer(), Request(fqdn, "Public"));

        Assert.Null(progress.Material);
        Assert.Equal(Reasons.PendingValidation, progress.Reason);
        var record = Assert.Single(progress.ValidationRecords);
        Assert.Equal("CNAME", record.Type);
        Assert.EndsWith($"{fqdn}.", record.Name, StringComparison.Ordinal);
        Assert.True(progress.RetryAfter > TimeSpan.Zero);
    }

    [Fact]
    public async Task Retiring_deletes_the_certificate_unless_kept()
    {
        var kept = (await RunAsync(Issuer(), Request($"a-{Guid.NewGuid():N}.shop.svc"))).Material!.Arn;
        var deleted = (await RunAsync(Issuer(), Request($"b-{Guid.NewGuid():N}.shop.svc"))).Material!.Arn;

        await Issuer("Keep").RetireAsync(kept, RetireReason.Deleted, CancellationToken.None);
        await Issuer().RetireAsync(deleted, RetireReason.Deleted, CancellationToken.None);
        // Retiring again is not an error: the certificate is already gone.
        await Issuer().RetireAsync(deleted, RetireReason.Deleted, CancellationToken.None);

        var arns = (await Client.ListCertificatesAsync(allStatuses: true, CancellationToken.None)).Select(c => c.CertificateArn).ToHashSet();
        Assert.Contains(kept, arns);
        Assert.DoesNotContain(deleted, arns);
    }
}
