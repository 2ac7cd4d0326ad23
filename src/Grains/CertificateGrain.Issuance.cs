using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Notary.Grains.Retry;
using Notary.Pki;

namespace Notary.Grains;

// One issuance through the issuer port: request, steps of an issuance in progress, completion,
// failures (rejected for good, or transient and continued), and retiring what the issuer holds.
public sealed partial class CertificateGrain
{
    /// <summary>Steps that answer "continue at once" run inline while this much of the turn is left.</summary>
    private static readonly TimeSpan InlineBudget = TimeSpan.FromSeconds(10);

    private async Task<CertificateStatus> IssueAsync(ValidCertificateSpec valid, IssuePurpose purpose, string eventReason, string why)
    {
        var spec = State.Spec!;
        var issuer = ResolveIssuer(spec)!;
        if (State.Pending is { } abandoned && IssueDecision.Abandons(abandoned, purpose, spec))
        {
            // The spec changed (or a rotation overtook) while an issuance was in progress: start
            // over, and let the issuer drop what it had started.
            State.Pending = null;
            await RetireAsync(abandoned.Ticket, RetireReason.Replaced, throwOnFailure: false, IssuerId(abandoned.For));
        }

        CancelContinuation();
        var started = time.GetUtcNow();
        while (true)
        {
            var request = new IssueRequest
            {
                Resource = _resource,
                Origin = State.Pending?.Origin ?? State.Origin!,
                Type = spec.Type,
                Fqdn = spec.Fqdn,
                Alt = spec.Alt,
                Lifetime = valid.Lifetime,
                Key = valid.Key,
                Revision = State.Revision,
                Purpose = purpose,
                CurrentArn = State.Material?.Arn,
                Ticket = State.Pending?.Ticket,
                Step = State.Pending?.Steps ?? 0,
                PrivateKeyPem = await LeafKeyForAsync(issuer, valid.Key, State.Pending?.Ticket),
            };

            IssueProgress progress;
            try
            {
                using var step = PortCall.Start(time);
                progress = await issuer.IssueAsync(request, step.Token);
            }
            catch (IssuerRejectedException ex)
            {
                // Final for this spec: adapters word these messages for users (no secret in them).
                State.Reconciled = State.Origin;
                State.Pending = null;
                _continuation?.ResetFailures();
                metrics.Count(_resource, "failed");
                return await IssuanceFailedAsync(new Problem(ex.Reason, $"Issuer \"{issuer.Name}\" rejected the certificate: {ex.Message}"));
            }
            catch (IssuerFailedException ex) when (ex.Reason == Reasons.IssuerNotReady && issuer is IssuerGrainPort)
            {
                // The Issuer or ClusterIssuer is missing or not Ready: wait for it, without a retry timer.
                metrics.Count(_resource, "failed");
                return await IssuerNotReadyAsync(issuer, ex.Message);
            }
            catch (IssuerFailedException ex)
            {
                // Transient, with a message the issuer worded for users (e.g. an AWS error code).
                Log.IssueFailed(logger, _resource.ToString(), ex.Reason, ex.Message);
                metrics.Count(_resource, "failed");
                await ScheduleContinuationAsync(Continuation.NextFailureDelay());
                return await IssuanceFailedAsync(new Problem(ex.Reason, $"Issuer \"{issuer.Name}\" failed: {ex.Message} Notary retries."));
            }
            catch (Exception ex)
            {
                // Transient: retried with capped backoff (and on the next apply). Only the error's
                // type reaches status and events, which more people can read than the logs.
                Log.IssueFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
                metrics.Count(_resource, "failed");
                await ScheduleContinuationAsync(Continuation.NextFailureDelay());
                return await IssuanceFailedAsync(new Problem(Reasons.IssueFailed, $"Issuer \"{issuer.Name}\" failed ({ex.GetType().Name}); Notary retries, and its log has the details."));
            }

            _continuation?.ResetFailures();
            if (progress.Material is { } material)
            {
                return await CompleteAsync(valid, issuer, material, purpose, eventReason, why);
            }

            await PendingAsync(progress, purpose, eventReason, why);
            if (progress.RetryAfter > TimeSpan.Zero || time.GetUtcNow() - started > InlineBudget)
            {
                await ScheduleContinuationAsync(progress.RetryAfter);
                return BuildStatus();
            }
        }
    }

    /// <summary>
    /// The leaf key pair for an Issuer or ClusterIssuer (shared by many certificates, one issuance
    /// at a time): generated here, off the issuer grain, which then only signs; null for a
    /// configured issuer (it runs in this grain anyway) and for a ticket the issuer continues (a
    /// CA rotation's hold polls every 30 s: a key each time would cost more than it saves).
    /// </summary>
    private static async Task<string?> LeafKeyForAsync(ICertificateIssuer issuer, PrivateKeyRequest key, string? ticket)
    {
        if (issuer is not IssuerGrainPort || ticket is not null)
        {
            return null;
        }

        var spec = new KeySpec(key.Algorithm.Equals("ECDSA", StringComparison.OrdinalIgnoreCase) ? KeyAlgorithm.Ecdsa : KeyAlgorithm.Rsa, key.Size);
        // An unsupported key is the issuer's to reject, in its words; the CPU-bound generation
        // runs on the thread pool, not on a grain scheduler thread.
        return spec.Validate() is null ? await Task.Run(spec.GeneratePkcs8Pem) : null;
    }

    private async Task<CertificateStatus> CompleteAsync(ValidCertificateSpec valid, ICertificateIssuer issuer, IssuedMaterial material, IssuePurpose purpose, string eventReason, string why)
    {
        var now = time.GetUtcNow();
        var rotated = purpose == IssuePurpose.Rotate;
        // What keystores serve now, and an unserved certificate a roll in progress was putting
        // into truststores (replaced by this one before any keystore served it).
        var served = State.Serving ?? State.Material;
        var servedRevision = ServedRevision;
        var unserved = State.Serving is null ? null : State.Material;
        var retire = new List<(string Arn, RetireReason Reason)>();
        if (unserved is not null)
        {
            retire.Add((unserved.Arn, RetireReason.Replaced));
        }

        // Make-before-break (CertificateGrain.Roll.cs) for a renewal or spec-change re-issue of a
        // certificate still valid; a rotate (breach) drops every older certificate at once, and
        // an expired one has nothing left to keep working.
        var roll = !rotated && served is not null && served.NotAfter > now;
        if (rotated)
        {
            retire.AddRange(DropRollAndOverlap().Select(arn => (arn, RetireReason.Compromised)));
            if (served is not null)
            {
                retire.Add((served.Arn, RetireReason.Compromised));
            }
        }
        else if (!roll)
        {
            State.Serving = null;
            State.ServingRevision = 0;
            State.Roll = null;
            if (served is not null)
            {
                retire.Add((served.Arn, RetireReason.Replaced));
            }
        }

        State.ClearAlertsSent();
        State.RenewalFailures = 0;
        State.NextRenewalAttempt = null;
        State.Material = StoredMaterial.From(material, protector, _resource.ToString());
        // Retired later through this issuer, whatever the spec names by then.
        (State.IssuedBy ??= [])[material.Arn] = IssuerId(issuer);
        State.IssuedFor = State.Spec;
        State.Reconciled = State.Origin;
        State.Pending = null;
        State.Revision++;
        State.RenewalTime = CertificatePolicy.RenewalTime(material.NotBefore, material.NotAfter, valid.RenewBefore);
        SetReady(Reasons.Issued, $"Certificate is valid until {material.NotAfter:O}.");
        ConditionList.Remove(State.Conditions, Conditions.Issuing);
        if (roll)
        {
            BeginRoll(served!, servedRevision, now);
        }

        // The lifecycle reminder is registered before the state is saved, so that one write
        // persists both the certificate and when its reminder is due: an issuance costs one state
        // write (a Redis round trip in production), not two. A failed registration does not hold
        // the certificate back: it is saved without ReminderDue, and the next apply or resync
        // registers the reminder (renewal and alerts are days away, the resync minutes).
        await TryScheduleLifecycleAsync();
        if (roll)
        {
            // The roll reminder too, before the save: a silo lost between the save and
            // AdvanceRollAsync below leaves a roll that its reminder resumes, not a stalled one.
            await ScheduleRollAsync();
        }

        // Persist before anyone hears of it: a crash after this point loses no certificate.
        await SaveAsync();
        Log.Issued(logger, _resource.ToString(), material.SerialNumber, State.Revision, material.NotAfter);
        // Status first: Ready=True is what kubectl wait, a GitOps sync and the subscribed stores
        // wait for, so the Event (an audit record nobody waits on) no longer delays it by a
        // round trip to the API server.
        await PublishAsync();
        NotifySubscribers(State.Revision);
        await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Normal, eventReason,
            $"Issued serial {material.SerialNumber} (revision {State.Revision}) by {issuer.Name} because {why}; valid until {material.NotAfter:O}.");
        metrics.Count(_resource, purpose == IssuePurpose.Renew ? "renewed" : "issued");
        await ForgetContinuationAsync();
        // The roll's phase (or its switch at once, when nothing depends on it), and the reminder
        // for its next step; after a rotate, the reminder of an overlap that no longer exists goes.
        await AdvanceRollAsync();
        foreach (var (arn, reason) in retire.DistinctBy(r => r.Arn))
        {
            if (!InUse(arn))
            {
                // Out of every store once subscribers rebuild (a replaced certificate that keystores
                // served is retired only when its overlap ends, see DropEndedOverlapsAsync); a
                // failure here leaves an unused certificate at the issuer, never a broken service.
                await RetireAsync(arn, reason, throwOnFailure: false);
            }
        }

        return BuildStatus();
    }

    /// <summary>
    /// Records an issuance in progress. A valid current certificate keeps the resource Ready
    /// (Issuing=True says a new one is on its way); without one, Ready=False with the issuer's
    /// reason (Issuing, or PendingValidation with the DNS records to create).
    /// </summary>
    private async Task PendingAsync(IssueProgress progress, IssuePurpose purpose, string eventReason, string why)
    {
        var pending = new PendingIssuance
        {
            Ticket = progress.Ticket ?? throw new InvalidOperationException("An issuer reported progress without a ticket."),
            Purpose = purpose,
            For = State.Spec!,
            Origin = State.Pending?.Origin ?? State.Origin!,
            Reason = progress.Reason,
            Message = progress.Message,
            ValidationRecords = progress.ValidationRecords,
            EventReason = eventReason,
            Why = why,
        };
        var changed = State.Pending is null || State.Pending.Ticket != pending.Ticket || State.Pending.Reason != pending.Reason;
        pending = pending with { Steps = State.Pending?.Ticket == pending.Ticket ? State.Pending.Steps + 1 : 0 };
        State.Pending = pending;
        var now = time.GetUtcNow();
        var generation = State.Origin?.Generation ?? 0;
        ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.True, progress.Reason, progress.Message, now, generation);
        if (!HasValidMaterial())
        {
            ConditionList.Set(State.Conditions, Conditions.Ready, Conditions.False, progress.Reason, progress.Message, now, generation);
        }

        await SaveAsync();
        if (changed && progress.Reason == Reasons.PendingValidation)
        {
            await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Normal, Reasons.PendingValidation, progress.Message);
        }

        await PublishAsync();
    }

    private bool HasValidMaterial() =>
        State.Material is not null && State.IssuedFor is not null && State.Spec is not null
        && !CertificatePolicy.AffectsCertificate(State.IssuedFor, State.Spec) && State.Material.NotAfter > time.GetUtcNow();

    /// <summary>
    /// A failed issuance. While the current certificate still matches the spec and is valid it
    /// stays Ready (services keep working); the failure shows as Issuing=False. Otherwise the
    /// certificate is not ready.
    /// </summary>
    private async Task<CertificateStatus> IssuanceFailedAsync(Problem problem)
    {
        if (!HasValidMaterial())
        {
            if (CurrentMaterial() is { } expired)
            {
                // The certificate of this spec expired and renewing it failed again: it stays
                // Ready=False/Expired (the README's promise), and the failure shows as Issuing=False,
                // as it does while the certificate is still valid. The Expired message does not
                // change with each attempt, so a retry records no new Event.
                ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.False, problem.Reason, problem.Message, time.GetUtcNow(), State.Origin?.Generation ?? 0);
                problem = new Problem(Reasons.Expired, $"The certificate expired at {expired.NotAfter:O} and could not be renewed.");
            }

            return await NotReadyAsync(problem);
        }

        var changed = ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.False, problem.Reason, problem.Message, time.GetUtcNow(), State.Origin?.Generation ?? 0);
        await SaveAsync();
        if (changed)
        {
            await _reporter.EventAsync(_resource, State.Origin?.Uid, EventSeverity.Warning, problem.Reason, problem.Message);
        }

        await PublishAsync();
        return BuildStatus();
    }
}
