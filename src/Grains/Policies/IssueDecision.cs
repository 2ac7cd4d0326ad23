using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Policies;

/// <summary>What asks a Certificate whether to issue.</summary>
public enum IssueTrigger
{
    /// <summary>The watcher applied a spec (a new generation, or a resync of the same one).</summary>
    Apply,

    /// <summary>The continuation timer or reminder: an issuance in progress, or an apply a transient failure left unfinished.</summary>
    Continue,
}

/// <summary>
/// What the issue decision looks at: the spec (already stored in the state), what the current
/// material was issued for, an issuance in progress, and what the grain found out beforehand.
/// </summary>
/// <param name="Trigger">Which path asks.</param>
/// <param name="Spec">The certificate's spec.</param>
/// <param name="HasMaterial">A certificate was issued before (for this spec or an older one).</param>
/// <param name="IssuedFor">The spec the current material was issued for.</param>
/// <param name="Pending">An issuance the issuer started and has not finished.</param>
/// <param name="Unreconciled">The applied origin has not reached a final outcome (a transient failure left it behind).</param>
/// <param name="AlreadyApplied">Apply only: the same spec and origin were applied and reconciled before (a resync).</param>
/// <param name="IssuerProblem">Why the spec cannot be issued beyond its validation: its issuer cannot issue it (unknown issuer, unsupported type), or the name policy refuses it (PolicyDenied); null when neither.</param>
public sealed record IssueSnapshot(
    IssueTrigger Trigger,
    CertificateSpec Spec,
    bool HasMaterial,
    CertificateSpec? IssuedFor,
    PendingIssuance? Pending,
    bool Unreconciled,
    bool AlreadyApplied,
    Problem? IssuerProblem);

/// <summary>What a Certificate does, as <see cref="IssueDecision.Decide"/> answers.</summary>
public abstract record IssueOutcome
{
    private IssueOutcome()
    {
    }

    /// <summary>A resync of what was applied: publish the status again and make sure the lifecycle reminder exists.</summary>
    public sealed record AlreadyApplied : IssueOutcome;

    /// <summary>Nothing to issue (a continuation found nothing left to continue).</summary>
    public sealed record NothingToDo : IssueOutcome;

    /// <summary>The spec cannot be issued until it changes (or its issuer is configured).</summary>
    public sealed record NotReady(Problem Problem) : IssueOutcome;

    /// <summary>Nothing the certificate contains changed (e.g. only renewBefore): move the renewal time.</summary>
    public sealed record MoveRenewalTime(ValidCertificateSpec Valid) : IssueOutcome;

    /// <summary>Issue (or continue issuing): <paramref name="EventReason"/> and <paramref name="Why"/> word the Event.</summary>
    public sealed record Issue(ValidCertificateSpec Valid, IssuePurpose Purpose, string EventReason, string Why) : IssueOutcome;
}

/// <summary>
/// Whether a Certificate issues, as one pure function of a snapshot that both the apply path and
/// the continuation path call, so that the two never decide differently. A chain of small checks,
/// in the manner of cert-manager's policies.Chain: the first that has an answer decides, and
/// when none has one the certificate is issued for its spec.
/// </summary>
public static class IssueDecision
{
    /// <summary>Reason and words of the Event when the first certificate is issued.</summary>
    public const string CreatedReason = "Issued";

    public const string CreatedWhy = "the certificate was created";

    /// <summary>Reason and words of the Event when a changed spec is issued again.</summary>
    public const string ChangedReason = "Reissued";

    public const string ChangedWhy = "the spec changed";

    /// <summary>One check of the chain: an outcome, or null to ask the next.</summary>
    private delegate IssueOutcome? Check(IssueSnapshot snapshot, ValidCertificateSpec valid);

    private static readonly Check[] Chain = [ContinuePending, NothingUnfinished, CertificateUnaffected];

    public static IssueOutcome Decide(IssueSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Trigger == IssueTrigger.Apply && snapshot.AlreadyApplied)
        {
            return new IssueOutcome.AlreadyApplied();
        }

        var (valid, problem) = CertificatePolicy.Validate(snapshot.Spec);
        if ((problem ?? snapshot.IssuerProblem) is { } notReady)
        {
            return new IssueOutcome.NotReady(notReady);
        }

        foreach (var check in Chain)
        {
            if (check(snapshot, valid!) is { } outcome)
            {
                return outcome;
            }
        }

        return snapshot.HasMaterial
            ? new IssueOutcome.Issue(valid!, IssuePurpose.Issue, ChangedReason, ChangedWhy)
            : new IssueOutcome.Issue(valid!, IssuePurpose.Issue, CreatedReason, CreatedWhy);
    }

    /// <summary>
    /// An issuance in progress is abandoned when the spec changed in what it contains, or a
    /// different purpose overtook it (a rotation during a renewal): the issuer drops what it
    /// started, and issuance starts over.
    /// </summary>
    public static bool Abandons(PendingIssuance? pending, IssuePurpose purpose, CertificateSpec spec) =>
        pending is not null
        && !(pending.Purpose == purpose && CertificatePolicy.SameSpec(pending.For, spec) && !CertificatePolicy.AffectsCertificate(pending.For, spec));

    /// <summary>A continuation carries on the issuance in progress, for the purpose it was started with.</summary>
    private static IssueOutcome.Issue? ContinuePending(IssueSnapshot snapshot, ValidCertificateSpec valid) =>
        snapshot.Trigger == IssueTrigger.Continue && snapshot.Pending is { } pending
            ? new IssueOutcome.Issue(valid, pending.Purpose, pending.EventReason, pending.Why)
            : null;

    /// <summary>A continuation with no issuance in progress finds nothing to do once the apply reached its outcome.</summary>
    private static IssueOutcome.NothingToDo? NothingUnfinished(IssueSnapshot snapshot, ValidCertificateSpec valid) =>
        snapshot.Trigger == IssueTrigger.Continue && !snapshot.Unreconciled ? new IssueOutcome.NothingToDo() : null;

    /// <summary>
    /// The current certificate still holds everything the spec asks for: an apply moves the
    /// renewal time (renewBefore may have changed); a continuation has nothing to issue.
    /// </summary>
    private static IssueOutcome? CertificateUnaffected(IssueSnapshot snapshot, ValidCertificateSpec valid) =>
        snapshot.HasMaterial && snapshot.IssuedFor is { } issuedFor && !CertificatePolicy.AffectsCertificate(issuedFor, snapshot.Spec)
            ? snapshot.Trigger == IssueTrigger.Apply ? new IssueOutcome.MoveRenewalTime(valid) : new IssueOutcome.NothingToDo()
            : null;
}
