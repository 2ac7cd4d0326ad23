using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Policies.Tests;

/// <summary>The issue decision both paths of a Certificate call, check by check (pure: no cluster).</summary>
public sealed class IssueDecisionTests
{
    private static readonly CertificateSpec Spec = new() { Type = "Private", Fqdn = "a.ns.svc", Duration = "2160h" };
    private static readonly CertificateSpec OnlyRenewBeforeChanged = Spec with { RenewBefore = "240h" };
    private static readonly CertificateSpec OtherFqdn = Spec with { Fqdn = "b.ns.svc" };
    private static readonly Problem UnknownIssuer = new(Reasons.UnknownIssuer, "spec.issuer \"x\" is not configured");

    private static IssueSnapshot Snapshot(
        IssueTrigger trigger,
        CertificateSpec? spec = null,
        bool hasMaterial = false,
        CertificateSpec? issuedFor = null,
        PendingIssuance? pending = null,
        bool unreconciled = true,
        bool alreadyApplied = false,
        Problem? issuerProblem = null) =>
        new(trigger, spec ?? Spec, hasMaterial, issuedFor, pending, unreconciled, alreadyApplied, issuerProblem);

    private static PendingIssuance Pending(IssuePurpose purpose = IssuePurpose.Renew, CertificateSpec? spec = null) => new()
    {
        Ticket = "ticket-1",
        Purpose = purpose,
        For = spec ?? Spec,
        Origin = new ResourceVersionInfo("uid-1", 1),
        EventReason = "Renewed",
        Why = "its renewal time came",
    };

    [Fact]
    public void A_resync_of_what_was_applied_only_publishes_again_even_when_the_spec_is_invalid() =>
        Assert.IsType<IssueOutcome.AlreadyApplied>(IssueDecision.Decide(Snapshot(IssueTrigger.Apply, spec: Spec with { Type = "Bogus" }, alreadyApplied: true, issuerProblem: UnknownIssuer)));

    [Fact]
    public void A_continuation_ignores_already_applied_and_decides_on_the_state() =>
        Assert.IsType<IssueOutcome.NothingToDo>(IssueDecision.Decide(Snapshot(IssueTrigger.Continue, alreadyApplied: true, unreconciled: false)));

    [Theory]
    [InlineData(IssueTrigger.Apply)]
    [InlineData(IssueTrigger.Continue)]
    public void An_invalid_spec_is_not_ready_with_the_validation_problem_before_the_issuer_problem(IssueTrigger trigger)
    {
        var outcome = Assert.IsType<IssueOutcome.NotReady>(IssueDecision.Decide(Snapshot(trigger, spec: Spec with { Duration = "1m" }, pending: Pending(), issuerProblem: UnknownIssuer)));
        Assert.Equal(Reasons.InvalidSpec, outcome.Problem.Reason);
        Assert.Contains("spec.duration", outcome.Problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(IssueTrigger.Apply)]
    [InlineData(IssueTrigger.Continue)]
    public void A_valid_spec_whose_issuer_cannot_issue_it_is_not_ready_with_the_issuer_problem(IssueTrigger trigger)
    {
        var outcome = Assert.IsType<IssueOutcome.NotReady>(IssueDecision.Decide(Snapshot(trigger, hasMaterial: true, issuedFor: Spec, pending: Pending(), issuerProblem: UnknownIssuer)));
        Assert.Same(UnknownIssuer, outcome.Problem);
    }

    [Fact]
    public void The_first_apply_issues_because_the_certificate_was_created()
    {
        var issue = Assert.IsType<IssueOutcome.Issue>(IssueDecision.Decide(Snapshot(IssueTrigger.Apply)));
        Assert.Equal((IssuePurpose.Issue, "Issued", "the certificate was created"), (issue.Purpose, issue.EventReason, issue.Why));
        Assert.Equal(TimeSpan.FromHours(2160), issue.Valid.Lifetime);
    }

    [Fact]
    public void An_apply_that_changes_the_certificate_reissues_because_the_spec_changed()
    {
        var issue = Assert.IsType<IssueOutcome.Issue>(IssueDecision.Decide(Snapshot(IssueTrigger.Apply, spec: OtherFqdn, hasMaterial: true, issuedFor: Spec)));
        Assert.Equal((IssuePurpose.Issue, "Reissued", "the spec changed"), (issue.Purpose, issue.EventReason, issue.Why));
    }

    [Fact]
    public void An_apply_with_material_but_no_record_of_its_spec_reissues() =>
        Assert.Equal("Reissued", Assert.IsType<IssueOutcome.Issue>(IssueDecision.Decide(Snapshot(IssueTrigger.Apply, hasMaterial: true, issuedFor: null))).EventReason);

    [Fact]
    public void An_apply_that_changes_only_renew_before_moves_the_renewal_time()
    {
        var move = Assert.IsType<IssueOutcome.MoveRenewalTime>(IssueDecision.Decide(Snapshot(IssueTrigger.Apply, spec: OnlyRenewBeforeChanged, hasMaterial: true, issuedFor: Spec, unreconciled: false)));
        Assert.Equal(TimeSpan.FromHours(240), move.Valid.RenewBefore);
    }

    [Fact]
    public void An_apply_without_material_issues_even_if_a_spec_is_recorded_as_issued_for() =>
        Assert.Equal("Issued", Assert.IsType<IssueOutcome.Issue>(IssueDecision.Decide(Snapshot(IssueTrigger.Apply, hasMaterial: false, issuedFor: Spec, unreconciled: false))).EventReason);

    [Fact]
    public void An_apply_issues_for_its_own_purpose_while_an_issuance_is_in_progress()
    {
        // Apply never continues a pending renewal as such: IssueAsync abandons it (see Abandons).
        var issue = Assert.IsType<IssueOutcome.Issue>(IssueDecision.Decide(Snapshot(IssueTrigger.Apply, spec: OtherFqdn, hasMaterial: true, issuedFor: Spec, pending: Pending())));
        Assert.Equal((IssuePurpose.Issue, "Reissued"), (issue.Purpose, issue.EventReason));
    }

    [Fact]
    public void A_continuation_carries_on_the_issuance_in_progress_for_its_purpose()
    {
        var issue = Assert.IsType<IssueOutcome.Issue>(IssueDecision.Decide(Snapshot(IssueTrigger.Continue, hasMaterial: true, issuedFor: Spec, pending: Pending(IssuePurpose.Renew), unreconciled: false)));
        Assert.Equal((IssuePurpose.Renew, "Renewed", "its renewal time came"), (issue.Purpose, issue.EventReason, issue.Why));
    }

    [Fact]
    public void A_continuation_with_nothing_in_progress_and_the_apply_reconciled_does_nothing() =>
        Assert.IsType<IssueOutcome.NothingToDo>(IssueDecision.Decide(Snapshot(IssueTrigger.Continue, hasMaterial: false, unreconciled: false)));

    [Fact]
    public void A_continuation_of_an_unfinished_first_apply_issues_because_the_certificate_was_created()
    {
        var issue = Assert.IsType<IssueOutcome.Issue>(IssueDecision.Decide(Snapshot(IssueTrigger.Continue, unreconciled: true)));
        Assert.Equal((IssuePurpose.Issue, "Issued", "the certificate was created"), (issue.Purpose, issue.EventReason, issue.Why));
    }

    [Fact]
    public void A_continuation_of_an_unfinished_changing_apply_reissues() =>
        Assert.Equal("Reissued", Assert.IsType<IssueOutcome.Issue>(IssueDecision.Decide(Snapshot(IssueTrigger.Continue, spec: OtherFqdn, hasMaterial: true, issuedFor: Spec))).EventReason);

    [Fact]
    public void A_continuation_of_an_unfinished_apply_with_material_but_no_record_of_its_spec_reissues() =>
        Assert.Equal("Reissued", Assert.IsType<IssueOutcome.Issue>(IssueDecision.Decide(Snapshot(IssueTrigger.Continue, hasMaterial: true, issuedFor: null))).EventReason);

    [Fact]
    public void A_continuation_of_an_unfinished_apply_that_left_the_certificate_as_it_is_does_nothing() =>
        Assert.IsType<IssueOutcome.NothingToDo>(IssueDecision.Decide(Snapshot(IssueTrigger.Continue, spec: OnlyRenewBeforeChanged, hasMaterial: true, issuedFor: Spec)));

    [Fact]
    public void A_snapshot_is_required() =>
        Assert.Throws<ArgumentNullException>(() => IssueDecision.Decide(null!));

    [Fact]
    public void No_pending_issuance_is_never_abandoned() =>
        Assert.False(IssueDecision.Abandons(null, IssuePurpose.Issue, Spec));

    [Fact]
    public void The_same_purpose_for_the_same_spec_continues() =>
        Assert.False(IssueDecision.Abandons(Pending(IssuePurpose.Renew), IssuePurpose.Renew, Spec));

    [Fact]
    public void Another_purpose_abandons() =>
        Assert.True(IssueDecision.Abandons(Pending(IssuePurpose.Renew), IssuePurpose.Rotate, Spec));

    [Fact]
    public void A_spec_changed_in_what_the_certificate_contains_abandons() =>
        Assert.True(IssueDecision.Abandons(Pending(IssuePurpose.Issue), IssuePurpose.Issue, OtherFqdn));

    [Fact]
    public void A_spec_changed_only_in_renew_before_abandons_too() =>
        // SameSpec compares renewBefore as well: a pending issuance is for exactly one spec.
        Assert.True(IssueDecision.Abandons(Pending(IssuePurpose.Issue), IssuePurpose.Issue, OnlyRenewBeforeChanged));

    [Fact]
    public void An_equal_spec_in_another_instance_continues() =>
        Assert.False(IssueDecision.Abandons(Pending(IssuePurpose.Issue), IssuePurpose.Issue, Spec with { Alt = [] }));

    [Theory]
    [InlineData("uid-1", 5, "uid-1", 4, true)]
    [InlineData("uid-1", 5, "uid-1", 5, false)]
    [InlineData("uid-1", 5, "uid-1", 6, false)]
    [InlineData("uid-1", 5, "uid-2", 1, false)]
    public void An_older_generation_of_the_same_object_is_stale(string heldUid, long heldGeneration, string appliedUid, long appliedGeneration, bool stale) =>
        Assert.Equal(stale, StaleGeneration.IsStale(new ResourceVersionInfo(heldUid, heldGeneration), new ResourceVersionInfo(appliedUid, appliedGeneration)));

    [Fact]
    public void Nothing_applied_yet_is_never_stale() =>
        Assert.False(StaleGeneration.IsStale(null, new ResourceVersionInfo("uid-1", 0)));
}
