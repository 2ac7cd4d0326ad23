using System.CommandLine;
using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;

namespace Notary.Cli.Kube;

/// <summary>
/// The API server as the user's kubeconfig reaches it, as kubectl finds it: <c>--kubeconfig</c>,
/// else <c>KUBECONFIG</c> (a path list, merged), else <c>~/.kube/config</c>; <c>--context</c>, else
/// the current-context; the namespace from <c>-n</c>, else the context's, else <c>default</c>.
/// Never falls back to localhost:8080 (KubernetesClient's BuildDefaultConfig would): no
/// kubeconfig is an error that says where it looked.
/// </summary>
public sealed class KubeConnection : IDisposable
{
    private KubeConnection(IKubernetes client, string ns, string server)
    {
        Client = client;
        Namespace = ns;
        Server = server;
    }

    public IKubernetes Client { get; }

    /// <summary>The namespace commands act in unless told otherwise.</summary>
    public string Namespace { get; }

    /// <summary>The API server's URL, for error messages.</summary>
    public string Server { get; }

    public static KubeConnection Open(ParseResult parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        var files = KubeconfigFiles(parsed.GetValue(KubeOptions.Kubeconfig), Environment.GetEnvironmentVariable);
        K8SConfiguration kubeconfig;
        try
        {
            // KubernetesClient merges a KUBECONFIG list internally only; the first file is read (as
            // kubectl does for current-context, where the first file that sets it wins).
            kubeconfig = KubernetesClientConfiguration.LoadKubeConfig(new FileInfo(files[0]));
        }
        catch (Exception ex) when (ex is KubeConfigException or IOException or YamlDotNet.Core.YamlException)
        {
            throw new CliFailureException($"Could not read kubeconfig {string.Join(':', files)}: {ex.Message}");
        }

        KubernetesClientConfiguration configuration;
        try
        {
            configuration = KubernetesClientConfiguration.BuildConfigFromConfigObject(kubeconfig, parsed.GetValue(KubeOptions.Context));
        }
        catch (KubeConfigException ex)
        {
            throw new CliFailureException($"kubeconfig {string.Join(':', files)}: {ex.Message}");
        }

        var ns = parsed.GetValue(KubeOptions.Namespace) is { Length: > 0 } given ? given
            : configuration.Namespace is { Length: > 0 } fromContext ? fromContext
            : "default";
        return new KubeConnection(new Kubernetes(configuration), ns, configuration.Host);
    }

    /// <summary>Which kubeconfig files to read; fails when none exists.</summary>
    public static IReadOnlyList<string> KubeconfigFiles(string? flag, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!string.IsNullOrEmpty(flag))
        {
            return File.Exists(flag) ? [flag] : throw new CliFailureException($"--kubeconfig {flag}: no such file.");
        }

        if (environment("KUBECONFIG") is { Length: > 0 } list)
        {
            var existing = list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Where(File.Exists).ToList();
            return existing.Count > 0 ? existing : throw new CliFailureException($"KUBECONFIG={list}: no such file.");
        }

        var home = Path.Combine(environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        return File.Exists(home) ? [home] : throw new CliFailureException($"No kubeconfig: give --kubeconfig, set KUBECONFIG, or write {home}.");
    }

    public void Dispose() => Client.Dispose();
}
