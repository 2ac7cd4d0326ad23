using Notary.Pki.Tests.Support;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// The production command's refusals, as an operator meets them: the real binary, wrong
/// settings, and a message that says what to fix (exit code 1 or 2, no stack trace).
/// </summary>
[Trait("Category", "Slow")]
public sealed class RunCommandTests : IDisposable
{
    private static readonly string Silo = Path.Combine(AppContext.BaseDirectory, "Notary.Silo.dll");
    private readonly string _root = Directory.CreateTempSubdirectory("notary-run-cmd-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Task<ToolResult> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        // No Kubernetes or AWS settings leak in from the machine running the tests.
        var env = new Dictionary<string, string>
        {
            ["KUBECONFIG"] = string.Empty,
            ["KUBERNETES_SERVICE_HOST"] = string.Empty,
            ["AWS_REGION"] = string.Empty,
            ["AWS_DEFAULT_REGION"] = string.Empty,
            ["Notary__Api__Address"] = "127.0.0.1",
            ["Notary__Api__Port"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Notary__Cluster__SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in environment)
        {
            env[key] = value;
        }

        return ToolRunner.RunAsync("dotnet", [Silo, "run", .. args], timeout: TimeSpan.FromSeconds(60), environment: env);
    }

    /// <summary>A kubeconfig that parses; nothing listens behind it, and no test gets that far.</summary>
    private string Kubeconfig()
    {
        var path = Path.Combine(_root, "kubeconfig");
        File.WriteAllText(path, """
            apiVersion: v1
            kind: Config
            clusters:
            - name: c
              cluster:
                server: https://127.0.0.1:1
                insecure-skip-tls-verify: true
            users:
            - name: u
              user:
                token: t
            contexts:
            - name: x
              context:
                cluster: c
                user: u
            current-context: x
            """);
        return path;
    }

    [Fact]
    public async Task Without_a_kubernetes_api_it_says_how_to_give_one()
    {
        var result = await RunAsync(new Dictionary<string, string>());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("No Kubernetes API to talk to: pass --kubeconfig PATH, set KUBECONFIG, or run Notary in a pod", result.StdErr, StringComparison.Ordinal);

        var missing = await RunAsync(new Dictionary<string, string>(), "--kubeconfig", Path.Combine(_root, "nope"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("does not exist", missing.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_backends_are_refused_naming_the_ones_there_are()
    {
        var result = await RunAsync(new Dictionary<string, string> { ["Notary__Issuer__Type"] = "vault", ["Notary__Store__Type"] = "s3" }, "--kubeconfig", Kubeconfig());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Notary:Issuer:Type \"vault\" is not an issuer: use builtin", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("Notary:Store:Type \"s3\" is not a store: use kubernetes", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aws_backends_without_a_region_or_with_bad_values_say_what_to_set()
    {
        var result = await RunAsync(
            new Dictionary<string, string>
            {
                ["Notary__Issuer__Type"] = "acm",
                ["Notary__Issuer__Acm__PrivateCaArn"] = "my-ca",
                ["Notary__Store__Type"] = "secretsmanager",
                ["Notary__Store__SecretsManager__RecoveryWindowDays"] = "3",
            },
            "--kubeconfig", Kubeconfig());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Notary:Issuer:Acm:Region", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("PrivateCaArn \"my-ca\" is not an ARN", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("RecoveryWindowDays 3 must be between 7 and 30", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_cluster_configuration_says_what_to_set()
    {
        var unknown = await RunAsync(new Dictionary<string, string> { ["Notary__Cluster__Provider"] = "consul", ["POD_IP"] = "pod" }, "--kubeconfig", Kubeconfig());
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("Notary:Cluster:Provider \"consul\" is not a cluster provider: use localhost", unknown.StdErr, StringComparison.Ordinal);
        Assert.Contains("POD_IP \"pod\" is not an IP address", unknown.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", unknown.StdErr, StringComparison.Ordinal);

        var redis = await RunAsync(new Dictionary<string, string> { ["Notary__Cluster__Provider"] = "redis" }, "--kubeconfig", Kubeconfig());
        Assert.Equal(1, redis.ExitCode);
        Assert.Contains("Notary:Cluster:Redis:ConnectionString is required with Notary:Cluster:Provider=redis", redis.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_arguments_exit_2_with_usage()
    {
        var result = await RunAsync(new Dictionary<string, string>(), "--api-port", "http");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--api-port \"http\" is not a port number", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("Usage:", result.StdErr, StringComparison.Ordinal);
    }
}
