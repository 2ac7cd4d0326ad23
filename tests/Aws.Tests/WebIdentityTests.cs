using System.Diagnostics;
using Notary.Aws.Tests.Support;

namespace Notary.Aws.Tests;

/// <summary>
/// IRSA: with AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (as EKS sets them) and no access key
/// variables, the SDK's default chain assumes the role through STS (moto, via
/// AWS_ENDPOINT_URL_STS) and our client signs with the temporary credentials.
/// </summary>
/// <remarks>
/// The chain reads process-wide environment variables and caches what it resolved, so changing
/// them here would race with every test running in parallel (and leave a cached identity
/// behind). The chain therefore runs in a child process (this test assembly's own Main) whose
/// environment is built from scratch: no inherited AWS_* variables, no profile files, no
/// instance metadata.
/// </remarks>
[Collection(FaultCollection.Name)]
[Trait("Category", "Slow")]
public sealed class WebIdentityTests(FaultFixture fixture)
{
    [Fact]
    public async Task The_default_chain_assumes_the_role_with_the_web_identity_token_and_signs_with_it()
    {
        await using var proxy = await FaultProxy.StartAsync(fixture.Moto.Url);
        var home = Directory.CreateTempSubdirectory("notary-irsa-");
        try
        {
            var tokenFile = Path.Combine(home.FullName, "token");
            await File.WriteAllTextAsync(tokenFile, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bm90YXJ5Om5vdGFyeSJ9.c2lnbmF0dXJl");
            var environment = new Dictionary<string, string>
            {
                ["HOME"] = home.FullName,
                ["AWS_WEB_IDENTITY_TOKEN_FILE"] = tokenFile,
                ["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/notary",
                ["AWS_ROLE_SESSION_NAME"] = "notary-test",
                ["AWS_REGION"] = MotoServer.Region,
                ["AWS_ENDPOINT_URL_STS"] = proxy.Url.AbsoluteUri,
                ["AWS_CONFIG_FILE"] = Path.Combine(home.FullName, "no-config"),
                ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(home.FullName, "no-credentials"),
                ["AWS_EC2_METADATA_DISABLED"] = "true",
            };

            var (exitCode, output) = await RunProbeAsync(proxy.Url, environment);

            Assert.True(exitCode == 0, output);
            var values = Values(output);
            var accessKey = values["ACCESS_KEY"];
            Assert.StartsWith("ASIA", accessKey, StringComparison.Ordinal);
            Assert.Equal("True", values["HAS_TOKEN"]);

            Assert.Contains(proxy.Requests, r => r.Operation == "AssumeRoleWithWebIdentity");
            var list = Assert.Single(proxy.Requests, r => r.Operation == "ListCertificates");
            Assert.Contains($"Credential={accessKey}/", list.Authorization, StringComparison.Ordinal);
            Assert.Contains($"/{MotoServer.Region}/acm/aws4_request", list.Authorization, StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(list.SecurityToken));
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Without_any_credentials_a_call_fails_with_credentials_unavailable_before_sending()
    {
        await using var proxy = await FaultProxy.StartAsync(fixture.Moto.Url);
        var home = Directory.CreateTempSubdirectory("notary-nocreds-");
        try
        {
            var (exitCode, output) = await RunProbeAsync(proxy.Url, new Dictionary<string, string>
            {
                ["HOME"] = home.FullName,
                ["AWS_REGION"] = MotoServer.Region,
                ["AWS_CONFIG_FILE"] = Path.Combine(home.FullName, "no-config"),
                ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(home.FullName, "no-credentials"),
                ["AWS_EC2_METADATA_DISABLED"] = "true",
            });

            Assert.True(exitCode == 3, output);
            var values = Values(output);
            Assert.Equal("CredentialsUnavailable", values["ERROR_CODE"]);
            Assert.Equal("True", values["RETRYABLE"]);
            Assert.StartsWith("CredentialsUnavailable: No AWS credentials were found", values["MESSAGE"], StringComparison.Ordinal);
            Assert.Empty(proxy.Requests);
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    private static Dictionary<string, string> Values(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.Contains('=', StringComparison.Ordinal))
            .GroupBy(line => line[..line.IndexOf('=', StringComparison.Ordinal)])
            .ToDictionary(group => group.Key, group => group.Last()[(group.Key.Length + 1)..]);

    private static async Task<(int ExitCode, string Output)> RunProbeAsync(Uri serviceUrl, IReadOnlyDictionary<string, string> environment)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        start.ArgumentList.Add(Program.WebIdentityProbe);
        start.ArgumentList.Add(serviceUrl.AbsoluteUri);

        // Start from this process's environment minus every AWS setting, then add the test's.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the probe did not finish:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, $"{await stdout}\n{await stderr}");
    }
}
