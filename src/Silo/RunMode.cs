using k8s;

namespace Notary.Silo;

/// <summary>Options of <c>run</c>, the production command (a silo against a real API server).</summary>
public sealed record RunModeOptions
{
    /// <summary>A kubeconfig file; null uses KUBECONFIG, then the pod's service account.</summary>
    public string? KubeconfigPath { get; init; }

    public int ApiPort { get; init; } = 8080;

    /// <summary>Every interface by default: probes and scrapes reach a pod on its IP.</summary>
    public string ApiAddress { get; init; } = "0.0.0.0";

    public int SiloPort { get; init; } = 11111;

    /// <summary>HTTPS with a certificate from Notary's CA (Notary:Tls:Api, default true).</summary>
    public bool ApiTls { get; init; } = true;
}

/// <summary>
/// Finds the Kubernetes API the way operators expect, and fails loudly when there is none:
/// KubernetesClient's default would silently fall back to localhost:8080.
/// </summary>
public static class KubernetesConnection
{
    public static KubernetesClientConfiguration Resolve(string? kubeconfigPath)
    {
        var path = kubeconfigPath ?? Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrEmpty(path))
        {
            if (!File.Exists(path))
            {
                throw new InvalidOperationException($"The kubeconfig \"{path}\" does not exist; pass an existing file with --kubeconfig or KUBECONFIG.");
            }

            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        }

        if (KubernetesClientConfiguration.IsInCluster())
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        throw new InvalidOperationException("No Kubernetes API to talk to: pass --kubeconfig PATH, set KUBECONFIG, or run Notary in a pod (service account).");
    }
}
