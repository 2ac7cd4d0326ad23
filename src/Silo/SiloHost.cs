using Notary.Grains;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Issuers;

namespace Notary.Silo;

/// <summary>
/// The host: parses the command line, configures Orleans and the HTTP API, runs until stopped.
/// Commands: <c>dev</c> (one local silo, the embedded default). The in-memory Kubernetes API
/// server, the watcher and the Kubernetes adapters join dev mode with the Kubernetes issue.
/// </summary>
public static class SiloHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" || args[0] != "dev")
        {
            await Console.Out.WriteLineAsync("""
                Notary: certificate lifecycle controller for Kubernetes.

                Usage:
                  dotnet run --project src/Silo -- dev [--api-port N]

                Commands:
                  dev    run one silo locally with the built-in CA and the HTTP API (default port 8080)
                """);
            return args.Length == 0 || args[0] is "-h" or "--help" ? 0 : 2;
        }

        var apiPort = 8080;
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == "--api-port" && i + 1 < args.Length && int.TryParse(args[i + 1], out var port) && port is > 0 and < 65536)
            {
                apiPort = port;
                i++;
            }
            else
            {
                await Console.Error.WriteLineAsync($"Unknown or invalid argument \"{args[i]}\"; usage: dev [--api-port N] (N between 1 and 65535).");
                return 2;
            }
        }

        var app = Build(args, apiPort);
        await app.StartAsync();
        await Console.Out.WriteLineAsync($"Notary dev silo is running; HTTP API on http://127.0.0.1:{apiPort} (GET /healthz). Press Ctrl-C to stop.");
        await app.WaitForShutdownAsync();
        return 0;
    }

    public static WebApplication Build(string[] args, int apiPort)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.WebHost.UseUrls($"http://127.0.0.1:{apiPort}");
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering();
            silo.AddMemoryGrainStorage(GrainStorage.Name, o => o.UseNotarySerializer());
            silo.UseInMemoryReminderService();
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ICertificateAuthoritySource, EphemeralCertificateAuthoritySource>();
        builder.Services.AddSingleton<ICertificateIssuer>(sp => new BuiltInIssuer(sp.GetRequiredService<ICertificateAuthoritySource>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<IIssuerResolver>(sp => new IssuerResolver(sp.GetServices<ICertificateIssuer>(), BuiltInIssuer.DefaultName));
        builder.Services.AddHealthChecks();

        var app = builder.Build();
        // Probes exist in every environment, not only in Development.
        app.MapHealthChecks("/healthz");
        app.MapHealthChecks("/readyz");
        return app;
    }
}
