using Microsoft.Extensions.Options;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// How Notary restarts the workloads that use changed Secrets (configuration section
/// <c>Notary:Restarts</c>, or environment variables such as <c>Notary__Restarts__MinRestartInterval</c>).
/// </summary>
public sealed class NotaryRestartOptions
{
    public const string SectionName = "Notary:Restarts";

    /// <summary>
    /// The shortest time between two restarts of one workload. A restart asked for sooner is not
    /// lost: every request inside the interval is coalesced into one restart at its end (unless
    /// someone restarted the workload in between). A renewal rewrites a keystore and a truststore
    /// moments apart; this turns the two rollouts into at most two, the last one after both
    /// Secrets changed. Zero turns the limit off.
    /// </summary>
    public TimeSpan MinRestartInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Refuses values the restarter cannot work with, saying how to fix them.</summary>
public sealed class NotaryRestartOptionsValidator : IValidateOptions<NotaryRestartOptions>
{
    public static readonly TimeSpan MaxInterval = TimeSpan.FromHours(24);

    public ValidateOptionsResult Validate(string? name, NotaryRestartOptions options) =>
        options.MinRestartInterval < TimeSpan.Zero || options.MinRestartInterval > MaxInterval
            ? ValidateOptionsResult.Fail($"{NotaryRestartOptions.SectionName}:MinRestartInterval {options.MinRestartInterval} must be between 00:00:00 (no limit) and 1.00:00:00 (one day), e.g. \"00:01:00\" (the default).")
            : ValidateOptionsResult.Success;
}
