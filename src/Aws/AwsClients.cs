using Amazon.Runtime;
using Microsoft.Extensions.Logging;

namespace Notary.Aws;

/// <summary>Builds the HTTP client and the service clients for a host or a test.</summary>
public static class AwsClients
{
    /// <summary>
    /// The one place an HttpClient is made for AWS: pooled connections recycled every few minutes
    /// (so DNS changes of the regional endpoints are seen) and no HttpClient timeout, because
    /// <see cref="AwsJsonClient"/> times each attempt itself. Share one per process.
    /// </summary>
    public static HttpClient CreateHttpClient() => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AutomaticDecompression = System.Net.DecompressionMethods.None,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public static AwsJsonClient CreateJsonClient(
        AwsServiceInfo service,
        AwsClientOptions options,
        HttpMessageInvoker http,
        ILoggerFactory loggerFactory,
        TimeProvider? timeProvider = null,
        AWSCredentials? credentials = null,
        Action<string, int>? onAttempt = null) =>
        new(http, service, options, credentials, timeProvider, loggerFactory.CreateLogger<AwsJsonClient>(), onAttempt);

    public static AcmClient CreateAcm(
        AwsClientOptions options,
        HttpMessageInvoker http,
        ILoggerFactory loggerFactory,
        TimeProvider? timeProvider = null,
        AWSCredentials? credentials = null,
        Action<string, int>? onAttempt = null) =>
        new(CreateJsonClient(AwsServiceInfo.Acm, options, http, loggerFactory, timeProvider, credentials, onAttempt));

    public static SecretsManagerClient CreateSecretsManager(
        AwsClientOptions options,
        HttpMessageInvoker http,
        ILoggerFactory loggerFactory,
        TimeProvider? timeProvider = null,
        AWSCredentials? credentials = null,
        Action<string, int>? onAttempt = null) =>
        new(CreateJsonClient(AwsServiceInfo.SecretsManager, options, http, loggerFactory, timeProvider, credentials, onAttempt));

    public static KmsClient CreateKms(
        AwsClientOptions options,
        HttpMessageInvoker http,
        ILoggerFactory loggerFactory,
        TimeProvider? timeProvider = null,
        AWSCredentials? credentials = null,
        Action<string, int>? onAttempt = null) =>
        new(CreateJsonClient(AwsServiceInfo.Kms, options, http, loggerFactory, timeProvider, credentials, onAttempt));

    public static AcmPcaClient CreateAcmPca(
        AwsClientOptions options,
        HttpMessageInvoker http,
        ILoggerFactory loggerFactory,
        TimeProvider? timeProvider = null,
        AWSCredentials? credentials = null,
        Action<string, int>? onAttempt = null) =>
        new(CreateJsonClient(AwsServiceInfo.AcmPca, options, http, loggerFactory, timeProvider, credentials, onAttempt));
}
