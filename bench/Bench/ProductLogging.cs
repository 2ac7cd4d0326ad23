using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Notary.Bench;

/// <summary>
/// The logging the product runs with by default, for the silos the benchmarks host themselves
/// (issuance, fanout, scale): the "Logging" section of Notary's appsettings.json (src/Silo's,
/// copied beside the benchmark: Information, with Orleans, Polly and ASP.NET Core at Warning) and
/// the console provider with its default (simple) formatter, as WebApplication.CreateBuilder gives
/// the production host. Until issue 20 the benchmarks logged warnings only, which left the cost of
/// the product's Information lines (one per issuance, store written, restart) out of the figures.
/// </summary>
public static class ProductLogging
{
    public static ILoggingBuilder Apply(ILoggingBuilder logging)
    {
        var settings = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (!File.Exists(settings))
        {
            throw new InvalidOperationException($"{settings} is missing: the bench copies Notary's appsettings.json from src/Silo to log at the product's default level");
        }

        var configuration = new ConfigurationBuilder().AddJsonFile(settings, optional: false).Build();
        return logging.AddConfiguration(configuration.GetSection("Logging")).AddConsole();
    }
}
