using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Notary.Watcher;

namespace Notary.Silo;

/// <summary>What <c>/readyz</c> asks for (configuration section <c>Notary:Health</c>).</summary>
public sealed class ReadinessOptions
{
    public const string SectionName = "Notary:Health";

    /// <summary>
    /// The oldest answer from the API server (to the watcher's Lease calls, every
    /// Notary:Watcher:RetryPeriod) with which the silo is still ready (default 30 s: two lease
    /// durations, so a slow API server does not flap readiness).
    /// </summary>
    public TimeSpan ApiServerContactMaxAge { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Refuses a contact age readiness cannot work with, saying how to fix it.</summary>
public sealed class ReadinessOptionsValidator : IValidateOptions<ReadinessOptions>
{
    public ValidateOptionsResult Validate(string? name, ReadinessOptions options) =>
        options.ApiServerContactMaxAge < TimeSpan.FromSeconds(1) || options.ApiServerContactMaxAge > TimeSpan.FromHours(1)
            ? ValidateOptionsResult.Fail($"{ReadinessOptions.SectionName}:ApiServerContactMaxAge {options.ApiServerContactMaxAge} must be between 00:00:01 and 01:00:00 (default 00:00:30), and longer than Notary:Watcher:RetryPeriod.")
            : ValidateOptionsResult.Success;
}

/// <summary>
/// Readiness: the silo is Active in the Orleans cluster (its membership table says so, so grain
/// calls can be placed on it) and the watcher heard from the API server recently. The answers
/// are names only (no exception text, addresses or paths): the probes are unauthenticated.
/// </summary>
public sealed class NotaryReadinessCheck(
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    LeaderElectedWatcher watcher,
    TimeProvider time,
    IOptions<ReadinessOptions> options) : IHealthCheck
{
    public const string Tag = "ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Decide(
            membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress),
            watcher.Contact.LastContact,
            time.GetUtcNow(),
            options.Value.ApiServerContactMaxAge));

    /// <summary>The decision: ready when Active and the API server answered at most <paramref name="maxAge"/> ago.</summary>
    public static HealthCheckResult Decide(SiloStatus status, DateTimeOffset? lastContact, DateTimeOffset now, TimeSpan maxAge)
    {
        if (status != SiloStatus.Active)
        {
            return HealthCheckResult.Unhealthy($"silo {status}");
        }

        return lastContact is { } last && now - last <= maxAge
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy(lastContact is null ? "no answer from the Kubernetes API server yet" : "no recent answer from the Kubernetes API server");
    }
}

/// <summary>Registers and maps the probes: <c>/healthz</c> (liveness: the process answers) and <c>/readyz</c> (<see cref="NotaryReadinessCheck"/>).</summary>
public static class Probes
{
    public static IServiceCollection AddNotaryProbes(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ReadinessOptions>().Bind(configuration.GetSection(ReadinessOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReadinessOptions>, ReadinessOptionsValidator>();
        services.AddHealthChecks().AddCheck<NotaryReadinessCheck>("notary", tags: [NotaryReadinessCheck.Tag]);
        return services;
    }

    public static IEndpointRouteBuilder MapNotaryProbes(this IEndpointRouteBuilder endpoints)
    {
        // Liveness runs no check: a silo that cannot reach Redis or the API server is not ready,
        // but restarting it would not help. The default writer answers "Healthy"/"Unhealthy" only.
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(NotaryReadinessCheck.Tag) });
        return endpoints;
    }
}
