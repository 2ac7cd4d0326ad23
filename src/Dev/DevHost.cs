using Notary.Silo;

namespace Notary.Dev;

/// <summary>
/// Dev mode's command line (the README's first command): an in-memory Kubernetes API server for
/// kubectl, one silo with the built-in CA and the Kubernetes Secret store, and the HTTP API.
/// </summary>
public static class DevHost
{
    private const string Usage = """
        Notary dev mode: an in-memory Kubernetes API server for kubectl, one silo with the
        built-in CA and the Kubernetes Secret store, and the HTTP API.

        Usage:
          dotnet run --project src/Dev [-- [--kubeconfig PATH] [--api-port N] [--kube-port N]]

          --kubeconfig  where to write the kubeconfig (default .notary/dev/kubeconfig)
          --api-port    the HTTP API's port (default 8080)
          --kube-port   the API server's port (default: a free one)
          The silo's port comes from Notary__Cluster__SiloPort (default 11111); no Orleans
          gateway listens. The HTTP API is plain HTTP on 127.0.0.1.

        Production: dotnet run --project src/Silo -- run (see its --help).
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Any(a => a is "-h" or "--help"))
        {
            await Console.Out.WriteLineAsync(Usage);
            return 0;
        }

        var (options, error) = ParseDev(args);
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
            ? $"http://127.0.0.1:{dev.App.Configuration.GetValue(NotaryHost.DashboardPortKey, NotaryHost.DefaultDashboardPort)}{NotaryHost.DashboardPath}"
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
