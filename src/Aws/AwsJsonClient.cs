using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.Runtime.Signing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Notary.Aws;

/// <summary>
/// Speaks the AWS JSON 1.1 protocol to one service: POST of a JSON body with X-Amz-Target,
/// signed with SigV4 by AWSSDK.Core for every attempt, answers and errors read with
/// System.Text.Json. Transient failures (throttling, 5xx, 429, dropped connections, attempts
/// that overrun <see cref="AwsClientOptions.RequestTimeout"/>) are retried up to
/// <see cref="AwsClientOptions.MaxAttempts"/> with full-jitter exponential backoff, as the AWS
/// SDKs' standard retry mode does; everything else throws <see cref="AwsServiceException"/> at
/// once. Request and response bodies are never logged nor put in exceptions: they hold secrets.
/// </summary>
public sealed class AwsJsonClient
{
    /// <summary>
    /// Error codes the AWS SDKs treat as throttling or transient (botocore retries/standard.py),
    /// minus LimitExceededException: for ACM it means an account quota is used up (certificates
    /// requested per year), for Secrets Manager a quota such as versions per secret; neither
    /// clears within seconds, so retrying would only delay the message the user needs to see.
    /// </summary>
    internal static readonly FrozenSet<string> RetryableCodes = FrozenSet.ToFrozenSet(
    [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "RequestThrottled", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
        "RequestTimeout", "RequestTimeoutException", "InternalFailure", "InternalServiceError",
        "ServiceUnavailable",
    ], StringComparer.Ordinal);

    private static readonly Meter Meter = new("Notary.Aws");
    private static readonly Counter<long> AttemptsCounter = Meter.CreateCounter<long>(
        "notary.aws.attempts", unit: "{attempt}", description: "HTTP attempts of AWS calls, by service, operation and outcome.");

    private readonly HttpMessageInvoker _http;
    private readonly AwsClientOptions _options;
    private readonly RegionEndpoint _region;
    private readonly Uri _endpoint;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Action<string, int>? _onAttempt;
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private Task<AWSCredentials>? _credentials;

    /// <param name="http">Sends the requests; owned by the caller (see <see cref="AwsClients.CreateHttpClient"/>). Its own timeout should be infinite: attempts are timed here.</param>
    /// <param name="service">Which service this client speaks to.</param>
    /// <param name="options">Region, endpoint, timeout and retries; copied, later changes are not seen.</param>
    /// <param name="credentials">Credentials to sign with; null resolves the SDK's default chain on first use (environment, profile, web identity, container, instance metadata).</param>
    /// <param name="timeProvider">Times attempts and backoff; tests pass a fake one.</param>
    /// <param name="logger">Logs retries (operation, attempt, error code, delay) and failures; never bodies.</param>
    /// <param name="onAttempt">Called before every HTTP attempt with the operation and the attempt number (1 for the first).</param>
    /// <param name="environment">Reads environment variables (the region fallback); null reads the process environment.</param>
    public AwsJsonClient(
        HttpMessageInvoker http,
        AwsServiceInfo service,
        AwsClientOptions options,
        AWSCredentials? credentials = null,
        TimeProvider? timeProvider = null,
        ILogger? logger = null,
        Action<string, int>? onAttempt = null,
        Func<string, string?>? environment = null)
    {
        _http = http;
        Service = service;
        _options = new AwsClientOptions
        {
            Region = options.Region,
            ServiceUrl = options.ServiceUrl,
            RequestTimeout = options.RequestTimeout,
            MaxAttempts = Math.Max(1, options.MaxAttempts),
            BaseDelay = options.BaseDelay,
            MaxDelay = options.MaxDelay,
        };
        _region = _options.ResolveRegion(environment);
        _endpoint = _options.ResolveEndpoint(service, _region);
        _credentials = credentials is null ? null : Task.FromResult(credentials);
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _onAttempt = onAttempt;
    }

    public AwsServiceInfo Service { get; }

    /// <summary>Where requests go.</summary>
    public Uri Endpoint => _endpoint;

    /// <summary>The region requests are signed for.</summary>
    public string Region => _region.SystemName;

    /// <summary>HTTP attempts made so far for <paramref name="operation"/>, retries included.</summary>
    public int AttemptCount(string operation) => _attempts.TryGetValue(operation, out var count) ? count : 0;

    /// <summary>HTTP attempts made so far, per operation.</summary>
    public IReadOnlyDictionary<string, int> AttemptCounts => new Dictionary<string, int>(_attempts, StringComparer.Ordinal);

    /// <summary>Calls <paramref name="operation"/>; request and response types must be in <see cref="AwsJsonContext"/>.</summary>
    public Task<TResponse> InvokeAsync<TRequest, TResponse>(string operation, TRequest request, CancellationToken cancellationToken) =>
        InvokeAsync(operation, request, TypeInfo<TRequest>(), TypeInfo<TResponse>(), cancellationToken);

    /// <summary>Calls a described operation of this client's service.</summary>
    public Task<TResponse> InvokeAsync<TRequest, TResponse>(AwsOperation<TRequest, TResponse> operation, TRequest request, CancellationToken cancellationToken) =>
        InvokeAsync(operation.Name, request, operation.Request, operation.Response, cancellationToken);

    /// <summary>Calls <paramref name="operation"/> with shapes from any (source-generated) JSON context.</summary>
    public async Task<TResponse> InvokeAsync<TRequest, TResponse>(
        string operation,
        TRequest request,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, requestType);
        var credentials = await CredentialsAsync(operation).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _attempts.AddOrUpdate(operation, 1, (_, count) => count + 1);
            _onAttempt?.Invoke(operation, attempt);

            Failure failure;
            using (var timeout = new CancellationTokenSource(_options.RequestTimeout, _timeProvider))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
            {
                try
                {
                    using var message = await BuildAsync(operation, body, credentials, linked.Token).ConfigureAwait(false);
                    using var response = await _http.SendAsync(message, linked.Token).ConfigureAwait(false);
                    var content = await response.Content.ReadAsByteArrayAsync(linked.Token).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        Record(operation, "success");
                        return Deserialize(operation, content, responseType, response.StatusCode);
                    }

                    failure = ReadError(response, content);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (OperationCanceledException ex)
                {
                    // Our per-attempt timeout, or the HttpClient's own: the service may be slow or the
                    // connection stalled. The service may still have done the work; Notary's writes
                    // carry idempotency tokens, so the retry cannot do it twice.
                    failure = new Failure("RequestTimeout", $"No answer within {_options.RequestTimeout.TotalSeconds:0.###} s", null, null, Retryable: true, ex);
                }
                catch (HttpRequestException ex)
                {
                    failure = new Failure("ConnectionFailure", ex.Message, null, null, Retryable: true, ex);
                }
                catch (IOException ex)
                {
                    failure = new Failure("ConnectionFailure", ex.Message, null, null, Retryable: true, ex);
                }
                catch (Exception ex) when (ex is AmazonClientException or AmazonServiceException)
                {
                    // Refreshing credentials (e.g. web identity through STS) failed while signing.
                    throw CredentialsFailure(operation, ex, attempt);
                }
            }

            if (!failure.Retryable)
            {
                Record(operation, "error");
                Log.CallFailed(_logger, Service.SigningName, operation, attempt, failure.Code, (int?)failure.Status);
                throw failure.ToException(operation, attempt);
            }

            if (attempt >= _options.MaxAttempts)
            {
                Record(operation, "exhausted");
                Log.RetriesExhausted(_logger, Service.SigningName, operation, attempt, failure.Code);
                throw failure.ToException(operation, attempt);
            }

            Record(operation, "retry");
            var delay = Backoff(attempt, _options.BaseDelay, _options.MaxDelay, RandomFraction());
            Log.Retrying(_logger, Service.SigningName, operation, attempt, _options.MaxAttempts, failure.Code, (int?)failure.Status, delay.TotalMilliseconds);
            await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniformly random
    /// delay up to base·2^(attempt-1), capped; spreads out clients throttled at the same moment.
    /// </summary>
    internal static TimeSpan Backoff(int attempt, TimeSpan baseDelay, TimeSpan maxDelay, double fraction) =>
        new Grains.Abstractions.Retry.ExponentialBackoff(baseDelay, maxDelay).FullJitter(attempt - 1, fraction);

    /// <summary>Whether an error answer is worth another attempt: throttling and transient codes, 429 and 5xx.</summary>
    internal static bool IsRetryable(HttpStatusCode status, string code) =>
        RetryableCodes.Contains(code) || status == HttpStatusCode.TooManyRequests || (int)status >= 500;

    /// <summary>
    /// The error code and message of an error answer: the code from x-amzn-ErrorType or the body's
    /// __type (both may carry a namespace or a URL to strip), the message from message or Message.
    /// </summary>
    internal static (string? Code, string? Message) ParseError(string? errorTypeHeader, ReadOnlySpan<byte> body)
    {
        string? code = null;
        string? message = null;
        if (!string.IsNullOrWhiteSpace(errorTypeHeader))
        {
            code = errorTypeHeader.Split(':')[0].Trim();
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Value.ValueKind != JsonValueKind.String)
                    {
                        continue;
                    }

                    if (property.NameEquals("__type") || property.NameEquals("code") || property.NameEquals("Code"))
                    {
                        code ??= property.Value.GetString();
                    }
                    else if (property.NameEquals("message") || property.NameEquals("Message") || property.NameEquals("errorMessage"))
                    {
                        message ??= property.Value.GetString();
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page): only the status is known.
        }

        if (code is not null)
        {
            var hash = code.LastIndexOf('#');
            code = hash >= 0 ? code[(hash + 1)..] : code;
            code = code.Length == 0 ? null : code;
        }

        return (code, message is { Length: > 2048 } ? message[..2048] : message);
    }

    private static Failure ReadError(HttpResponseMessage response, byte[] content)
    {
        var header = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.FirstOrDefault() : null;
        var (code, message) = ParseError(header, content);
        var status = response.StatusCode;
        code ??= $"Http{(int)status}";
        message ??= $"The service answered HTTP {(int)status} ({response.ReasonPhrase}) without an error message.";
        var requestId = response.Headers.TryGetValues("x-amzn-RequestId", out var ids) ? ids.FirstOrDefault() : null;
        return new Failure(code, message, status, requestId, IsRetryable(status, code), null);
    }

    private static TResponse Deserialize<TResponse>(string operation, byte[] content, JsonTypeInfo<TResponse> responseType, HttpStatusCode status)
    {
        try
        {
            // Operations without output answer with an empty body or "{}".
            var json = content.Length == 0 ? "{}"u8.ToArray() : content;
            return JsonSerializer.Deserialize(json, responseType) ?? throw new JsonException("The answer is JSON null.");
        }
        catch (JsonException ex)
        {
            // Only the reader's own words (path and position), never the body, which may hold a secret.
            throw new AwsServiceException(operation, "InvalidResponse", $"The answer to {operation} is not the JSON expected: {ex.Path} {ex.LineNumber}:{ex.BytePositionInLine}", status, retryable: false);
        }
    }

    private async Task<HttpRequestMessage> BuildAsync(string operation, byte[] body, AWSCredentials credentials, CancellationToken cancellationToken)
    {
        var target = $"{Service.TargetPrefix}.{operation}";
        var signing = new AWSSigningRequest
        {
            HttpMethod = HttpMethod.Post,
            RequestUri = _endpoint,
            Content = body,
        };
        signing.Headers["Content-Type"] = "application/x-amz-json-1.1";
        signing.Headers["X-Amz-Target"] = target;

        // Signed again for every attempt: the signature covers X-Amz-Date, which AWS checks for skew.
        var signed = await AWSSigV4Signer.SignAsync(
            signing,
            new AWSSigV4Parameters
            {
                Credentials = credentials,
                Region = _region,
                Service = Service.SigningName,
                SignPayload = true,
                SignedAt = _timeProvider.GetUtcNow().UtcDateTime,
            },
            cancellationToken).ConfigureAwait(false);

        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = content };
        message.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        message.Headers.TryAddWithoutValidation("User-Agent", "notary-aws-json/1");
        foreach (var (name, value) in signed.Headers)
        {
            if (!message.Headers.TryAddWithoutValidation(name, value))
            {
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return message;
    }

    private async Task<AWSCredentials> CredentialsAsync(string operation)
    {
        // Resolved once and kept: the chain's credentials refresh themselves (web identity, instance
        // metadata). A failed resolution is not kept, so the next call tries again.
        var current = Volatile.Read(ref _credentials);
        if (current is null || current.IsFaulted || current.IsCanceled)
        {
            var resolving = DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(null);
            current = Interlocked.CompareExchange(ref _credentials, resolving, current) == current ? resolving : Volatile.Read(ref _credentials)!;
        }

        try
        {
            return await current.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonClientException or AmazonServiceException)
        {
            throw CredentialsFailure(operation, ex, attempts: 1);
        }
    }

    /// <summary>
    /// No credentials: none configured (AmazonClientException), or STS refused or failed to give
    /// them (AmazonServiceException, e.g. AccessDenied for AssumeRoleWithWebIdentity). Retryable
    /// unless STS said something retrying cannot fix; the SDK's message names no secret.
    /// </summary>
    private static AwsServiceException CredentialsFailure(string operation, Exception exception, int attempts) => exception switch
    {
        AmazonServiceException sts => new AwsServiceException(
            operation,
            "CredentialsUnavailable",
            $"AWS credentials could not be obtained: {sts.ErrorCode}: {sts.Message}",
            sts.StatusCode,
            IsRetryable(sts.StatusCode, sts.ErrorCode ?? ""),
            attempts,
            sts.RequestId),
        _ => new AwsServiceException(operation, "CredentialsUnavailable", $"No AWS credentials were found: {exception.Message}", null, retryable: true, attempts),
    };

    private void Record(string operation, string outcome) =>
        AttemptsCounter.Add(1, new("service", Service.SigningName), new("operation", operation), new("outcome", outcome));

    private static double RandomFraction() => RandomNumberGenerator.GetInt32(0, 1 << 24) / (double)(1 << 24);

    private static JsonTypeInfo<T> TypeInfo<T>() =>
        AwsJsonContext.Default.GetTypeInfo(typeof(T)) as JsonTypeInfo<T>
            ?? throw new InvalidOperationException($"{typeof(T).Name} is not in {nameof(AwsJsonContext)}; pass its JsonTypeInfo instead.");

    private sealed record Failure(string Code, string Message, HttpStatusCode? Status, string? RequestId, bool Retryable, Exception? Cause)
    {
        // The cause (HttpRequestException, timeout) is kept for diagnostics: it describes the
        // connection, never the request's content.
        public AwsServiceException ToException(string operation, int attempts) =>
            new(operation, Code, Message, Status, Retryable, attempts, RequestId, Cause);
    }
}
