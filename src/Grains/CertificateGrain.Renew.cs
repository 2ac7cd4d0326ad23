using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains;

// Renew now, on an operator's request (the annotation notary.dev/renew, which `kubectl notary
// renew` sets; cmctl renew is the model). The renewal time moves to now and the lifecycle renews
// as when its renewal time comes, so a requested renewal takes the same path as a scheduled one:
// the name policy decides it, the issuance is make-before-break (CertificateGrain.Roll.cs), and a
// failure is retried with the renewal's backoff. Each token is acted on once (persisted), so a
// resync, a new watcher term or a restart forwarding the same annotation re-issues nothing.
// What cannot be renewed (a quarantined certificate, a spec its issuer or the policy refuses) is
// refused once, with Issuing=False/RenewRefused and a Warning Event: no retry until a new token.
public sealed partial class CertificateGrain
{
    /// <summary>The longest part of a token that messages quote (an annotation value may be long).</summary>
    private const int ShownTokenLength = 64;

    public async Task<CertificateStatus> RenewAsync(string token)
    {
        if (State.Spec is null || string.IsNullOrEmpty(token) || State.LastManualRenewal?.Token == token)
        {
            return BuildStatus();
        }

        var now = time.GetUtcNow();
        var shown = $"{RenewAnnotation.Name}={(token.Length > ShownTokenLength ? token[..ShownTokenLength] + "…" : token)}";
        Log.RenewRequested(logger, _resource.ToString(), shown);
        if (State.Material is null || State.Pending is not null)
        {
            // The first issuance (a Certificate created with the annotation), or one in progress:
            // what it issues is the new certificate the request asks for.
            State.LastManualRenewal = new ManualRenewal(token, now, ManualRenewalOutcomes.AlreadyIssuing);
            await SaveAsync();
            await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Normal, Reasons.RenewRequested,
                $"Renewal requested ({shown}): the certificate is being issued already, nothing more to do.");
            await PublishAsync();
            return BuildStatus();
        }

        if (State.IsQuarantined)
        {
            return await RefuseRenewalAsync(token, now, shown,
                $"the certificate is quarantined (by {string.Join(", ", State.QuarantinedBy.Order(StringComparer.Ordinal))}) and a new certificate would stay out of truststores too. Report a rotate Breach to re-key it, or delete the quarantine Breach to trust it again.");
        }

        // Its issuer or the name policy refusing: said once, not retried (a renewal at its
        // renewal time would be retried with backoff; a request is asked again with a new token).
        await EvaluatePolicyAsync();
        if (SpecProblem(State.Spec, out _, IssuePurpose.Renew) is { } problem)
        {
            return await RefuseRenewalAsync(token, now, shown, problem.Message);
        }

        State.LastManualRenewal = new ManualRenewal(token, now, ManualRenewalOutcomes.Reissued);
        State.RenewalTime = now;
        State.NextRenewalAttempt = null;
        ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.True, Reasons.ManuallyTriggered,
            $"Re-issuance manually triggered ({shown}): the new certificate goes into every dependent truststore before the keystore switches, as in a renewal.", now, State.Origin?.Generation ?? 0);
        await SaveAsync();
        await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Normal, Reasons.RenewRequested,
            $"Renewal requested ({shown}): re-issuing now, make-before-break as a renewal.");
        await PublishAsync();
        await RunLifecycleAsync($"a renewal was requested ({shown})");
        return BuildStatus();
    }

    private async Task<CertificateStatus> RefuseRenewalAsync(string token, DateTimeOffset now, string shown, string why)
    {
        State.LastManualRenewal = new ManualRenewal(token, now, ManualRenewalOutcomes.Refused);
        var message = $"The renewal requested with {shown} was not started: {why}";
        ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.False, Reasons.RenewRefused, message, now, State.Origin?.Generation ?? 0);
        await SaveAsync();
        Log.RenewRefused(logger, _resource.ToString(), shown, why);
        await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Warning, Reasons.RenewRefused, message);
        await PublishAsync();
        return BuildStatus();
    }
}
