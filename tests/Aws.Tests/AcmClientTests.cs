using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Notary.Aws.Tests.Support;
using Notary.Pki.Tests.Support;

namespace Notary.Aws.Tests;

/// <summary>The ACM client against moto, through the real HTTP stack (RenewCertificate and RevokeCertificate, which moto lacks, are in JsonClientTests).</summary>
[Collection(MotoCollection.Name)]
[Trait("Category", "Slow")]
public sealed class AcmClientTests(MotoFixture fixture)
{
    private readonly AcmClient _acm = new(new AwsJsonClient(fixture.Http, AwsServiceInfo.Acm, fixture.Moto.ClientOptions(), MotoServer.Credentials));

    private static string UniqueDomain() => $"svc-{Guid.NewGuid():N}"[..16] + ".ns.svc.cluster.local";

    [Fact]
    public async Task A_private_certificate_is_issued_at_once_and_described()
    {
        var domain = UniqueDomain();
        var arn = await _acm.RequestCertificateAsync(
            new RequestCertificateRequest
            {
                DomainName = domain,
                SubjectAlternativeNames = [domain, "alt." + domain],
                CertificateAuthorityArn = fixture.CertificateAuthorityArn,
                KeyAlgorithm = AcmKeyAlgorithm.Rsa2048,
                IdempotencyToken = "private" + Guid.NewGuid().ToString("N")[..16],
            },
            CancellationToken.None);

        var detail = await _acm.DescribeCertificateAsync(arn, CancellationToken.None);

        Assert.StartsWith("arn:aws:acm:us-west-2:", arn, StringComparison.Ordinal);
        Assert.Equal(arn, detail.CertificateArn);
        Assert.Equal(AcmStatus.Issued, detail.Status);
        Assert.Equal(AcmStatus.TypePrivate, detail.Type);
        Assert.Equal(fixture.CertificateAuthorityArn, detail.CertificateAuthorityArn);
        Assert.Equal(domain, detail.DomainName);
        Assert.Contains("alt." + domain, detail.SubjectAlternativeNames!);
        Assert.False(string.IsNullOrEmpty(detail.Serial));
        Assert.NotNull(detail.KeyAlgorithm);
        Assert.True(detail.NotBefore < detail.NotAfter);
        Assert.InRange(detail.NotBefore!.Value, DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(1));
    }

    [Fact]
    public async Task A_public_certificate_waits_for_dns_validation_and_shows_the_record_to_create()
    {
        var domain = UniqueDomain().Replace(".ns.svc.cluster.local", ".example.com", StringComparison.Ordinal);
        var arn = await _acm.RequestCertificateAsync(
            new RequestCertificateRequest
            {
                DomainName = domain,
                ValidationMethod = AcmValidationMethod.Dns,
                Options = new AcmCertificateOptions { Export = AcmSetting.Enabled, CertificateTransparencyLoggingPreference = AcmSetting.Enabled },
            },
            CancellationToken.None);

        var detail = await _acm.DescribeCertificateAsync(arn, CancellationToken.None);

        Assert.Equal(AcmStatus.PendingValidation, detail.Status);
        Assert.Equal(AcmStatus.TypeAmazonIssued, detail.Type);
        Assert.Equal(AcmSetting.Enabled, detail.Options?.Export);
        var validation = Assert.Single(detail.DomainValidationOptions!);
        Assert.Equal(domain, validation.DomainName);
        Assert.Equal("PENDING_VALIDATION", validation.ValidationStatus);
        Assert.Equal("DNS", validation.ValidationMethod);
        Assert.NotNull(validation.ResourceRecord);
        Assert.Equal("CNAME", validation.ResourceRecord.Type);
        Assert.EndsWith("." + domain + ".", validation.ResourceRecord.Name, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(validation.ResourceRecord.Value));
    }

    [Fact]
    public async Task A_public_certificate_with_export_enabled_is_exportable_once_validated()
    {
        // A server of its own whose public certificates pass validation at once.
        await using var moto = await MotoServer.StartAsync(new Dictionary<string, string> { ["MOTO_ACM_VALIDATION_WAIT"] = "0" });
        var acm = new AcmClient(new AwsJsonClient(fixture.Http, AwsServiceInfo.Acm, moto.ClientOptions(), MotoServer.Credentials));
        var arn = await acm.RequestCertificateAsync(
            new RequestCertificateRequest { DomainName = "www.example.com", ValidationMethod = AcmValidationMethod.Dns, Options = new AcmCertificateOptions { Export = AcmSetting.Enabled } },
            CancellationToken.None);

        var detail = await acm.DescribeCertificateAsync(arn, CancellationToken.None);
        var exported = await acm.ExportCertificateAsync(arn, "public-passphrase"u8.ToArray(), CancellationToken.None);

        Assert.Equal(AcmStatus.Issued, detail.Status);
        Assert.Equal(AcmStatus.TypeAmazonIssued, detail.Type);
        using var certificate = X509Certificate2.CreateFromPem(exported.Certificate);
        using var key = RSA.Create();
        key.ImportFromEncryptedPem(exported.PrivateKey, "public-passphrase"u8);
        Assert.Equal(certificate.PublicKey.ExportSubjectPublicKeyInfo(), key.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public async Task An_exported_private_key_decrypts_with_the_passphrase_and_matches_the_certificate()
    {
        var arn = await _acm.RequestCertificateAsync(
            new RequestCertificateRequest { DomainName = UniqueDomain(), CertificateAuthorityArn = fixture.CertificateAuthorityArn },
            CancellationToken.None);
        var passphrase = Encoding.ASCII.GetBytes("pass-" + Guid.NewGuid().ToString("N"));

        var exported = await _acm.ExportCertificateAsync(arn, passphrase, CancellationToken.None);

        Assert.StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----", exported.PrivateKey, StringComparison.Ordinal);
        Assert.Contains("-----BEGIN CERTIFICATE-----", exported.CertificateChain, StringComparison.Ordinal);
        using var certificate = X509Certificate2.CreateFromPem(exported.Certificate);
        using var key = RSA.Create();
        key.ImportFromEncryptedPem(exported.PrivateKey, passphrase);
        Assert.Equal(certificate.PublicKey.ExportSubjectPublicKeyInfo(), key.ExportSubjectPublicKeyInfo());
        using var withKey = certificate.CopyWithPrivateKey(key);
        Assert.True(withKey.HasPrivateKey);

        using var wrong = RSA.Create();
        Assert.ThrowsAny<CryptographicException>(() => wrong.ImportFromEncryptedPem(exported.PrivateKey, "wrong-passphrase"u8));
        Assert.DoesNotContain("PRIVATE KEY", exported.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_idempotency_token_and_tags_return_the_same_certificate()
    {
        var domain = UniqueDomain();
        var token = Guid.NewGuid().ToString("N");
        RequestCertificateRequest Request(string idempotencyToken) => new()
        {
            DomainName = domain,
            CertificateAuthorityArn = fixture.CertificateAuthorityArn,
            IdempotencyToken = idempotencyToken,
            Tags = [new AwsTag("notary.dev/certificate", "ns/web")],
        };

        var first = await _acm.RequestCertificateAsync(Request(token), CancellationToken.None);
        var again = await _acm.RequestCertificateAsync(Request(token), CancellationToken.None);
        var other = await _acm.RequestCertificateAsync(Request(Guid.NewGuid().ToString("N")), CancellationToken.None);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        var listed = (await _acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None)).Where(c => c.DomainName == domain).ToList();
        Assert.Equal(2, listed.Count);
    }

    [Fact]
    public async Task Tags_given_at_request_and_added_later_are_on_the_certificate()
    {
        var arn = await _acm.RequestCertificateAsync(
            new RequestCertificateRequest
            {
                DomainName = UniqueDomain(),
                CertificateAuthorityArn = fixture.CertificateAuthorityArn,
                Tags = [new AwsTag("app.kubernetes.io/managed-by", "notary")],
            },
            CancellationToken.None);

        await _acm.AddTagsToCertificateAsync(arn, [new AwsTag("notary.dev/revision", "2"), new AwsTag("notary.dev/empty", "")], CancellationToken.None);

        // The AWS CLI reads them back: a peer that is not our code.
        var result = await ToolRunner.RunAsync(
            "aws",
            ["--endpoint-url", fixture.Moto.Url.AbsoluteUri, "--region", MotoServer.Region, "--output", "json", "acm", "list-tags-for-certificate", "--certificate-arn", arn],
            environment: new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = MotoServer.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = "x", ["AWS_CONFIG_FILE"] = "/dev/null", ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null" });
        Assert.True(result.ExitCode == 0, result.ToString());
        var tags = JsonDocument.Parse(result.StdOut).RootElement.GetProperty("Tags").EnumerateArray()
            .ToDictionary(t => t.GetProperty("Key").GetString()!, t => t.TryGetProperty("Value", out var v) ? v.GetString() : null);
        Assert.Equal("notary", tags["app.kubernetes.io/managed-by"]);
        Assert.Equal("2", tags["notary.dev/revision"]);
        Assert.True(tags.ContainsKey("notary.dev/empty"));
    }

    [Fact]
    public async Task Listing_with_all_statuses_and_key_types_counts_every_certificate()
    {
        var suffix = UniqueDomain();
        var issued = await _acm.RequestCertificateAsync(new RequestCertificateRequest { DomainName = "a." + suffix, CertificateAuthorityArn = fixture.CertificateAuthorityArn }, CancellationToken.None);
        var ec = await _acm.RequestCertificateAsync(new RequestCertificateRequest { DomainName = "b." + suffix, CertificateAuthorityArn = fixture.CertificateAuthorityArn, KeyAlgorithm = AcmKeyAlgorithm.EcPrime256v1 }, CancellationToken.None);
        var pending = await _acm.RequestCertificateAsync(new RequestCertificateRequest { DomainName = "c." + suffix, ValidationMethod = AcmValidationMethod.Dns }, CancellationToken.None);

        var all = await _acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None);

        var ours = all.Where(c => c.DomainName?.EndsWith(suffix, StringComparison.Ordinal) == true).ToList();
        Assert.Equal(3, ours.Count);
        Assert.Equal(new[] { issued, ec, pending }.Order(), ours.Select(c => c.CertificateArn!).Order());
        Assert.Contains(ours, c => c.Status == AcmStatus.PendingValidation);
        Assert.Contains(ours, c => c.Status == AcmStatus.Issued);
    }

    [Fact]
    public async Task A_deleted_certificate_is_gone_and_deleting_it_again_answers_false()
    {
        var arn = await _acm.RequestCertificateAsync(new RequestCertificateRequest { DomainName = UniqueDomain(), CertificateAuthorityArn = fixture.CertificateAuthorityArn }, CancellationToken.None);

        Assert.True(await _acm.DeleteCertificateAsync(arn, CancellationToken.None));

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => _acm.DescribeCertificateAsync(arn, CancellationToken.None));
        Assert.Equal("ResourceNotFoundException", error.ErrorCode);
        Assert.False(error.Retryable);
        Assert.Contains(arn, error.AwsMessage, StringComparison.Ordinal);
        Assert.False(await _acm.DeleteCertificateAsync(arn, CancellationToken.None));
    }
}
