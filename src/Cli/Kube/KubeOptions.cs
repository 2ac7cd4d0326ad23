using System.CommandLine;

namespace Notary.Cli.Kube;

/// <summary>The options every command that reads the API server shares, as kubectl spells them.</summary>
public static class KubeOptions
{
    /// <summary>Global: the kubeconfig file (else KUBECONFIG, else ~/.kube/config).</summary>
    public static readonly Option<string?> Kubeconfig = new("--kubeconfig")
    {
        Description = "Path to the kubeconfig file (default KUBECONFIG, else ~/.kube/config).",
        Recursive = true,
    };

    /// <summary>Global: the kubeconfig context (else its current-context).</summary>
    public static readonly Option<string?> Context = new("--context")
    {
        Description = "The kubeconfig context to use (default its current-context).",
        Recursive = true,
    };

    /// <summary>Global: the namespace (else the context's namespace, else default).</summary>
    public static readonly Option<string?> Namespace = new("--namespace", "-n")
    {
        Description = "The namespace (default the context's namespace, else default).",
        Recursive = true,
    };

    /// <summary>A command's <c>-A</c>: every namespace.</summary>
    public static Option<bool> AllNamespaces() => new("--all-namespaces", "-A")
    {
        Description = "Every namespace (overrides -n).",
    };

    /// <summary>A command's <c>-l</c>: a label selector, as kubectl's.</summary>
    public static Option<string?> Selector() => new("--selector", "-l")
    {
        Description = "A label selector, e.g. -l app=web,tier!=db.",
    };

    /// <summary>A command's <c>-o</c>: one of <paramref name="formats"/>; unset prints the human view.</summary>
    public static Option<string?> Output(params string[] formats)
    {
        var option = new Option<string?>("--output", "-o")
        {
            Description = $"Output format: {string.Join(", ", formats)} (default: a human-readable view).",
        };
        option.AcceptOnlyFromAmong(formats);
        return option;
    }
}
