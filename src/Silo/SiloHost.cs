namespace Notary.Silo;

/// <summary>The command line: <c>dev</c> (the embedded default) and <c>run</c> (production).</summary>
public static class SiloHost
{
    private static readonly string Usage = $"""
        Notary: certificate lifecycle controller for Kubernetes.

        Usage:
          dotnet run --project src/Silo -- dev [--kubeconfig PATH] [--api-port N] [--kube-port N]
          dotnet run --project src/Silo -- run [--kubeconfig PATH] [--api-port N]
        {BreachCommand.Usage}

        Commands:
          dev    the embedded default: an in-memory Kubernetes API server for kubectl, one silo
                 with the built-in CA and the Kubernetes Secret store, and the HTTP API.
                 --kubeconfig  where to write the kubeconfig (default .notary/dev/kubeconfig)
                 --api-port    the HTTP API's port (default 8080)
                 --kube-port   the API server's port (default: a free one)
                 The silo's own ports come from Notary__Cluster__SiloPort and
                 Notary__Cluster__GatewayPort (default 11111 and 30000).
          run    production: a silo against a real Kubernetes API (the kubeconfig given, else
                 KUBECONFIG, else the pod's service account). Issuer and store come from
                 configuration (Notary__Issuer__Type builtin|acm, Notary__Store__Type
                 kubernetes|secretsmanager; see README). The HTTP API listens on
                 Notary__Api__Address (default 0.0.0.0) and --api-port (default 8080).
        {BreachCommand.Help}
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

        if (args[0] == "breach")
        {
            return await BreachCommand.RunAsync(args[1..]);
        }

        if (args[0] != "dev")
        {
            await Console.Error.WriteLineAsync($"Unknown command \"{args[0]}\".\n\n{Usage}");
            return 2;
        }

        if (args.Skip(1).Any(a => a is "-h" or "--help"))
        {
            await Console.Out.WriteLineAsync(Usage);
            return 0;
        }

        var (options, error) = ParseDev(args.AsSpan(1));
        if (error is not null)
        {
            await Console.Error.WriteLineAsync($"{error}\n\n{Usage}");
            return 2;
        }

        DevEnvironment dev;
        try
        {
            dev = await DevEnvironment.StartAsync(options!);
        }
        catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            await Console.Error.WriteLineAsync($"{ex.Message} Another Notary may be running; stop it, or choose another port with --api-port.");
            return 1;
        }

        await using var running = dev;
        var dashboard = dev.App.Configuration.GetValue<bool>(NotaryHost.DashboardEnabledKey)
            ? $"http://127.0.0.1:{options!.ApiPort}{NotaryHost.DashboardPath}"
            : "off (Notary__Dashboard__Enabled=true turns it on)";
        await Console.Out.WriteLineAsync($"""
            Notary dev mode is running.
              Kubernetes API:  {dev.Cluster.Url}
              kubeconfig:      {dev.KubeconfigPath}
              HTTP API:        http://127.0.0.1:{options!.ApiPort} (GET /healthz, /metrics)
              Dashboard:       {dashboard}

            In another terminal:
              export KUBECONFIG={dev.KubeconfigPath}
              kubectl apply -f {ExamplesPath()}
              kubectl get cert,ks,ts -A

            Press Ctrl-C to stop.
            """);
        // The host's console lifetime turns Ctrl-C and SIGTERM into a graceful shutdown.
        await dev.App.WaitForShutdownAsync();
        return 0;
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
                GatewayPort = options.GatewayPort,
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
            GatewayPort = environment.GetValue("Notary:Cluster:GatewayPort", 30000),
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

    /// <summary>The examples folder when run from the repository, absolute so the hint works from any terminal.</summary>
    private static string ExamplesPath() =>
        Directory.Exists("examples") ? Path.GetFullPath("examples") + Path.DirectorySeparatorChar : "examples/ (in the Notary repository)";

    /// <summary>Parses the dev options, or says which argument is wrong.</summary>
    public static (DevModeOptions? Options, string? Error) ParseDev(ReadOnlySpan<string> args)
    {
        // The silo's ports follow .NET configuration (environment variables), like every other setting.
        var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var options = new DevModeOptions
        {
            SiloPort = environment.GetValue("Notary:Cluster:SiloPort", 11111),
            GatewayPort = environment.GetValue("Notary:Cluster:GatewayPort", 30000),
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
                case "--api-port" or "--kube-port":
                    if (!int.TryParse(value, out var port) || port is < 0 or > 65535 || (port == 0 && name == "--api-port"))
                    {
                        return (null, $"{name} \"{value}\" is not a port number (1-65535).");
                    }

                    options = name == "--api-port" ? options with { ApiPort = port } : options with { KubePort = port };
                    break;
                default:
                    return (null, $"Unknown argument \"{name}\".");
            }
        }

        return (options, null);
    }
}
