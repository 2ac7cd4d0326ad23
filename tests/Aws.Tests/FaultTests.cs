using Notary.Grains.Abstractions.Ports;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Notary.Aws.Tests.Support;
using Notary.Grains.Abstractions;

namespace Notary.Aws.Tests;

/// <summary>
/// Retries through FaultProxy in front of moto: throttling, 5xx, connections dropped before and
/// after the service did the work, and answers slower than the per-attempt timeout all end in
/// success with a bounded, asserted number of attempts; errors that retrying cannot fix are not
/// retried; persistent throttling gives up after MaxAttempts.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Slow")]
public sealed class FaultTests(FaultFixture fixture) : IAsyncLifetime
{
    private readonly TestLog _log = new();
    private FaultProxy _proxy = null!;
    private AcmClient _acm = null!;
    private SecretsManagerClient _secrets = null!;
    private SecretsManagerStore _store = null!;
    private readonly string _namespace = "f-" + Guid.NewGuid().ToString("N")[..10];

    public async Task InitializeAsync()
    {
        _proxy = await FaultProxy.StartAsync(fixture.Moto.Url);
        var options = fixture.Moto.ClientOptions(_proxy.Url);
        options.RequestTimeout = TimeSpan.FromMilliseconds(1500);
        _acm = new AcmClient(new AwsJsonClient(fixture.Http, AwsServiceInfo.Acm, options, MotoServer.Credentials, logger: _log.CreateLogger("acm")));
        _secrets = new SecretsManagerClient(new AwsJsonClient(fixture.Http, AwsServiceInfo.SecretsManager, options, MotoServer.Credentials, logger: _log.CreateLogger("sm")));
        _store = new SecretsManagerStore(_secrets, Options.Create(new SecretsManagerStoreOptions { RecoveryWindowDays = 7 }), _log.For<SecretsManagerStore>());
    }

    public async Task DisposeAsync() => await _proxy.DisposeAsync();

    private static string UniqueDomain() => $"f{Guid.NewGuid():N}"[..14] + ".faults.svc.cluster.local";

    private RequestCertificateRequest PrivateCertificate(string domain, string? token = null) => new()
    {
        DomainName = domain,
        CertificateAuthorityArn = fixture.CertificateAuthorityArn,
        IdempotencyToken = token ?? Guid.NewGuid().ToString("N"),
        Tags = [new AwsTag("app.kubernetes.io/managed-by", "notary")],
    };

    private async Task<int> CertificatesFor(string domain) =>
        (await _acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None)).Count(c => c.DomainName == domain);

    [Fact]
    public async Task Throttling_is_retried_until_it_passes()
    {
        _proxy.Enqueue("CreateSecret", Fault.Throttle(), Fault.Throttle());
        var bytes = new byte[] { 1, 2, 3 };

        var location = await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "web", bytes), CancellationToken.None);

        Assert.Equal(3, _proxy.Count("CreateSecret"));
        Assert.Equal(3, _secrets.Transport.AttemptCount("CreateSecret"));
        Assert.Equal(bytes, (await _secrets.GetSecretValueAsync(location.Arn, null, CancellationToken.None)).SecretBinary);
        var retries = _log.Lines.Where(l => l.Contains("[3001]", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, retries.Count);
        Assert.All(retries, l => Assert.Contains("Operation=CreateSecret Attempt=", l, StringComparison.Ordinal));
        Assert.All(retries, l => Assert.Contains("ErrorCode=ThrottlingException", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_errors_are_retried_until_they_pass()
    {
        await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "web", [1]), CancellationToken.None);
        _proxy.Enqueue("PutSecretValue", Fault.InternalError(), Fault.Unavailable());

        var location = await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "web", [2]), CancellationToken.None);

        Assert.Equal(3, _proxy.Count("PutSecretValue"));
        Assert.Equal(new byte[] { 2 }, (await _secrets.GetSecretValueAsync(location.Arn, null, CancellationToken.None)).SecretBinary);
        Assert.Contains(_log.Lines, l => l.Contains("ErrorCode=Http503", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connections_dropped_before_forwarding_are_retried()
    {
        var domain = UniqueDomain();
        _proxy.Enqueue("RequestCertificate", Fault.DropBeforeForward(), Fault.DropBeforeForward());

        var arn = await _acm.RequestCertificateAsync(PrivateCertificate(domain), CancellationToken.None);

        Assert.StartsWith("arn:aws:acm:", arn, StringComparison.Ordinal);
        Assert.Equal(3, _proxy.Count("RequestCertificate"));
        Assert.Equal(1, await CertificatesFor(domain));
        Assert.Contains(_log.Lines, l => l.Contains("ErrorCode=ConnectionFailure", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_certificate_requested_again_after_a_lost_answer_is_the_same_certificate()
    {
        var domain = UniqueDomain();
        _proxy.Enqueue("RequestCertificate", Fault.DropAfterForward(), Fault.DropAfterForward());

        var arn = await _acm.RequestCertificateAsync(PrivateCertificate(domain), CancellationToken.None);

        Assert.Equal(3, _proxy.Count("RequestCertificate"));
        var dropped = _proxy.Requests.Where(r => r.Fault?.Kind == FaultKind.DropAfterForward).ToList();
        Assert.Equal(2, dropped.Count);
        Assert.All(dropped, r => Assert.Equal(200, r.UpstreamStatus));
        Assert.Equal(1, await CertificatesFor(domain));
        Assert.Equal(AcmStatus.Issued, (await _acm.DescribeCertificateAsync(arn, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_secret_created_or_written_again_after_a_lost_answer_is_written_once()
    {
        _proxy.Enqueue("CreateSecret", Fault.DropAfterForward());
        var first = await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "web", [1]), CancellationToken.None);
        Assert.Equal(2, _proxy.Count("CreateSecret"));

        _proxy.Enqueue("PutSecretValue", Fault.DropAfterForward());
        var second = await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "web", [2]), CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Equal(2, _proxy.Count("PutSecretValue"));
        Assert.Equal(new byte[] { 2 }, (await _secrets.GetSecretValueAsync(second.Arn, null, CancellationToken.None)).SecretBinary);
    }

    [Fact]
    public async Task A_deletion_whose_answer_was_lost_still_counts_as_deleted()
    {
        var location = await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "web", [1]), CancellationToken.None);
        _proxy.Enqueue("DeleteSecret", Fault.DropAfterForward());

        Assert.True(await _store.DeleteAsync(new ResourceKey(_namespace, "web"), ResourceKind.Keystore, CancellationToken.None));

        // The retry met "marked for deletion" (InvalidRequestException); the store checked and accepted it.
        Assert.Equal(2, _proxy.Count("DeleteSecret"));
        Assert.NotNull((await _secrets.DescribeSecretAsync(location.Arn, CancellationToken.None))!.DeletedDate);
    }

    [Fact]
    public async Task Answers_slower_than_the_attempt_timeout_are_abandoned_and_retried()
    {
        var arn = await _acm.RequestCertificateAsync(PrivateCertificate(UniqueDomain()), CancellationToken.None);
        _proxy.Enqueue("DescribeCertificate", Fault.SlowBeforeForward(TimeSpan.FromSeconds(20)));
        _proxy.Enqueue("CreateSecret", Fault.SlowAfterForward(TimeSpan.FromSeconds(20)));
        var watch = Stopwatch.StartNew();

        var detail = await _acm.DescribeCertificateAsync(arn, CancellationToken.None);
        var location = await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "slow", [7]), CancellationToken.None);

        Assert.Equal(arn, detail.CertificateArn);
        Assert.Equal(2, _proxy.Count("DescribeCertificate"));
        Assert.Equal(2, _proxy.Count("CreateSecret"));
        Assert.Equal(new byte[] { 7 }, (await _secrets.GetSecretValueAsync(location.Arn, null, CancellationToken.None)).SecretBinary);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"two 1.5 s timeouts and retries took {watch.Elapsed}");
        Assert.Equal(2, _log.Lines.Count(l => l.Contains("ErrorCode=RequestTimeout", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_injected_access_denied_is_not_retried_and_surfaces_code_and_message()
    {
        _proxy.Enqueue("DescribeSecret", Fault.Error(400, "AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/notary/pod is not authorized to perform: secretsmanager:DescribeSecret"));

        var failure = await Assert.ThrowsAsync<SecretStoreFailedException>(() => _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "web", [1]), CancellationToken.None));
        var error = Assert.IsType<AwsServiceException>(failure.InnerException);

        Assert.Equal(1, _proxy.Count("DescribeSecret"));
        Assert.Equal(0, _proxy.Count("CreateSecret"));
        Assert.False(error.Retryable);
        Assert.Equal(1, error.Attempts);
        Assert.Equal("AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/notary/pod is not authorized to perform: secretsmanager:DescribeSecret", error.Message);
        Assert.NotNull(error.RequestId);
    }

    [Fact]
    public async Task A_validation_error_from_moto_is_not_retried()
    {
        var location = await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "web", [1]), CancellationToken.None);
        _proxy.Reset();

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => _secrets.DeleteSecretAsync(location.Arn, 3, CancellationToken.None));

        Assert.Equal("InvalidParameterException", error.ErrorCode);
        Assert.Contains("RecoveryWindowInDays value must be between 7 and 30", error.AwsMessage, StringComparison.Ordinal);
        Assert.False(error.Retryable);
        Assert.Equal(1, _proxy.Count("DeleteSecret"));
    }

    [Fact]
    public async Task Persistent_throttling_gives_up_after_max_attempts_with_retryable_set()
    {
        var options = fixture.Moto.ClientOptions(_proxy.Url);
        options.MaxAttempts = 3;
        var acm = new AcmClient(new AwsJsonClient(fixture.Http, AwsServiceInfo.Acm, options, MotoServer.Credentials, logger: _log.CreateLogger("acm")));
        _proxy.Plan = FaultPlan.Always("ListCertificates", Fault.Throttle());

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => acm.ListCertificatesAsync(false, CancellationToken.None));

        Assert.True(error.Retryable);
        Assert.Equal(3, error.Attempts);
        Assert.Equal("ThrottlingException", error.ErrorCode);
        Assert.Equal("Rate exceeded", error.AwsMessage);
        Assert.Equal(3, _proxy.Count("ListCertificates"));
        Assert.Equal(3, acm.Transport.AttemptCount("ListCertificates"));
        Assert.Contains(_log.Lines, l => l.Contains("[3002]", StringComparison.Ordinal) && l.Contains("gave up after 3 attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_whole_lifecycle_survives_a_fault_on_every_second_request()
    {
        // Requests 2, 4, 6… fail, cycling through every kind; the retry of each is an odd request
        // and passes, so every call takes at most two attempts.
        _proxy.Plan = FaultPlan.EveryNth(
            2,
            Fault.Throttle(),
            Fault.InternalError(),
            Fault.DropBeforeForward(),
            Fault.DropAfterForward(),
            Fault.Unavailable(),
            Fault.SlowAfterForward(TimeSpan.FromSeconds(20)));
        var domain = UniqueDomain();
        var token = Guid.NewGuid().ToString("N");
        var secret = System.Text.Encoding.ASCII.GetBytes("LIFECYCLE-SECRET-BYTES");

        var arn = await _acm.RequestCertificateAsync(PrivateCertificate(domain, token), CancellationToken.None);
        var exported = await _acm.ExportCertificateAsync(arn, "passphrase-1"u8.ToArray(), CancellationToken.None);
        await _acm.AddTagsToCertificateAsync(arn, [new AwsTag("notary.dev/revision", "1")], CancellationToken.None);
        var stored = await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "cycle", secret), CancellationToken.None);
        await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "cycle", [.. secret, 1]), CancellationToken.None);
        var deleted = await _store.DeleteAsync(new ResourceKey(_namespace, "cycle"), ResourceKind.Keystore, CancellationToken.None);
        var again = await _store.PutAsync(SecretsManagerStoreTests.Write(_namespace, "cycle", secret), CancellationToken.None);

        var requests = _proxy.Requests;
        var faulted = requests.Count(r => r.Fault is not null);
        Assert.True(deleted);
        Assert.Equal(stored, again);
        Assert.Contains("BEGIN CERTIFICATE", exported.Certificate, StringComparison.Ordinal);
        Assert.Equal(requests.Count / 2, faulted);
        Assert.InRange(faulted, 6, 20);
        foreach (var (operation, count) in _proxy.Counts)
        {
            Assert.Equal(count, operation switch
            {
                "RequestCertificate" or "ExportCertificate" or "AddTagsToCertificate" => _acm.Transport.AttemptCount(operation),
                _ => _secrets.Transport.AttemptCount(operation),
            });
        }

        _proxy.Plan = FaultPlan.None;
        Assert.Equal(1, await CertificatesFor(domain));
        Assert.Equal(secret, (await _secrets.GetSecretValueAsync(again.Arn, null, CancellationToken.None)).SecretBinary);
        Assert.DoesNotContain("LIFECYCLE-SECRET", _log.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(secret), _log.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_delivered_hook_runs_after_an_answer_reached_the_client()
    {
        var delivered = new TaskCompletionSource<ProxiedRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        _proxy.OnDelivered = request =>
        {
            if (request.Operation == "RequestCertificate")
            {
                delivered.TrySetResult(request);
            }

            return Task.CompletedTask;
        };

        await _acm.RequestCertificateAsync(PrivateCertificate(UniqueDomain()), CancellationToken.None);

        var record = await delivered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(record.Delivered);
        Assert.Equal(200, record.UpstreamStatus);
        Assert.Contains($"Credential={MotoServer.AccessKey}/", record.Authorization, StringComparison.Ordinal);
    }
}
