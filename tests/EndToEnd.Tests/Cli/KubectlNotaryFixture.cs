using System.Reflection;
using Notary.Pki.Tests.Support;

namespace Notary.EndToEnd.Tests.Cli;

/// <summary>
/// The packed <c>kubectl notary</c> tool, installed as a user installs it: <c>dotnet pack</c> of
/// src/Cli into a temporary feed, <c>dotnet tool install --tool-path DIR --add-source FEED
/// Notary.Kubectl</c>, then <c>kubectl notary ...</c> through kubectl's plugin lookup with DIR
/// first on PATH. Packed and installed once per test assembly (the first caller waits).
/// </summary>
public static class KubectlNotaryTool
{
    public const string PackageId = "Notary.Kubectl";

    private static readonly Lazy<Task<string>> Installed = new(InstallAsync);

    /// <summary>The folder holding the installed <c>kubectl-notary</c>.</summary>
    public static Task<string> DirectoryAsync() => Installed.Value;

    /// <summary>Runs <c>kubectl notary ARGS</c> against <paramref name="kubeconfig"/>; more environment in <paramref name="environment"/>.</summary>
    public static async Task<ToolResult> RunAsync(string kubeconfig, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var toolPath = await DirectoryAsync();
        var env = new Dictionary<string, string>
        {
            ["PATH"] = toolPath + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
            ["KUBECONFIG"] = kubeconfig,
            ["KUBECACHEDIR"] = Path.Combine(Path.GetDirectoryName(kubeconfig)!, "kube-cache"),
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        return await ToolRunner.RunAsync("kubectl", ["notary", .. args], timeout: timeout ?? TimeSpan.FromSeconds(90), environment: env);
    }

    private static async Task<string> InstallAsync()
    {
        var root = RepositoryRoot();
        var work = Path.Combine(Path.GetTempPath(), "notary-kubectl-" + Guid.NewGuid().ToString("N")[..8]);
        var feed = Path.Combine(work, "feed");
        var tools = Path.Combine(work, "bin");
        // A version of its own per run, so that no cached package of an earlier run is installed.
        var version = $"0.0.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        // The test project built src/Cli already, in the test assembly's configuration: pack that build.
        var configuration = typeof(KubectlNotaryTool).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var pack = await ToolRunner.RunAsync("dotnet", ["pack", Path.Combine(root, "src", "Cli", "Cli.csproj"), "--no-build", "-c", configuration, "-o", feed, $"-p:Version={version}", "-nologo"], timeout: TimeSpan.FromMinutes(5));
        if (pack.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet pack src/Cli failed: {pack}");
        }

        var install = await ToolRunner.RunAsync("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", feed, PackageId, "--version", version], timeout: TimeSpan.FromMinutes(5));
        if (install.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet tool install {PackageId} failed: {install}");
        }

        return File.Exists(Path.Combine(tools, "kubectl-notary"))
            ? tools
            : throw new InvalidOperationException($"dotnet tool install put no kubectl-notary in {tools}: {install}");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Notary.Actors.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Notary.Actors.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>
/// Dev mode (DevCluster, one silo, the watcher) plus the installed <c>kubectl notary</c>: one per
/// test collection <see cref="KubectlNotaryCollection"/>. <see cref="NotaryAsync"/> runs the tool
/// as the dev cluster's admin; <see cref="NotaryAsAsync"/> with another kubeconfig (a user
/// without rights, an API server that is down).
/// </summary>
public sealed class KubectlNotaryFixture : DevFixture
{
    public override async Task InitializeAsync()
    {
        // Pack and install while dev mode starts.
        var tool = KubectlNotaryTool.DirectoryAsync();
        await base.InitializeAsync();
        await tool;
    }

    /// <summary>Runs <c>kubectl notary ARGS</c> as the dev cluster's admin.</summary>
    public Task<ToolResult> NotaryAsync(params string[] args) => KubectlNotaryTool.RunAsync(Kubeconfig, args);

    /// <summary>Runs <c>kubectl notary ARGS</c> with another kubeconfig.</summary>
    public static Task<ToolResult> NotaryAsAsync(string kubeconfig, params string[] args) => KubectlNotaryTool.RunAsync(kubeconfig, args);

    /// <summary>A new namespace for one test.</summary>
    public async Task<string> NamespaceAsync(string prefix)
    {
        var ns = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        await OkAsync("create", "namespace", ns);
        return ns;
    }

    /// <summary>Applies YAML with kubectl.</summary>
    public async Task ApplyAsync(string yaml)
    {
        var file = WriteText($"apply-{Guid.NewGuid():N}.yaml", yaml);
        await OkAsync("apply", "-f", file);
    }

    /// <summary>
    /// A kubeconfig for the dev cluster as ServiceAccount <paramref name="name"/> of
    /// <paramref name="ns"/> (created, with no rights unless the test grants some).
    /// </summary>
    public async Task<string> KubeconfigAsAsync(string ns, string name)
    {
        await OkAsync("create", "serviceaccount", name, "-n", ns);
        var token = (await OkAsync("create", "token", name, "-n", ns, "--duration=1h")).Trim();
        var path = Path.Combine(Root, $"kubeconfig-{ns}-{name}");
        File.Copy(Kubeconfig, path, overwrite: true);
        var user = $"{ns}-{name}";
        await KubectlOkAsync(path, Path.Combine(Root, "kube-cache"), "config", "set-credentials", user, "--token", token);
        await KubectlOkAsync(path, Path.Combine(Root, "kube-cache"), "config", "set-context", "--current", "--user", user);
        return path;
    }

    /// <summary>A kubeconfig pointing at an API server that is not there (a free port).</summary>
    public async Task<string> KubeconfigOfNothingAsync()
    {
        var path = Path.Combine(Root, "kubeconfig-down");
        File.Copy(Kubeconfig, path, overwrite: true);
        var cluster = (await KubectlOkAsync(path, Path.Combine(Root, "kube-cache"), "config", "view", "--minify", "-o", "jsonpath={.clusters[0].name}")).Trim();
        await KubectlOkAsync(path, Path.Combine(Root, "kube-cache"), "config", "set-cluster", cluster, "--server", $"https://127.0.0.1:{FreePorts.Next()}");
        return path;
    }
}

[CollectionDefinition(Name)]
public sealed class KubectlNotaryCollection : ICollectionFixture<KubectlNotaryFixture>
{
    public const string Name = "kubectl-notary";
}
