using Microsoft.Extensions.Options;
using Notary.CustomResources;

namespace Notary.Watcher;

/// <summary>
/// How the watcher lists, watches and elects its leader (configuration section
/// <c>Notary:Watcher</c>). The Lease lives in Notary's namespace (<c>Notary:Kubernetes:Namespace</c>).
/// </summary>
public sealed class NotaryWatcherOptions
{
    public const string SectionName = "Notary:Watcher";

    /// <summary>Name of the coordination.k8s.io Lease that elects the one active watcher.</summary>
    public string LeaseName { get; set; } = "notary-watcher";

    /// <summary>This instance's name in the Lease; default the POD_NAME environment variable, else host, process and a random suffix.</summary>
    public string? Identity { get; set; }

    /// <summary>How long a standby waits after the leader's last renewal before taking over (whole seconds).</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps trying to renew before it gives up leading.</summary>
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the leader renews, and a standby tries to acquire.</summary>
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often everything known is forwarded again, whether it changed or not.</summary>
    public TimeSpan ResyncPeriod { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Resources forwarded at once per kind; one slow grain call holds up only its own worker.</summary>
    public int Workers { get; set; } = 4;

    /// <summary>First delay before reconnecting a failed watch; it doubles (with jitter) up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan MinReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The API server ends each watch after between this and twice this time (as client-go's
    /// reflector asks), and the watcher resumes it from the last resourceVersion.
    /// </summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>On a clean shutdown, the leader gives up the Lease so that a standby takes over at once.</summary>
    public bool ReleaseOnShutdown { get; set; } = true;
}

/// <summary>Refuses option values the watcher cannot work with, saying how to fix them.</summary>
public sealed class NotaryWatcherOptionsValidator : IValidateOptions<NotaryWatcherOptions>
{
    public ValidateOptionsResult Validate(string? name, NotaryWatcherOptions options)
    {
        const string S = NotaryWatcherOptions.SectionName;
        var failures = new List<string>();
        if (!KubernetesNames.IsDnsSubdomain(options.LeaseName))
        {
            failures.Add($"{S}:LeaseName \"{options.LeaseName}\" is not a Lease name: use at most 253 lowercase letters, digits, '-' and '.' (default \"notary-watcher\").");
        }

        if (options.Identity is not null && (options.Identity.Length == 0 || options.Identity.Length > 253))
        {
            failures.Add($"{S}:Identity must be 1 to 253 characters, or unset to use POD_NAME.");
        }

        if (options.LeaseDuration < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{S}:LeaseDuration {options.LeaseDuration} must be at least one second (the Lease counts whole seconds); default 00:00:15.");
        }

        if (options.RetryPeriod <= TimeSpan.Zero)
        {
            failures.Add($"{S}:RetryPeriod {options.RetryPeriod} must be positive; default 00:00:02.");
        }

        // client-go's rule: LeaseDuration > RenewDeadline > 1.2 × RetryPeriod.
        if (options.RenewDeadline >= options.LeaseDuration)
        {
            failures.Add($"{S}:RenewDeadline {options.RenewDeadline} must be shorter than LeaseDuration {options.LeaseDuration}, or two leaders could overlap; defaults 00:00:10 and 00:00:15.");
        }

        if (options.RenewDeadline <= options.RetryPeriod * 1.2)
        {
            failures.Add($"{S}:RenewDeadline {options.RenewDeadline} must exceed 1.2 × RetryPeriod {options.RetryPeriod}, or the leader cannot retry a failed renewal in time.");
        }

        if (options.ResyncPeriod < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{S}:ResyncPeriod {options.ResyncPeriod} must be at least one second; default 00:10:00.");
        }

        if (options.Workers is < 1 or > 64)
        {
            failures.Add($"{S}:Workers {options.Workers} must be between 1 and 64; default 4.");
        }

        if (options.MinReconnectDelay <= TimeSpan.Zero || options.MaxReconnectDelay < options.MinReconnectDelay)
        {
            failures.Add($"{S}:MinReconnectDelay {options.MinReconnectDelay} must be positive and at most MaxReconnectDelay {options.MaxReconnectDelay}; defaults 00:00:00.1 and 00:00:10.");
        }

        if (options.WatchTimeout < TimeSpan.FromSeconds(1) || options.WatchTimeout > TimeSpan.FromHours(1))
        {
            failures.Add($"{S}:WatchTimeout {options.WatchTimeout} must be between one second and one hour; default 00:05:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
