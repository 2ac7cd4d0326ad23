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
    /// Resolves the default chain, prints the access key it yields (never the secret key or
    /// session token), then lists ACM certificates through <paramref name="serviceUrl"/> with a
    /// client that resolves the chain itself.
    /// </summary>
    private static async Task<int> WebIdentityProbeAsync(Uri serviceUrl)
    {
        var credentials = await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(null);
        var resolved = await credentials.GetCredentialsAsync();
        Console.WriteLine($"CREDENTIALS_TYPE={credentials.GetType().Name}");
        Console.WriteLine($"ACCESS_KEY={resolved.AccessKey}");
        Console.WriteLine($"HAS_TOKEN={resolved.UseToken}");

        using var http = AwsClients.CreateHttpClient();
        var acm = AwsClients.CreateAcm(new AwsClientOptions { ServiceUrl = serviceUrl.AbsoluteUri }, http, NullLoggerFactory.Instance);
        var certificates = await acm.ListCertificatesAsync(allStatuses: false, CancellationToken.None);
        Console.WriteLine($"LISTED={certificates.Count}");
        return 0;
    }
}
