using System.Net;
using System.Text;
using Amazon.Runtime;
using Microsoft.Extensions.Time.Testing;
using Notary.Aws.Tests.Support;

namespace Notary.Aws.Tests;

/// <summary>The JSON 1.1 transport against an in-process fake endpoint: wire format, signing, errors, retries.</summary>
public sealed class JsonClientTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 30, 0, TimeSpan.Zero);
    private static readonly AWSCredentials Credentials = new BasicAWSCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");

    private static AwsClientOptions Options(int maxAttempts = 5) => new()
    {
        Region = "us-west-2",
        ServiceUrl = "https://fake.example/",
        MaxAttempts = maxAttempts,
        BaseDelay = TimeSpan.FromMilliseconds(100),
        MaxDelay = TimeSpan.FromSeconds(1),
        RequestTimeout = TimeSpan.FromSeconds(5),
    };

    private static (AwsJsonClient Client, FakeAwsHandler Handler, List<(string, int)> Attempts) Create(AwsServiceInfo service, TimeProvider? time = null, AwsClientOptions? options = null, TestLog? log = null)
    {
        var handler = new FakeAwsHandler();
        var attempts = new List<(string, int)>();
        var client = new AwsJsonClient(
            new HttpClient(handler),
            service,
            options ?? Options(),
            Credentials,
            time ?? new FakeTimeProvider(Now),
            log?.CreateLogger("aws"),
            (operation, attempt) =>
            {
                lock (attempts)
                {
                    attempts.Add((operation, attempt));
                }
            });
        return (client, handler, attempts);
    }

    [Fact]
    public async Task A_request_is_a_signed_json_post_with_the_target_header()
    {
        var (client, handler, _) = Create(AwsServiceInfo.Acm);
        handler.Then(() => FakeAwsHandler.Json("""{"Certificate":{"CertificateArn":"arn:aws:acm:us-west-2:1:certificate/x","Status":"ISSUED"}}"""));

        var detail = await new AcmClient(client).DescribeCertificateAsync("arn:aws:acm:us-west-2:1:certificate/x", CancellationToken.None);

        Assert.Equal(AcmStatus.Issued, detail.Status);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("https://fake.example/", request.Uri.AbsoluteUri);
        Assert.Equal("CertificateManager.DescribeCertificate", request.Header("X-Amz-Target"));
        Assert.Equal("application/x-amz-json-1.1", request.Header("Content-Type"));
        Assert.Equal("""{"CertificateArn":"arn:aws:acm:us-west-2:1:certificate/x"}""", request.Body);

        // SigV4 with the injected clock: credential scope of the day, and the headers that matter signed.
        var authorization = request.Header("Authorization");
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-west-2/acm/aws4_request,", authorization, StringComparison.Ordinal);
        var signed = authorization.Split("SignedHeaders=")[1].Split(',')[0].Split(';');
        Assert.Contains("host", signed);
        Assert.Contains("x-amz-date", signed);
        Assert.Contains("x-amz-target", signed);
        Assert.Contains("content-type", signed);
        Assert.Equal("20261122T103000Z", request.Header("X-Amz-Date"));
        Assert.DoesNotContain("wJalrXUtnFEMI", string.Join(" ", request.Headers.Values), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_manager_requests_are_signed_for_its_own_service_name()
    {
        var (client, handler, _) = Create(AwsServiceInfo.SecretsManager);
        await new SecretsManagerClient(client).TagResourceAsync("s", [new AwsTag("k", "v")], CancellationToken.None);
        var request = Assert.Single(handler.Requests);
        Assert.Equal("secretsmanager.TagResource", request.Header("X-Amz-Target"));
        Assert.Contains("/us-west-2/secretsmanager/aws4_request", request.Header("Authorization"), StringComparison.Ordinal);
        Assert.Equal("""{"SecretId":"s","Tags":[{"Key":"k","Value":"v"}]}""", request.Body);
    }

    [Fact]
    public async Task Renew_certificate_sends_exactly_the_model_shape()
    {
        var (client, handler, _) = Create(AwsServiceInfo.Acm);
        handler.Then(() => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) });

        await new AcmClient(client).RenewCertificateAsync("arn:aws:acm:us-west-2:123456789012:certificate/abc", CancellationToken.None);

        var request = Assert.Single(handler.Requests);
        Assert.Equal("CertificateManager.RenewCertificate", request.Header("X-Amz-Target"));
        Assert.Equal("""{"CertificateArn":"arn:aws:acm:us-west-2:123456789012:certificate/abc"}""", request.Body);
        Assert.Contains("/acm/aws4_request", request.Header("Authorization"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_certificate_sends_the_arn_and_the_reason_as_the_model_spells_it()
    {
        var (client, handler, _) = Create(AwsServiceInfo.Acm);
        handler.Then(() => FakeAwsHandler.Json("""{"CertificateArn":"arn:aws:acm:us-west-2:123456789012:certificate/abc"}"""));

        var response = await new AcmClient(client).RevokeCertificateAsync("arn:aws:acm:us-west-2:123456789012:certificate/abc", AcmRevocationReason.KeyCompromise, CancellationToken.None);

        Assert.Equal("arn:aws:acm:us-west-2:123456789012:certificate/abc", response.CertificateArn);
        var request = Assert.Single(handler.Requests);
        Assert.Equal("CertificateManager.RevokeCertificate", request.Header("X-Amz-Target"));
        Assert.Equal("""{"CertificateArn":"arn:aws:acm:us-west-2:123456789012:certificate/abc","RevocationReason":"KEY_COMPROMISE"}""", request.Body);
    }

    [Fact]
    public async Task Revoke_errors_surface_with_code_and_message()
    {
        var (client, handler, attempts) = Create(AwsServiceInfo.Acm);
        handler.Then(() => FakeAwsHandler.Error(HttpStatusCode.BadRequest, "ResourceInUseException", "The certificate is in use"));

        var error = await Assert.ThrowsAsync<AwsServiceException>(() =>
            new AcmClient(client).RevokeCertificateAsync("arn:aws:acm:us-west-2:1:certificate/x", AcmRevocationReason.Superseded, CancellationToken.None));

        Assert.Equal("ResourceInUseException", error.ErrorCode);
        Assert.Equal("The certificate is in use", error.AwsMessage);
        Assert.Equal("ResourceInUseException: The certificate is in use", error.Message);
        Assert.Equal("RevokeCertificate", error.Operation);
        Assert.False(error.Retryable);
        Assert.Single(attempts);
    }

    [Fact]
    public async Task List_certificates_follows_next_token_and_asks_for_every_status_and_key_type()
    {
        var (client, handler, _) = Create(AwsServiceInfo.Acm);
        handler
            .Then(() => FakeAwsHandler.Json("""{"CertificateSummaryList":[{"CertificateArn":"a","KeyAlgorithm":"RSA_2048"}],"NextToken":"page2"}"""))
            .Then(() => FakeAwsHandler.Json("""{"CertificateSummaryList":[{"CertificateArn":"b","KeyAlgorithm":"EC_prime256v1"}]}"""));

        var all = await new AcmClient(client).ListCertificatesAsync(allStatuses: true, CancellationToken.None);

        Assert.Equal(["a", "b"], all.Select(c => c.CertificateArn));
        Assert.Equal(2, handler.Requests.Count);
        Assert.Contains("\"CertificateStatuses\":[\"PENDING_VALIDATION\",\"ISSUED\",\"INACTIVE\",\"EXPIRED\",\"VALIDATION_TIMED_OUT\",\"REVOKED\",\"FAILED\"]", handler.Requests[0].Body, StringComparison.Ordinal);
        Assert.Contains("\"keyTypes\":[\"RSA_1024\",\"RSA_2048\",\"RSA_3072\",\"RSA_4096\",\"EC_prime256v1\",\"EC_secp384r1\",\"EC_secp521r1\"]", handler.Requests[0].Body, StringComparison.Ordinal);
        Assert.DoesNotContain("NextToken", handler.Requests[0].Body, StringComparison.Ordinal);
        Assert.Contains("\"NextToken\":\"page2\"", handler.Requests[1].Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, """{"__type":"com.amazonaws.acm#AccessDeniedException","message":"not allowed"}""", "AccessDeniedException", "not allowed")]
    [InlineData(null, """{"__type":"ValidationException","Message":"bad value"}""", "ValidationException", "bad value")]
    [InlineData("AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/", """{"message":"denied"}""", "AccessDeniedException", "denied")]
    [InlineData(null, "<html>oops</html>", null, null)]
    [InlineData(null, "", null, null)]
    public void Error_answers_are_parsed_from_the_header_or_the_body(string? header, string body, string? code, string? message)
    {
        var (parsedCode, parsedMessage) = AwsJsonClient.ParseError(header, Encoding.UTF8.GetBytes(body));
        Assert.Equal(code, parsedCode);
        Assert.Equal(message, parsedMessage);
    }

    [Theory]
    [InlineData(400, "ThrottlingException", true)]
    [InlineData(400, "Throttling", true)]
    [InlineData(400, "TooManyRequestsException", true)]
    [InlineData(400, "RequestLimitExceeded", true)]
    [InlineData(429, "Anything", true)]
    [InlineData(500, "InternalFailure", true)]
    [InlineData(503, "Http503", true)]
    [InlineData(400, "LimitExceededException", false)]
    [InlineData(400, "AccessDeniedException", false)]
    [InlineData(400, "ValidationException", false)]
    [InlineData(400, "ResourceNotFoundException", false)]
    [InlineData(400, "RequestInProgressException", false)]
    public void Which_errors_are_retried(int status, string code, bool retryable) =>
        Assert.Equal(retryable, AwsJsonClient.IsRetryable((HttpStatusCode)status, code));

    [Theory]
    [InlineData(1, 0.5, 50)]
    [InlineData(2, 1.0, 200)]
    [InlineData(3, 1.0, 400)]
    [InlineData(10, 1.0, 1000)]
    [InlineData(40, 0.25, 250)]
    [InlineData(5, 0.0, 0)]
    public void Backoff_is_full_jitter_exponential_and_capped(int attempt, double fraction, double expectedMs) =>
        Assert.Equal(expectedMs, AwsJsonClient.Backoff(attempt, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), fraction).TotalMilliseconds, precision: 6);

    [Fact]
    public async Task Throttling_and_server_errors_are_retried_with_backoff_on_the_injected_clock()
    {
        var time = new FakeTimeProvider(Now);
        var log = new TestLog();
        var (client, handler, attempts) = Create(AwsServiceInfo.SecretsManager, time, log: log);
        handler
            .Then(() => FakeAwsHandler.Error(HttpStatusCode.BadRequest, "ThrottlingException", "Rate exceeded"))
            .Then(() => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Content = new StringContent("<html>busy</html>") })
            .Then(() => FakeAwsHandler.Json("""{"ARN":"arn:aws:secretsmanager:us-west-2:1:secret:s-abcdef","Name":"s"}"""));

        var call = new SecretsManagerClient(client).DescribeSecretAsync("s", CancellationToken.None);
        var dates = new HashSet<string>();
        while (!call.IsCompleted)
        {
            // Nothing happens until the fake clock moves: the backoff waits on the TimeProvider.
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(1);
        }

        var secret = await call;
        Assert.Equal("s", secret!.Name);
        Assert.Equal([("DescribeSecret", 1), ("DescribeSecret", 2), ("DescribeSecret", 3)], attempts);
        Assert.Equal(3, client.AttemptCount("DescribeSecret"));
        foreach (var request in handler.Requests)
        {
            dates.Add(request.Header("X-Amz-Date"));
        }

        Assert.True(dates.Count >= 2, "every attempt is signed again, with the time of that attempt");
        var retries = log.Lines.Where(l => l.Contains("[3001]", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, retries.Count);
        Assert.Contains("ErrorCode=ThrottlingException", retries[0], StringComparison.Ordinal);
        Assert.Contains("ErrorCode=Http503", retries[1], StringComparison.Ordinal);
        Assert.DoesNotContain("busy", log.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retryable_error_that_persists_gives_up_after_max_attempts_with_retryable_set()
    {
        var (client, handler, attempts) = Create(AwsServiceInfo.Acm, TimeProvider.System, Options(maxAttempts: 3));
        handler.Default = _ => FakeAwsHandler.Error(HttpStatusCode.BadRequest, "ThrottlingException", "Rate exceeded");

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => new AcmClient(client).ListCertificatesAsync(false, CancellationToken.None));

        Assert.True(error.Retryable);
        Assert.Equal(3, error.Attempts);
        Assert.Equal("ThrottlingException", error.ErrorCode);
        Assert.Equal("ThrottlingException: Rate exceeded (gave up after 3 attempts)", error.Message);
        Assert.Equal(3, attempts.Count);
    }

    [Fact]
    public async Task Cancelling_during_the_backoff_stops_without_another_attempt()
    {
        var time = new FakeTimeProvider(Now);
        var (client, handler, attempts) = Create(AwsServiceInfo.Acm, time);
        handler.Default = _ => FakeAwsHandler.Error(HttpStatusCode.InternalServerError, "InternalFailure", "boom");
        using var cancellation = new CancellationTokenSource();

        var call = new AcmClient(client).DescribeCertificateAsync("arn", cancellation.Token);
        while (attempts.Count < 1)
        {
            await Task.Delay(1);
        }

        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Single(attempts);
    }

    [Fact]
    public async Task Connection_failures_are_retried()
    {
        var (client, handler, attempts) = Create(AwsServiceInfo.Acm, TimeProvider.System, Options());
        handler
            .Then(_ => throw new HttpRequestException("Connection refused (fake.example:443)"))
            .Then(_ => throw new IOException("The response ended prematurely."))
            .Then(() => FakeAwsHandler.Json("""{"CertificateArn":"arn:aws:acm:us-west-2:1:certificate/new"}"""));

        var arn = await new AcmClient(client).RequestCertificateAsync(new RequestCertificateRequest { DomainName = "a.example.com", IdempotencyToken = "t1" }, CancellationToken.None);

        Assert.Equal("arn:aws:acm:us-west-2:1:certificate/new", arn);
        Assert.Equal(3, attempts.Count);
        Assert.All(handler.Requests, r => Assert.Contains("\"IdempotencyToken\":\"t1\"", r.Body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Failures_never_carry_the_secret_or_the_passphrase_into_messages_or_logs()
    {
        var log = new TestLog();
        var (client, handler, _) = Create(AwsServiceInfo.SecretsManager, TimeProvider.System, log: log);
        handler.Default = request => FakeAwsHandler.Error(HttpStatusCode.BadRequest, "AccessDeniedException", "User is not authorized to perform secretsmanager:PutSecretValue");
        var secret = Encoding.ASCII.GetBytes("TOP-SECRET-KEYSTORE-BYTES");

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => new SecretsManagerClient(client).PutSecretValueAsync("s", secret, "0123456789abcdef0123456789abcdef", CancellationToken.None));

        var base64 = Convert.ToBase64String(secret);
        Assert.Contains(base64, handler.Requests[0].Body, StringComparison.Ordinal);
        foreach (var text in new[] { error.ToString(), log.Text })
        {
            Assert.DoesNotContain(base64, text, StringComparison.Ordinal);
            Assert.DoesNotContain("TOP-SECRET", text, StringComparison.Ordinal);
        }

        Assert.Equal("AccessDeniedException: User is not authorized to perform secretsmanager:PutSecretValue", error.Message);
    }

    [Fact]
    public async Task An_answer_that_is_not_the_expected_json_is_reported_without_its_body()
    {
        var (client, handler, _) = Create(AwsServiceInfo.SecretsManager);
        handler.Then(() => FakeAwsHandler.Json("""{"SecretBinary":12345, "Name":"leak-me"}"""));

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => new SecretsManagerClient(client).GetSecretValueAsync("s", null, CancellationToken.None));

        Assert.Equal("InvalidResponse", error.ErrorCode);
        Assert.False(error.Retryable);
        Assert.DoesNotContain("leak-me", error.ToString(), StringComparison.Ordinal);
    }
}
