using Amazon.Runtime.Credentials;
using Microsoft.Extensions.Logging.Abstractions;

namespace Notary.Aws.Tests.Support;

/// <summary>
/// The test assembly's entry point, used only as a child process: the credential chain reads
/// process-wide environment variables (and caches what it found), so the web identity test runs
/// it in a fresh process with exactly the environment it needs instead of changing this one's.
/// </summary>
public static class Program
{
    public const string WebIdentityProbe = "web-identity-probe";

    public static async Task<int> Main(string[] args)
    {
        if (args is [WebIdentityProbe, var serviceUrl])
        {
            return await WebIdentityProbeAsync(new Uri(serviceUrl));
        }

        await Console.Error.WriteLineAsync("This assembly holds tests: run them with dotnet test.");
        return 2;
    }

    /// <summary>
    /// Lists ACM certificates through <paramref name="serviceUrl"/> with a client that resolves
    /// the default chain itself, then prints the access key the chain yields (never the secret
    /// key or the session token). A failed call prints its error code and exits with 3.
    /// </summary>
    private static async Task<int> WebIdentityProbeAsync(Uri serviceUrl)
    {
        using var http = AwsClients.CreateHttpClient();
        var acm = AwsClients.CreateAcm(new AwsClientOptions { ServiceUrl = serviceUrl.AbsoluteUri, MaxAttempts = 2 }, http, NullLoggerFactory.Instance);
        try
        {
            var certificates = await acm.ListCertificatesAsync(allStatuses: false, CancellationToken.None);
            Console.WriteLine($"LISTED={certificates.Count}");
        }
        catch (AwsServiceException ex)
        {
            Console.WriteLine($"ERROR_CODE={ex.ErrorCode}");
            Console.WriteLine($"RETRYABLE={ex.Retryable}");
            Console.WriteLine($"MESSAGE={ex.Message}");
            return 3;
        }

        var credentials = await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(null);
        var resolved = await credentials.GetCredentialsAsync();
        Console.WriteLine($"ACCESS_KEY={resolved.AccessKey}");
        Console.WriteLine($"HAS_TOKEN={resolved.UseToken}");
        return 0;
    }
}
