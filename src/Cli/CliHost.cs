using System.CommandLine;
using System.CommandLine.Help;
using Notary.Cli.Commands;
using Notary.Cli.Kube;

namespace Notary.Cli;

/// <summary>
/// <c>kubectl notary</c>: the root command, its global options (kubeconfig, context, namespace)
/// and the list of commands. Adding a command is one file with a static <c>Create()</c> returning
/// its <see cref="Command"/> plus one line in <see cref="Commands"/>.
/// </summary>
public static class CliHost
{
    /// <summary>Every top-level command, in the order <c>--help</c> lists them.</summary>
    private static readonly Func<Command>[] Commands =
    [
        StatusCommand.Create,
        InspectCommand.Create,
        BreachCommand.Create,
        RenewCommand.Create,
        PolicyCommand.Create,
        GraphCommand.Create,
    ];

    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("""
            kubectl notary: Notary's certificates, keystores and truststores from the command line.
            Reads Notary's resources through the API server with your kubeconfig (like kubectl);
            breach speaks to Notary's HTTP API.
            Exit codes: 0 success; 1 failure (not found, refused, no permission, API down) with a
            one-line reason on stderr; 2 bad arguments.
            """);
        root.Options.Add(KubeOptions.Kubeconfig);
        root.Options.Add(KubeOptions.Context);
        root.Options.Add(KubeOptions.Namespace);
        foreach (var create in Commands)
        {
            root.Subcommands.Add(create());
        }

        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var parsed = CreateRoot().Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // As kubectl: the error, then where to read more; exit 2 (bad arguments).
            foreach (var error in parsed.Errors)
            {
                await Console.Error.WriteLineAsync($"error: {error.Message}");
            }

            await Console.Error.WriteLineAsync($"See 'kubectl notary {string.Join(' ', CommandPath(parsed))} --help' for usage.".Replace("  ", " ", StringComparison.Ordinal));
            return ExitCodes.BadArguments;
        }

        if (parsed.Action is HelpAction)
        {
            return WriteHelp(parsed);
        }

        return await parsed.InvokeAsync();
    }

    /// <summary>How an operator invokes the tool, and what every help's usage line starts with.</summary>
    public const string DisplayName = "kubectl notary";

    /// <summary>
    /// System.CommandLine names the root after the entry assembly (<c>Notary.Cli</c>: <c>dotnet
    /// tool</c> starts the dll), a name may hold no space and its help builder is internal; kubectl
    /// plugins read as <c>kubectl PLUGIN ...</c> (cmctl prints <c>kubectl cert-manager</c>). So the
    /// help is written as usual and each usage line gets <see cref="DisplayName"/> for the root's name.
    /// </summary>
    private static int WriteHelp(ParseResult parsed)
    {
        using var text = new StringWriter();
        var exitCode = parsed.Invoke(new InvocationConfiguration { Output = text });
        var prefix = "  " + parsed.RootCommandResult.Command.Name;
        var lines = text.ToString().Split('\n');
        var inUsage = false;
        for (var i = 0; i < lines.Length; i++)
        {
            if (inUsage && (lines[i] == prefix || lines[i].StartsWith(prefix + " ", StringComparison.Ordinal)))
            {
                lines[i] = "  " + DisplayName + lines[i][prefix.Length..];
            }

            // The usage section runs from its heading to the next blank line.
            inUsage = lines[i].StartsWith("Usage:", StringComparison.Ordinal) || (inUsage && lines[i].Trim().Length > 0);
        }

        Console.Out.Write(string.Join('\n', lines));
        return exitCode;
    }

    private static List<string> CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var result = parsed.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            if (result.Command is not RootCommand)
            {
                names.Insert(0, result.Command.Name);
            }
        }

        return names;
    }
}

/// <summary>kubectl's exit codes: 0 success, 1 any failure (with a one-line reason on stderr), 2 bad arguments.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadArguments = 2;
}
