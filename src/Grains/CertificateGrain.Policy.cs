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
    /// Evaluates the name policy for the current spec (one that fails validation or names no
    /// configured issuer is left to those checks). A refusal registers the certificate with the
    /// policy grain before it is final, so that a policy applied meanwhile wakes it.
    /// </summary>
    private async Task EvaluatePolicyAsync()
    {
        var spec = State.Spec;
        _policyFor = spec;
        _policyProblem = null;
        if (spec is null || CertificatePolicy.Validate(spec).Valid is not { } valid || issuers.Resolve(spec.Issuer) is not { } issuer)
        {
            return;
        }

        var request = new NameRequest(_resource.Namespace, spec.Type, [spec.Fqdn, .. spec.Alt], issuer.Name, valid.Lifetime, valid.Key.Algorithm);
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

    private const string KubernetesNamespaceNameLabel = "kubernetes.io/metadata.name";

    private ICertificatePolicyGrain PolicyGrain => GrainFactory.GetGrain<ICertificatePolicyGrain>(ICertificatePolicyGrain.ClusterKey);

    private bool IsPolicyDenied() =>
        State.Conditions.Any(c => c.Type == Conditions.Ready && c.Status == Conditions.False && c.Reason == Reasons.PolicyDenied);
}
