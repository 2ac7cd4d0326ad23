using System.CommandLine;
using System.Net;
using k8s.Autorest;
using Notary.CustomResources;

namespace Notary.Cli;

/// <summary>A failure the user is told about in one line on stderr; exit 1 (or <see cref="ExitCode"/>).</summary>
public sealed class CliFailureException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// Runs a command's action and turns every expected failure into kubectl's shape: one line on
/// stderr and a non-zero exit code, never a stack trace.
/// </summary>
public static class CliAction
{
    /// <summary>Sets <paramref name="action"/> on <paramref name="command"/>, with the failures handled.</summary>
    public static void Set(Command command, Func<ParseResult, CancellationToken, Task<int>> action)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            try
            {
                return await action(parsed, cancellationToken);
            }
            catch (CliFailureException failure)
            {
                await Console.Error.WriteLineAsync($"error: {failure.Message}");
                return failure.ExitCode;
            }
            catch (HttpOperationException ex)
            {
                await Console.Error.WriteLineAsync($"error: {Describe(ex)}");
                return ExitCodes.Failed;
            }
            catch (HttpRequestException ex)
            {
                await Console.Error.WriteLineAsync($"error: Unable to connect to the server: {OneLine(ex.Message)}");
                return ExitCodes.Failed;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("error: Unable to connect to the server: the request timed out.");
                return ExitCodes.Failed;
            }
        });
    }

    /// <summary>The API server's answer as kubectl prints it: <c>Error from server (Forbidden): ...</c>.</summary>
    public static string Describe(HttpOperationException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var code = exception.Response?.StatusCode;
        var reason = code switch
        {
            HttpStatusCode.NotFound => "NotFound",
            HttpStatusCode.Forbidden => "Forbidden",
            HttpStatusCode.Unauthorized => "Unauthorized",
            _ => code?.ToString() ?? "no response",
        };
        var described = KubernetesApiErrors.Describe(exception);
        var message = described.IndexOf(": ", StringComparison.Ordinal) is var colon and >= 0 ? described[(colon + 2)..] : described;
        return code == HttpStatusCode.Unauthorized
            ? $"Error from server (Unauthorized): the server has asked for the client to provide credentials ({OneLine(message)})"
            : $"Error from server ({reason}): {OneLine(message)}";
    }

    public static string OneLine(string text) => string.Join(' ', (text ?? string.Empty).Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
}
