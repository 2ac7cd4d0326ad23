using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Notary.Aws.Acm;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws.Tests.Acm;

/// <summary>
/// The ACM issuer's decisions over a scripted ACM (renewal, revocation, status handling, error
/// translation): the parts moto cannot play, since it has no RenewCertificate or
/// RevokeCertificate. Issuance against moto itself is in AcmIssuerMotoTests.
/// </summary>
public sealed class AcmIssuerTests
{
    private static IssueRequest Request(IssuePurpose purpose = IssuePurpose.Issue, string? ticket = null, string? current = null, int step = 0, string type = "Private") => new()
    {
        Resource = new ResourceKey("shop", "orders"),
        Origin = new ResourceVersionInfo("uid-1", 3),
        Type = type,
        Fqdn = "orders.shop.svc.cluster.local",
        Alt = ["orders.shop"],
        Lifetime = TimeSpan.FromDays(90),
        Key = new PrivateKeyRequest("ECDSA", 256),
        Revision = 2,
        Purpose = purpose,
        Ticket = ticket,
        CurrentArn = current,
        Step = step,
    };

    private static AcmIssuer Issuer(ScriptedAcm acm, Action<AcmIssuerOptions>? configure = null)
    {
        var options = new AcmIssuerOptions { Region = "us-west-2", PrivateCaArn = "arn:aws:acm-pca:us-west-2:123456789012:certificate-authority/ca" };
        configure?.Invoke(options);
        return new AcmIssuer(acm, Options.Create(options), NullLogger<AcmIssuer>.Instance);
    }

    [Fact]
    public async Task A_private_issuance_requests_with_a_stable_token_then_exports_a_decrypted_matching_key()
    {
        var acm = new ScriptedAcm();
        var issuer = Issuer(acm);

        var started = await issuer.IssueAsync(Request(), CancellationToken.None);
        var arn = Assert.IsType<string>(started.Ticket);
        Assert.Null(started.Material);
        var sent = Assert.Single(acm.Requests);
        Assert.Equal("orders.shop.svc.cluster.local", sent.DomainName);
        Assert.Equal(["orders.shop.svc.cluster.local", "orders.shop"], sent.SubjectAlternativeNames);
        Assert.Equal("arn:aws:acm-pca:us-west-2:123456789012:certificate-authority/ca", sent.CertificateAuthorityArn);
        Assert.Equal(AcmKeyAlgorithm.EcPrime256v1, sent.KeyAlgorithm);
        Assert.False(sent.Exportable);
        Assert.Equal("notary", sent.Tags["app.kubernetes.io/managed-by"]);
        Assert.Equal("orders", sent.Tags["notary.dev/name"]);
        Assert.Matches("^[0-9a-f]{32}$", sent.IdempotencyToken);
        Assert.Equal(sent.IdempotencyToken, AcmIssuer.IdempotencyToken(Request()));
        Assert.NotEqual(sent.IdempotencyToken, AcmIssuer.IdempotencyToken(Request() with { Revision = 3 }));
        Assert.NotEqual(sent.IdempotencyToken, AcmIssuer.IdempotencyToken(Request(IssuePurpose.Rotate)));

        var done = await issuer.IssueAsync(Request(ticket: arn), CancellationToken.None);
        var material = Assert.IsType<IssuedMaterial>(done.Material);
        Assert.Equal(arn, material.Arn);
        using var leaf = X509Certificate2.CreateFromPem(material.CertificatePem, material.PrivateKeyPem);
        Assert.True(leaf.HasPrivateKey);
        Assert.Equal(acm.Certificates[arn].Serial, material.SerialNumber);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", material.PrivateKeyPem, StringComparison.Ordinal);
        Assert.Single(material.ChainPem);
        Assert.Contains(arn, acm.Tagged);
    }

    [Fact]
    public async Task A_public_certificate_is_exportable_and_waits_for_dns_validation_with_backoff()
    {
        var acm = new ScriptedAcm { NewStatus = "PENDING_VALIDATION" };
        var issuer = Issuer(acm, o => o.ValidationPollInterval = TimeSpan.FromSeconds(30));
        var arn = (await issuer.IssueAsync(Request(type: "Public"), CancellationToken.None)).Ticket!;
        var sent = Assert.Single(acm.Requests);
        Assert.True(sent.Exportable);
        Assert.Null(sent.CertificateAuthorityArn);

        var first = await issuer.IssueAsync(Request(ticket: arn, type: "Public"), CancellationToken.None);
        var later = await issuer.IssueAsync(Request(ticket: arn, step: 3, type: "Public"), CancellationToken.None);
        var capped = await issuer.IssueAsync(Request(ticket: arn, step: 30, type: "Public"), CancellationToken.None);

        Assert.Equal(Reasons.PendingValidation, first.Reason);
        var record = Assert.Single(first.ValidationRecords);
        Assert.Equal("CNAME", record.Type);
        Assert.Contains(record.Name, first.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(30), first.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(240), later.RetryAfter);
        Assert.Equal(TimeSpan.FromMinutes(5), capped.RetryAfter);
        Assert.Equal(0, acm.Exports);

        acm.Certificates[arn].Status = "ISSUED";
        Assert.NotNull((await issuer.IssueAsync(Request(ticket: arn, type: "Public"), CancellationToken.None)).Material);
    }

    [Fact]
    public async Task Renewal_renews_in_place_and_exports_only_once_the_serial_changed()
    {
        var acm = new ScriptedAcm();
        var issuer = Issuer(acm);
        var arn = (await issuer.IssueAsync(Request(), CancellationToken.None)).Ticket!;
        var first = (await issuer.IssueAsync(Request(ticket: arn), CancellationToken.None)).Material!;

        var renewing = await issuer.IssueAsync(Request(IssuePurpose.Renew, current: arn), CancellationToken.None);
        Assert.Equal([arn], acm.Renewed);
        Assert.Single(acm.Requests);
        var ticket = renewing.Ticket!;

        // ACM has not replaced the certificate yet: keep waiting, export nothing.
        var waiting = await issuer.IssueAsync(Request(IssuePurpose.Renew, ticket: ticket, current: arn), CancellationToken.None);
        Assert.Null(waiting.Material);
        Assert.True(waiting.RetryAfter > TimeSpan.Zero);

        acm.Reissue(arn);
        var renewed = (await issuer.IssueAsync(Request(IssuePurpose.Renew, ticket: ticket, current: arn), CancellationToken.None)).Material!;
        Assert.Equal(arn, renewed.Arn);
        Assert.NotEqual(first.SerialNumber, renewed.SerialNumber);
        Assert.Equal(acm.Certificates[arn].Serial, renewed.SerialNumber);
    }

    [Fact]
    public async Task Retiring_deletes_revokes_compromised_certificates_and_keeps_when_configured()
    {
        var acm = new ScriptedAcm();
        await Issuer(acm).RetireAsync("arn:aws:acm:us-west-2:1:certificate/a", RetireReason.Replaced, CancellationToken.None);
        await Issuer(acm).RetireAsync("arn:aws:acm:us-west-2:1:certificate/b", RetireReason.Compromised, CancellationToken.None);
        await Issuer(acm, o => o.OnRetire = "Keep").RetireAsync("arn:aws:acm:us-west-2:1:certificate/c", RetireReason.Deleted, CancellationToken.None);
        await Issuer(acm).RetireAsync("urn:notary:builtin:certificate/1", RetireReason.Deleted, CancellationToken.None);

        Assert.Equal(["arn:aws:acm:us-west-2:1:certificate/a", "arn:aws:acm:us-west-2:1:certificate/b"], acm.Deleted);
        Assert.Equal([("arn:aws:acm:us-west-2:1:certificate/b", AcmRevocationReason.KeyCompromise)], acm.Revoked);
    }

    [Fact]
    public async Task A_revocation_acm_refuses_still_deletes_and_a_missing_certificate_is_already_retired()
    {
        var acm = new ScriptedAcm { RevokeError = Error("RevokeCertificate", "InvalidStateException", "The certificate cannot be revoked.") };
        await Issuer(acm).RetireAsync("arn:aws:acm:us-west-2:1:certificate/b", RetireReason.Compromised, CancellationToken.None);
        Assert.Equal(["arn:aws:acm:us-west-2:1:certificate/b"], acm.Deleted);

        acm.DeleteError = Error("DeleteCertificate", "ResourceNotFoundException", "Could not find certificate.");
        await Issuer(acm).RetireAsync("arn:aws:acm:us-west-2:1:certificate/gone", RetireReason.Deleted, CancellationToken.None);
    }

    [Theory]
    [InlineData("RSA", 3072)]
    [InlineData("RSA", 4096)]
    public async Task Keys_acm_cannot_issue_are_refused_with_the_ones_it_can(string algorithm, int size)
    {
        var acm = new ScriptedAcm();
        var ex = await Assert.ThrowsAsync<IssuerRejectedException>(() => Issuer(acm).IssueAsync(Request() with { Key = new PrivateKeyRequest(algorithm, size) }, CancellationToken.None));
        Assert.Equal("UnsupportedKey", ex.Reason);
        Assert.Contains("RSA 2048, ECDSA 256 and ECDSA 384", ex.Message, StringComparison.Ordinal);
        Assert.Empty(acm.Requests);
    }

    [Fact]
    public async Task Aws_errors_become_a_refusal_for_bad_requests_and_a_retried_failure_otherwise_with_code_and_message()
    {
        var acm = new ScriptedAcm { RequestError = Error("RequestCertificate", "ValidationException", "1 validation error detected: Value at 'domainName' failed to satisfy constraint") };
        var rejected = await Assert.ThrowsAsync<IssuerRejectedException>(() => Issuer(acm).IssueAsync(Request(), CancellationToken.None));
        Assert.Contains("ValidationException: 1 validation error detected", rejected.Message, StringComparison.Ordinal);

        acm.RequestError = Error("RequestCertificate", "AccessDeniedException", "User is not authorized to perform: acm:RequestCertificate");
        var failed = await Assert.ThrowsAsync<IssuerFailedException>(() => Issuer(acm).IssueAsync(Request(), CancellationToken.None));
        Assert.Contains("AccessDeniedException: User is not authorized", failed.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FAILED")]
    [InlineData("VALIDATION_TIMED_OUT")]
    [InlineData("REVOKED")]
    public async Task A_certificate_acm_gave_up_on_is_refused_with_its_status(string status)
    {
        var acm = new ScriptedAcm();
        var arn = (await Issuer(acm).IssueAsync(Request(), CancellationToken.None)).Ticket!;
        acm.Certificates[arn].Status = status;
        acm.Certificates[arn].FailureReason = "CAA_ERROR";

        var ex = await Assert.ThrowsAsync<IssuerRejectedException>(() => Issuer(acm).IssueAsync(Request(ticket: arn), CancellationToken.None));
        Assert.Contains(status, ex.Message, StringComparison.Ordinal);
        Assert.Contains("CAA_ERROR", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Supports_private_only_with_a_private_ca()
    {
        Assert.True(Issuer(new ScriptedAcm()).Supports("Private"));
        Assert.True(Issuer(new ScriptedAcm()).Supports("Public"));
        Assert.False(Issuer(new ScriptedAcm(), o => o.PrivateCaArn = null).Supports("Private"));
    }

    [Fact]
    public void Options_validation_says_how_to_fix_each_value()
    {
        var failures = new AcmIssuerOptionsValidator().Validate(null, new AcmIssuerOptions
        {
            Region = "us-west-2",
            PrivateCaArn = "my-ca",
            OnRetire = "Archive",
            ValidationPollInterval = TimeSpan.Zero,
        }).Failures!.ToList();

        Assert.Contains(failures, f => f.Contains("PrivateCaArn \"my-ca\" is not an ARN", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("OnRetire \"Archive\" must be Delete", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("ValidationPollInterval", StringComparison.Ordinal));
    }

    private static AwsServiceException Error(string operation, string code, string message) =>
        new(operation, code, message, HttpStatusCode.BadRequest, retryable: false);

    /// <summary>An ACM that issues from a throwaway CA, with scripted statuses and errors.</summary>
    private sealed class ScriptedAcm : IAcmApi, IDisposable
    {
        private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        private readonly X509Certificate2 _ca;

        public ScriptedAcm()
        {
            var request = new CertificateRequest("CN=Scripted ACM CA", _caKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(2));
        }

        public string NewStatus { get; init; } = "ISSUED";
        public AwsServiceException? RequestError { get; set; }
        public AwsServiceException? RevokeError { get; init; }
        public AwsServiceException? DeleteError { get; set; }
        public ConcurrentDictionary<string, Issued> Certificates { get; } = new();
        public List<AcmCertificateRequest> Requests { get; } = [];
        public List<string> Renewed { get; } = [];
        public List<string> Deleted { get; } = [];
        public List<string> Tagged { get; } = [];
        public List<(string, AcmRevocationReason)> Revoked { get; } = [];
        public int Exports { get; private set; }

        public Task<string> RequestCertificateAsync(AcmCertificateRequest request, CancellationToken cancellationToken)
        {
            if (RequestError is not null)
            {
                throw RequestError;
            }

            Requests.Add(request);
            var arn = $"arn:aws:acm:us-west-2:123456789012:certificate/{Guid.NewGuid()}";
            Certificates[arn] = new Issued { Status = NewStatus, Fqdn = request.DomainName };
            Reissue(arn);
            return Task.FromResult(arn);
        }

        /// <summary>ACM replaced the certificate behind <paramref name="arn"/> (a renewal).</summary>
        public void Reissue(string arn)
        {
            var entry = Certificates[arn];
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={entry.Fqdn}", key, HashAlgorithmName.SHA256);
            var serial = RandomNumberGenerator.GetBytes(12);
            serial[0] &= 0x7f;
            using var leaf = request.Create(_ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(395), serial);
            entry.CertificatePem = leaf.ExportCertificatePem();
            entry.Key = key.ExportPkcs8PrivateKey();
            entry.Serial = leaf.SerialNumber;
        }

        public Task<AcmCertificateDescription> DescribeCertificateAsync(string arn, CancellationToken cancellationToken)
        {
            var entry = Certificates[arn];
            IReadOnlyList<ValidationRecord> records = entry.Status == "PENDING_VALIDATION"
                ? [new ValidationRecord($"_abc.{entry.Fqdn}.", "CNAME", "_def.acm-validations.aws.")]
                : [];
            // ACM shows serials as colon-separated hex bytes.
            var serial = string.Join(':', Enumerable.Range(0, entry.Serial.Length / 2).Select(i => entry.Serial.Substring(i * 2, 2).ToLowerInvariant()));
            return Task.FromResult(new AcmCertificateDescription(entry.Status, serial, entry.FailureReason, records, null));
        }

        public Task<AcmExport> ExportCertificateAsync(string arn, byte[] passphrase, CancellationToken cancellationToken)
        {
            Exports++;
            var entry = Certificates[arn];
            using var key = ECDsa.Create();
            key.ImportPkcs8PrivateKey(entry.Key, out _);
            var encrypted = key.ExportEncryptedPkcs8PrivateKeyPem(passphrase, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10_000));
            return Task.FromResult(new AcmExport(entry.CertificatePem, _ca.ExportCertificatePem(), encrypted));
        }

        public Task RenewCertificateAsync(string arn, CancellationToken cancellationToken)
        {
            Renewed.Add(arn);
            return Task.CompletedTask;
        }

        public Task RevokeCertificateAsync(string arn, AcmRevocationReason reason, CancellationToken cancellationToken)
        {
            if (RevokeError is not null)
            {
                throw RevokeError;
            }

            Revoked.Add((arn, reason));
            return Task.CompletedTask;
        }

        public Task AddTagsAsync(string arn, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken)
        {
            Tagged.Add(arn);
            return Task.CompletedTask;
        }

        public Task DeleteCertificateAsync(string arn, CancellationToken cancellationToken)
        {
            if (DeleteError is not null)
            {
                throw DeleteError;
            }

            Deleted.Add(arn);
            return Task.CompletedTask;
        }

        public void Dispose()
        {
            _ca.Dispose();
            _caKey.Dispose();
        }

        public sealed class Issued
        {
            public required string Status { get; set; }
            public required string Fqdn { get; init; }
            public string? FailureReason { get; set; }
            public string CertificatePem { get; set; } = string.Empty;
            public byte[] Key { get; set; } = [];
            public string Serial { get; set; } = string.Empty;
        }
    }
}
