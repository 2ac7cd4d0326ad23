using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Abstractions.Retry;
using Notary.Grains.Retry;

namespace Notary.Grains;

// Retiring what an issuer holds: through the issuer that issued it (recorded with the
// certificate, State.IssuedBy), not the one the spec names now; a compromised certificate whose
// revocation fails is retried with backoff (State.RetireRetries, the retire reminder) and raises
// a Warning Event: a revocation is never dropped.
public sealed partial class CertificateGrain
{
    /// <summary>Retries the revocation of compromised certificates (persisted in the reminder table: never rename).</summary>
    public const string RetireReminder = "retire";

    /// <summary>The reason of the Warning Event when a compromised certificate could not be revoked.</summary>
    public const string RevocationFailedReason = "RevocationFailed";

    /// <summary>A failed revocation is retried after 1 minute, doubling, at most an hour apart, until it succeeds.</summary>
    internal static readonly ExponentialBackoff RevocationBackoff = new(TimeSpan.FromMinutes(1), TimeSpan.FromHours(1), MaxDoublings: 6);

    private static readonly TimeSpan RetireReminderPeriod = TimeSpan.FromMinutes(1);

    /// <summary>The id (<see cref="IssuerIds"/>) of <paramref name="issuer"/>.</summary>
    private static string IssuerId(ICertificateIssuer issuer) =>
        issuer is IssuerGrainPort port ? port.Key : IssuerIds.Configured(issuer.Name);

    /// <summary>The id of the issuer <paramref name="spec"/> names; null when it names none.</summary>
    private string? IssuerId(CertificateSpec? spec) => ResolveIssuer(spec) is { } issuer ? IssuerId(issuer) : null;

    /// <summary>The issuer of an id (<see cref="IssuerIds"/>); null for a configured issuer no longer configured.</summary>
    private ICertificateIssuer? ResolveIssuerById(string id)
    {
        if (id.StartsWith(IssuerIds.ConfiguredPrefix, StringComparison.Ordinal))
        {
            var name = id[IssuerIds.ConfiguredPrefix.Length..];
            return name.Length == 0 ? null : issuers.Resolve(name);
        }

        return _issuerPort?.Key == id ? _issuerPort : new IssuerGrainPort(id, GrainFactory.GetGrain<IIssuerGrain>(id));
    }

    /// <summary>
    /// Retires <paramref name="arn"/> through <paramref name="via"/>, else the issuer that issued it,
    /// else (state from before issuers were recorded) the one the spec names. A failure throws when
    /// <paramref name="throwOnFailure"/>; otherwise it is logged, and a compromised certificate's
    /// revocation is retried until it succeeds.
    /// </summary>
    private async Task RetireAsync(string? arn, RetireReason reason, bool throwOnFailure, string? via = null)
    {
        if (arn is null)
        {
            return;
        }

        via ??= State.IssuedBy?.GetValueOrDefault(arn) ?? IssuerId(State.Spec);
        var issuer = via is null ? null : ResolveIssuerById(via);
        if (issuer is null)
        {
            return;
        }

        try
        {
            using var step = PortCall.Start(time);
            await issuer.RetireAsync(arn, reason, step.Token);
        }
        catch (Exception ex) when (!throwOnFailure)
        {
            Log.RetireFailed(logger, _resource.ToString(), arn, ex.GetType().Name, ex.Message);
            if (reason == RetireReason.Compromised)
            {
                await RetryRevocationAsync(arn, via!, ex);
                return;
            }
        }

        if (!InUse(arn))
        {
            State.IssuedBy?.Remove(arn);
        }
    }

    /// <summary>A compromised certificate could not be revoked: a Warning Event, and a retry with backoff (durable).</summary>
    private async Task RetryRevocationAsync(string arn, string via, Exception ex)
    {
        var retries = State.RetireRetries ??= [];
        retries.RemoveAll(r => r.Arn == arn);
        var delay = RevocationBackoff.AfterFailures(1);
        retries.Add(new RetireRetry { Arn = arn, Via = via, Failures = 1, NextAttempt = time.GetUtcNow() + delay });
        Log.RevocationRetried(logger, _resource.ToString(), arn, via, 1, delay);
        await EnsureRetireReminderAsync();
        await SaveAsync();
        // Only the error's type: the message of an issuer (AWS) stays in the log.
        await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Warning, RevocationFailedReason,
            $"Revoking the compromised certificate {arn} through {via} failed ({ex.GetType().Name}); Notary retries until it succeeds, and its log has the details.");
    }

    /// <summary>The retire reminder's tick (at <paramref name="tick"/>): every revocation that is due is tried again.</summary>
    private async Task OnRetireReminderAsync(DateTime tick)
    {
        var retries = State.RetireRetries ?? [];
        var at = new DateTimeOffset(DateTime.SpecifyKind(tick, DateTimeKind.Utc));
        var now = time.GetUtcNow() > at ? time.GetUtcNow() : at;
        foreach (var retry in retries.Where(r => r.NextAttempt <= now).ToList())
        {
            var issuer = ResolveIssuerById(retry.Via);
            try
            {
                if (issuer is not null)
                {
                    using var step = PortCall.Start(time);
                    await issuer.RetireAsync(retry.Arn, RetireReason.Compromised, step.Token);
                }

                retries.Remove(retry);
                Log.RevocationSucceeded(logger, _resource.ToString(), retry.Arn, retry.Via, retry.Failures);
                if (State.Spec is not null)
                {
                    await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Normal, "Revoked",
                        $"The compromised certificate {retry.Arn} was revoked through {retry.Via} after {retry.Failures} failed attempt(s).");
                }
            }
            catch (Exception ex)
            {
                Log.RetireFailed(logger, _resource.ToString(), retry.Arn, ex.GetType().Name, ex.Message);
                var failures = retry.Failures + 1;
                var delay = RevocationBackoff.AfterFailures(failures);
                retries[retries.IndexOf(retry)] = retry with { Failures = failures, NextAttempt = now + delay };
                Log.RevocationRetried(logger, _resource.ToString(), retry.Arn, retry.Via, failures, delay);
            }
        }

        if (retries.Count == 0)
        {
            State.RetireRetries = null;
            await ForgetRetireReminderAsync();
        }

        await SaveAsync();
    }

    private async Task EnsureRetireReminderAsync()
    {
        if (State.RetireReminderRegistered)
        {
            return;
        }

        try
        {
            await this.RegisterOrUpdateReminder(RetireReminder, RetireReminderPeriod, RetireReminderPeriod);
            State.RetireReminderRegistered = true;
        }
        catch (Exception ex)
        {
            // The state keeps the retry: the next failure, or the next activation's tick, registers again.
            Log.RetireReminderFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    private async Task ForgetRetireReminderAsync()
    {
        try
        {
            var reminder = await this.GetReminder(RetireReminder);
            if (reminder is not null)
            {
                await this.UnregisterReminder(reminder);
            }

            State.RetireReminderRegistered = false;
        }
        catch (Exception ex)
        {
            Log.RetireReminderFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }
}
