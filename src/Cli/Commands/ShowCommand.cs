using System.CommandLine;
using Notary.Cli.Kube;

namespace Notary.Cli.Commands;

/// <summary>
/// What every command that shows one object shares: a NAME argument, <c>-o json|yaml</c>, the
/// view gathered through the API server with the user's kubeconfig, printed structured or for
/// people. Each command keeps only what differs: its gathering, its human text, and what makes
/// it fail after printing.
/// </summary>
public static class ShowCommand
{
    /// <summary>Adds NAME and <c>-o</c> to <paramref name="command"/> and sets its action.</summary>
    /// <param name="command">The command, with its name, description and aliases.</param>
    /// <param name="nameDescription">What NAME is.</param>
    /// <param name="gather">Reads the view: (API, namespace, name).</param>
    /// <param name="human">The view as people read it.</param>
    /// <param name="exitCode">The exit code once printed (a view that reports a failure); <see cref="ExitCodes.Ok"/> without it.</param>
    public static Command Create<TView>(
        Command command,
        string nameDescription,
        Func<NotaryApi, string, string, CancellationToken, Task<TView>> gather,
        Func<TView, string> human,
        Func<TView, Task<int>>? exitCode = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(gather);
        ArgumentNullException.ThrowIfNull(human);
        var name = new Argument<string>("NAME") { Description = nameDescription };
        var output = KubeOptions.Output(StructuredOutput.Json, StructuredOutput.Yaml);
        command.Arguments.Add(name);
        command.Options.Add(output);
        CliAction.Set(command, async (parsed, cancellationToken) =>
        {
            using var connection = KubeConnection.Open(parsed);
            var view = await gather(new NotaryApi(connection.Client), connection.Namespace, parsed.GetValue(name)!, cancellationToken);
            if (parsed.GetValue(output) is { } format)
            {
                await StructuredOutput.WriteAsync(Console.Out, view, format);
            }
            else
            {
                await Console.Out.WriteAsync(human(view));
            }

            return exitCode is null ? ExitCodes.Ok : await exitCode(view);
        });
        return command;
    }
}
