using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

// The name policy (NamePolicy) of this certificate: evaluated before every issuance (apply,
// continuation, renewal, re-issue), against the CertificatePolicies the policy grain holds and
// the labels of the certificate's namespace. A refused certificate is Ready=False/PolicyDenied
// (with a Warning Event, through NotReadyAsync) and waits in the policy grain, which wakes it on
// the next policy change. An issued certificate is never revoked by a policy change: the policy
// decides its next issuance.
public sealed partial class CertificateGrain : ICertificatePolicySubscriber
{
    // The verdict for the spec it was evaluated for (in memory: every path that may issue
    // evaluates first). Null: allowed, or not evaluated yet.
    private Problem? _policyProblem;
    private CertificateSpec? _policyFor;

    // Whether this certificate is (as far as this activation knows) in the policy grain's waiting set.
    private bool _waitingForPolicy;

    /// <summary>The policy's refusal of the current spec, as last evaluated; null when allowed (or not evaluated).</summary>
    private Problem? PolicyProblem() => ReferenceEquals(_policyFor, State.Spec) ? _policyProblem : null;

    /// <summary>
    /// The policy's refusal for an issuance of <paramref name="purpose"/>: none for a rotate of
    /// exactly what the current certificate was issued for (a breach rotate replaces the key, not
    /// the names; a policy tightened since issuance decides the next renewal or spec change).
    /// </summary>
    private Problem? PolicyProblem(IssuePurpose? purpose) => RotatesIssuedNames(purpose) ? null : PolicyProblem();

    /// <summary>Whether an issuance of <paramref name="purpose"/> is a rotate of exactly the names (and all else) the current certificate holds.</summary>
    private bool RotatesIssuedNames(IssuePurpose? purpose) =>
        purpose == IssuePurpose.Rotate && State.Spec is not null && State.Material is not null && State.IssuedFor is not null
        && !CertificatePolicy.AffectsCertificate(State.IssuedFor, State.Spec);

    /// <summary>
    /// Evaluates the name policy for the current spec (one that fails validation or names no
    /// configured issuer is left to those checks). A refusal registers the certificate with the
    /// policy grain before it is final, so that a policy applied meanwhile wakes it.
    /// </summary>
    private async Task EvaluatePolicyAsync()
    {
        var spec = State.Spec;
        _policyFor = spec;
        _policyProblem = null;
        if (spec is null || CertificatePolicy.Validate(spec).Valid is not { } valid || PolicyIssuerName(spec) is not { } issuerName)
        {
            return;
        }

        var request = new NameRequest(_resource.Namespace, spec.Type, [spec.Fqdn, .. spec.Alt], issuerName, valid.Lifetime, valid.Key.Algorithm);
        var domain = ServiceProvider.GetService<IOptions<PolicyOptions>>()?.Value.ClusterDomain ?? NamePolicy.DefaultClusterDomain;
        var labelSource = ServiceProvider.GetService<INamespaceLabelSource>();
        var labels = labelSource is null
            ? new Dictionary<string, string> { [KubernetesNamespaceNameLabel] = _resource.Namespace }
            : await labelSource.GetLabelsAsync(_resource.Namespace, CancellationToken.None) ?? new Dictionary<string, string>();
        // Which namespaces named by two-label names (SERVICE.NAMESPACE) exist; without a label
        // source only the certificate's own is known.
        var existing = new HashSet<string>(StringComparer.Ordinal) { _resource.Namespace };
        foreach (var candidate in NamePolicy.TwoLabelNamespaces(request.Names))
        {
            if (labelSource is not null && await labelSource.GetLabelsAsync(candidate, CancellationToken.None) is not null)
            {
                existing.Add(candidate);
            }
        }

        var policies = PolicyGrain;
        var problem = NamePolicy.Check(request, labels, await policies.GetPoliciesAsync(), domain, existing.Contains);
        var key = _resource.ToString();
        if (problem is not null)
        {
            await policies.WaitAsync(key);
            _waitingForPolicy = true;
            problem = NamePolicy.Check(request, labels, await policies.GetPoliciesAsync(), domain, existing.Contains);
        }

        if (problem is null && (_waitingForPolicy || IsPolicyDenied()))
        {
            await policies.StopWaitingAsync(key);
            _waitingForPolicy = false;
        }

        _policyProblem = problem;
    }

    /// <summary>A CertificatePolicy was applied, changed or deleted: a certificate it refused evaluates again and is issued when allowed.</summary>
    public async Task OnPoliciesChangedAsync()
    {
        _waitingForPolicy = true;
        if (State.Spec is null || State.Origin is null)
        {
            await PolicyGrain.StopWaitingAsync(_resource.ToString());
            _waitingForPolicy = false;
            return;
        }

        if (!IsPolicyDenied())
        {
            // An issued certificate whose renewal the policies refused: renew now when it is
            // due (the lifecycle evaluates again); otherwise only stop waiting once allowed.
            if (State.Material is not null && State.Pending is null && State.RenewalTime is { } renewal && renewal <= time.GetUtcNow())
            {
                await RunLifecycleAsync();
            }
            else
            {
                await EvaluatePolicyAsync();
            }

            return;
        }

        await EvaluatePolicyAsync();
        switch (Decide(IssueTrigger.Apply))
        {
            case IssueOutcome.NotReady notReady:
                await NotReadyAsync(notReady.Problem);
                break;
            case IssueOutcome.Issue issue:
                await IssueAsync(issue.Valid, issue.Purpose, issue.EventReason, issue.Why);
                break;
            default:
                // The current certificate already holds the spec (refused after it was issued):
                // valid again as it is, and the lifecycle renews it as planned.
                if (HasValidMaterial())
                {
                    SetReady(Reasons.Issued, $"Certificate is valid until {State.Material!.NotAfter:O}.");
                    await SaveAsync();
                }

                await PublishAsync();
                break;
        }
    }

    /// <summary>
    /// A due renewal the spec or the name policy refuses (README "Name policy"): Issuing=False
    /// with the refusal's reason (PolicyDenied), and one RenewalFailed alert (a Warning Event and
    /// the alert sink) with its message, not one per lifecycle tick: only when the refusal is new
    /// or its message changed. The certificate stays Ready while valid; the policy grain wakes it
    /// (it waits there) when a policy change may allow the renewal.
    /// </summary>
    private async Task RenewalRefusedAsync()
    {
        if (State.Spec is null || State.Material is not { } material || SpecProblem(State.Spec, out _, IssuePurpose.Renew) is not { } problem)
        {
            return;
        }

        var message = $"Renewal refused: {problem.Message} The current certificate stays in use until {material.NotAfter:O}.";
        if (!ConditionList.Set(State.Conditions, Conditions.Issuing, Conditions.False, problem.Reason, message, time.GetUtcNow(), State.Origin?.Generation ?? 0))
        {
            return;
        }

        await SaveAsync();
        await PublishAsync();
        await AlertAsync(Reasons.RenewalFailed, message);
    }

    private const string KubernetesNamespaceNameLabel = "kubernetes.io/metadata.name";

    private ICertificatePolicyGrain PolicyGrain => GrainFactory.GetGrain<ICertificatePolicyGrain>(ICertificatePolicyGrain.ClusterKey);

    private bool IsPolicyDenied() =>
        State.Conditions.Any(c => c.Type == Conditions.Ready && c.Status == Conditions.False && c.Reason == Reasons.PolicyDenied);
}
