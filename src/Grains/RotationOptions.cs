using Microsoft.Extensions.Options;

namespace Notary.Grains;

/// <summary>
/// Make-before-break renewal (configuration section <c>Notary:Rotation</c>, e.g.
/// <c>Notary__Rotation__PropagationDelay=00:01:30</c>). A renewal or spec-change re-issue first
/// puts the new certificate into every dependent truststore beside the current one, waits until
/// all are written plus <see cref="PropagationDelay"/>, then switches the service's keystore; the
/// previous certificate stays trusted until it expires or <see cref="Overlap"/> ends.
/// </summary>
public sealed class RotationOptions
{
    public const string SectionName = "Notary:Rotation";

    /// <summary>
    /// How long after the last dependent truststore is written the keystore switches: 90 s by
    /// default, the kubelet's refresh of mounted Secrets (its sync period, 60 s, plus its cache
    /// TTL), so that every pod reads the new truststore before a peer presents the new certificate.
    /// </summary>
    public TimeSpan PropagationDelay { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// How long the previous certificate stays in dependents' truststores after the keystore
    /// switched, counted from the moment every keystore confirmed writing the new certificate (a
    /// keystore that cannot be written holds it at most <see cref="MaxWait"/> after the switch);
    /// unset (the default): until it expires. A shorter overlap takes it out sooner,
    /// for pods that read their keystore only at start and restart within that time. Never shorter
    /// than <see cref="PropagationDelay"/> (0 means "as short as is safe"): pods present the old
    /// certificate until they read the switched keystore (see <c>RollPolicy.TrustedUntil</c>).
    /// </summary>
    public TimeSpan? Overlap { get; set; }

    /// <summary>
    /// The longest the keystore waits for dependent truststores that cannot be written (a missing
    /// metadata Secret, a failing secret store): then it switches anyway, with a Warning Event
    /// naming the truststores left behind. 24 hours by default: the old certificate stays valid
    /// meanwhile (a renewal starts a third of the lifetime before expiry, and the wait never runs
    /// past that expiry), so waiting costs nothing, while switching early breaks the calls of the
    /// peers left behind; a day covers an outage of the secret store and the time for someone to
    /// act on the truststore's Ready=False.
    /// </summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// During an issuer's CA rotation, how many of its certificates are re-issued from the new CA
    /// at once (each a make-before-break roll of its own, so at most this many keystores switch
    /// per propagation delay): 10 by default, between 1 and 1000, e.g.
    /// <c>Notary__Rotation__MaxConcurrentReissues=10</c>. Lower paces the roll (fewer restarts at
    /// once, fewer issuer calls), higher finishes it sooner.
    /// </summary>
    public int MaxConcurrentReissues { get; set; } = 10;

    /// <summary>
    /// The shortest time between two renewals requested with the annotation notary.dev/renew
    /// (<c>kubectl notary renew</c>): 5 minutes by default, between 0 and 24 hours, e.g.
    /// <c>Notary__Rotation__MinManualRenewInterval=00:05:00</c>. A new value within it is not acted
    /// on (status.lastManualRenewal.outcome TooSoon, Issuing=False/RenewTooSoon saying when it may
    /// be renewed next, one Warning Event); annotate again after then. A script annotating in a
    /// loop thus re-issues at most once per interval (each re-issue is a CA request, billed by ACM,
    /// and a keystore switch that may restart dependents). A value during an issuance or a roll is
    /// coalesced into it (outcome AlreadyIssuing).
    /// </summary>
    public TimeSpan MinManualRenewInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Refuses rotation settings that cannot work, saying how to fix them.</summary>
public sealed class RotationOptionsValidator : IValidateOptions<RotationOptions>
{
    public ValidateOptionsResult Validate(string? name, RotationOptions options)
    {
        var failures = new List<string>();
        if (options.PropagationDelay < TimeSpan.Zero || options.PropagationDelay > TimeSpan.FromHours(1))
        {
            failures.Add($"{RotationOptions.SectionName}:PropagationDelay {options.PropagationDelay} must be between 0 and 1 hour (default 00:01:30, the kubelet's Secret refresh), e.g. Notary__Rotation__PropagationDelay=00:01:30.");
        }

        if (options.Overlap is { } overlap && overlap < TimeSpan.Zero)
        {
            failures.Add($"{RotationOptions.SectionName}:Overlap {overlap} must not be negative; leave it unset to keep the previous certificate trusted until it expires, e.g. Notary__Rotation__Overlap=7.00:00:00.");
        }

        if (options.MaxWait < options.PropagationDelay || options.MaxWait > TimeSpan.FromDays(30))
        {
            failures.Add($"{RotationOptions.SectionName}:MaxWait {options.MaxWait} must be at least PropagationDelay ({options.PropagationDelay}) and at most 30 days (default 1.00:00:00), e.g. Notary__Rotation__MaxWait=1.00:00:00.");
        }

        if (options.MaxConcurrentReissues is < 1 or > 1000)
        {
            failures.Add($"{RotationOptions.SectionName}:MaxConcurrentReissues {options.MaxConcurrentReissues} must be between 1 and 1000 (default 10: how many certificates a CA rotation re-issues at once), e.g. Notary__Rotation__MaxConcurrentReissues=10.");
        }

        if (options.MinManualRenewInterval < TimeSpan.Zero || options.MinManualRenewInterval > TimeSpan.FromHours(24))
        {
            failures.Add($"{RotationOptions.SectionName}:MinManualRenewInterval {options.MinManualRenewInterval} must be between 0 and 24 hours (default 00:05:00: the shortest time between two renewals requested with notary.dev/renew), e.g. Notary__Rotation__MinManualRenewInterval=00:05:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
