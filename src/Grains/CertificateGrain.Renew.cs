using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

// Renew now, on an operator's request (the annotation notary.dev/renew, which `kubectl notary
// renew` sets; cmctl renew is the model). The renewal time moves to now and the lifecycle renews
// as when its renewal time comes, so a requested renewal takes the same path as a scheduled one:
// the name policy decides it, the issuance is make-before-break (CertificateGrain.Roll.cs), and a
// failure is retried with the renewal's backoff (a request does not cut a running backoff short).
// Each token is acted on once (persisted), so a resync, a new watcher term or a restart forwarding
// the same annotation re-issues nothing. Never a storm (ManualRenewalPolicy): a token during an
// issuance or a roll is coalesced into it, one within Rotation:MinManualRenewInterval of the last
// requested re-issue is answered TooSoon, and one forwarded before the spec (a Certificate created
// with the annotation) is covered by the first issuance. A long token is stored capped (63 chars).
// What cannot be renewed (a quarantined certificate, a spec its issuer or the policy refuses) is
// refused once, with Issuing=False/RenewRefused and a Warning Event: no retry until a new token.
public sealed partial class CertificateGrain
{
    public async Task<CertificateStatus> RenewAsync(string token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return BuildStatus();
        }

        var now = time.GetUtcNow();
        token = ManualRenewalPolicy.StoredToken(token);
        var (decision, notBefore) = ManualRenewalPolicy.Decide(new ManualRenewalSnapshot(
            now, token, State.LastManualRenewal?.Token, HasMaterial: State.Material is not null,
            Issuing: State.Pending is not null || (State.Roll is not null && State.Serving is not null),
            State.LastManualReissue, rotation.Value.MinManualRenewInterval));
        if (decision is ManualRenewalDecision.Ignore)
        {
            return BuildStatus();
        }

        var shown = $"{RenewAnnotation.Name}={token}";
        Log.RenewRequested(logger, _resource.ToString(), shown);
        if (State.Spec is null)
        {
            // Forwarded before the spec (a Certificate created with the annotation, a restore, a
            // loss of grain state): the first issuance, which the spec starts next, is the request.
            State.LastManualRenewal = new ManualRenewal(token, now, ManualRenewalOutcomes.AlreadyIssuing);
            await SaveAsync();
            return BuildStatus();
        }

        if (decision is ManualRenewalDecision.AlreadyIssuing)
        {
            // The first issuance, one in progress or a roll not yet switched: what it issues is the
            // new certificate the request asks for (a re-issue now would replace it unserved).
            State.LastManualRenewal = new ManualRenewal(token, now, ManualRenewalOutcomes.AlreadyIssuing);
            await SaveAsync();
            await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Normal, Reasons.RenewRequested,
                $"Renewal requested ({shown}): the certificate is being issued or rolled out already, nothing more to do.");
            await PublishAsync();
            return BuildStatus();
        }

        if (decision is ManualRenewalDecision.TooSoon)
        {
            return await RenewTooSoonAsync(token, now, shown, notBefore!.Value);
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
        State.LastManualReissueAt = now;
        State.RenewalTime = now;
        if (State.RenewalFailures == 0)
        {
            // A failing renewal keeps its backoff: a request does not make the issuer retry sooner.
            State.NextRenewalAttempt = null;
        }

        ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.True, Reasons.ManuallyTriggered,
            $"Re-issuance manually triggered ({shown}): the new certificate goes into every dependent truststore before the keystore switches, as in a renewal.", now, State.Origin?.Generation ?? 0);
        await SaveAsync();
        await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Normal, Reasons.RenewRequested,
            $"Renewal requested ({shown}): re-issuing now, make-before-break as a renewal.");
        await PublishAsync();
        await RunLifecycleAsync($"a renewal was requested ({shown})");
        return BuildStatus();
    }

    private async Task<CertificateStatus> RenewTooSoonAsync(string token, DateTimeOffset now, string shown, DateTimeOffset notBefore)
    {
        // One Warning Event per run of early requests (a script annotating in a loop), not one each.
        var first = State.LastManualRenewal?.Outcome != ManualRenewalOutcomes.TooSoon;
        State.LastManualRenewal = new ManualRenewal(token, now, ManualRenewalOutcomes.TooSoon);
        var message = $"The renewal requested with {shown} was not started: the last requested renewal was at {State.LastManualReissue:O} and Rotation:MinManualRenewInterval is {rotation.Value.MinManualRenewInterval}. It may be renewed again from {notBefore:O}: annotate with a new value then.";
        ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.False, Reasons.RenewTooSoon, message, now, State.Origin?.Generation ?? 0);
        await SaveAsync();
        if (first)
        {
            await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Warning, Reasons.RenewTooSoon, message);
        }

        await PublishAsync();
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
