namespace Notary.Cli;

/// <summary>The command line: <c>breach</c>, a client of a running Notary's HTTP API.</summary>
public static class CliHost
{
    private static readonly string Usage = $"""
        Notary's command line client: speaks to a running Notary's HTTP API.

        Usage:
        {BreachCommand.Usage}
        {BreachCommand.Help}
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            await Console.Out.WriteLineAsync(Usage);
            return BreachCommand.Ok;
        }

        if (args[0] == "breach")
        {
            return await BreachCommand.RunAsync(args[1..]);
        }

        await Console.Error.WriteLineAsync($"Unknown command \"{args[0]}\".\n\n{Usage}");
        return BreachCommand.BadArguments;
    }
}
