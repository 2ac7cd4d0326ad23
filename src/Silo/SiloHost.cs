namespace Notary.Silo;

/// <summary>The production host's command line: <c>run</c>. Dev mode is src/Dev, the breach client src/Cli.</summary>
public static class SiloHost
{
    private const string Usage = """
        Notary: certificate lifecycle controller for Kubernetes.

        Usage:
          dotnet run --project src/Silo -- run [--kubeconfig PATH] [--api-port N]

        Commands:
          run    production: a silo against a real Kubernetes API (the kubeconfig given, else
                 KUBECONFIG, else the pod's service account). Issuer and store come from
                 configuration (Notary__Issuer__Type builtin|acm, Notary__Store__Type
                 kubernetes|secretsmanager; see README). The HTTP API serves HTTPS with a
                 certificate from Notary's CA (Notary__Tls__ServiceName names its Service) on
                 Notary__Api__Address (default 0.0.0.0) and --api-port (default 8080). Silos
                 talk mutual TLS on Notary__Cluster__SiloPort (default 11111); no Orleans
                 gateway listens.

        Dev mode (an in-memory Kubernetes API server, for laptops): dotnet run --project src/Dev
        Operators: kubectl notary (src/Cli, a .NET tool; README "kubectl notary"), e.g. kubectl notary breach report
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            await Console.Out.WriteLineAsync(Usage);
            return 0;
        }

        if (args[0] == "run")
        {
            return await RunProductionAsync(args);
        }

        if (args[0] is "dev" or "breach")
        {
            var project = args[0] == "dev" ? "src/Dev" : "src/Cli -- breach report (or kubectl notary breach report)";
            await Console.Error.WriteLineAsync($"\"{args[0]}\" is not part of the production host any more: dotnet run --project {project}\n\n{Usage}");
            return 2;
        }

        await Console.Error.WriteLineAsync($"Unknown command \"{args[0]}\".\n\n{Usage}");
        return 2;
    }

    private static async Task<int> RunProductionAsync(string[] args)
    {
        if (args.Skip(1).Any(a => a is "-h" or "--help"))
        {
            await Console.Out.WriteLineAsync(Usage);
            return 0;
        }

        var (options, error) = ParseRun(args.AsSpan(1));
        if (error is not null)
        {
            await Console.Error.WriteLineAsync($"{error}\n\n{Usage}");
            return 2;
        }

        WebApplication app;
        try
        {
            app = NotaryHost.Build(new NotaryHostSettings
            {
                Kubernetes = KubernetesConnection.Resolve(options!.KubeconfigPath),
                ApiPort = options.ApiPort,
                ApiAddress = options.ApiAddress,
                SiloPort = options.SiloPort,
                ApiTls = options.ApiTls,
            });
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }

        await using (app)
        {
            try
            {
                await app.StartAsync();
            }
            catch (Exception ex) when (ConfigurationFailures(ex) is { Count: > 0 } failures)
            {
                // Configuration mistakes: say what to fix, without a stack trace.
                await Console.Error.WriteLineAsync($"Notary's configuration is invalid:\n  {string.Join("\n  ", failures)}");
                return 1;
            }

            await app.WaitForShutdownAsync();
        }

        return 0;
    }

    /// <summary>Every options validation failure in <paramref name="exception"/> (one, or several aggregated); empty when it is something else.</summary>
    private static List<string> ConfigurationFailures(Exception exception) => exception switch
    {
        Microsoft.Extensions.Options.OptionsValidationException single => [.. single.Failures],
        AggregateException many when many.InnerExceptions.All(e => e is Microsoft.Extensions.Options.OptionsValidationException) =>
            [.. many.InnerExceptions.Cast<Microsoft.Extensions.Options.OptionsValidationException>().SelectMany(e => e.Failures)],
        _ => [],
    };

    /// <summary>Parses the run options, or says which argument is wrong.</summary>
    public static (RunModeOptions? Options, string? Error) ParseRun(ReadOnlySpan<string> args)
    {
        var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var options = new RunModeOptions
        {
            SiloPort = environment.GetValue("Notary:Cluster:SiloPort", 11111),
            ApiTls = environment.GetValue("Notary:Tls:Api", true),
            ApiPort = environment.GetValue("Notary:Api:Port", 8080),
            ApiAddress = environment.GetValue("Notary:Api:Address", "0.0.0.0")!,
        };
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Length)
            {
                return (null, $"Argument \"{name}\" needs a value.");
            }

            var value = args[++i];
            switch (name)
            {
                case "--kubeconfig":
                    options = options with { KubeconfigPath = value };
                    break;
                case "--api-port":
                    if (!int.TryParse(value, out var port) || port is < 1 or > 65535)
                    {
                        return (null, $"--api-port \"{value}\" is not a port number (1-65535).");
                    }

                    options = options with { ApiPort = port };
                    break;
                default:
                    return (null, $"Unknown argument \"{name}\".");
            }
        }

        return (options, null);
    }

}
