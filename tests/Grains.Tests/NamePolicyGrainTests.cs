using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Tests;

/// <summary>
/// The name policy in the grains: a refused Certificate never reaches its issuer, is
/// Ready=False/PolicyDenied with a Warning Event, and is issued as soon as a CertificatePolicy
/// allows it, woken by the policy change (no retry timer).
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class NamePolicyGrainTests(ClusterFixture fx)
{
    private static ResourceVersionInfo V(long generation, string uid = "uid-1") => new(uid, generation);

    // The stepping issuer (ACM-like) records every request, so "no issuer call at all" is observable per resource.
    private static CertificateSpec Cert(string fqdn, string type = "Private", string[]? alt = null) =>
        new() { Type = type, Fqdn = fqdn, Alt = alt ?? [], Issuer = "stepping", KeyAlgorithm = "ECDSA", KeySize = 256 };

    private ICertificateGrain CertGrain(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private ICertificatePolicyGrain Policies => fx.Grains.GetGrain<ICertificatePolicyGrain>(ICertificatePolicyGrain.ClusterKey);

    private int IssuerCalls(ResourceKey key) => fx.Stepping.Calls.Count(c => c.Resource == key);

    private static CertificatePolicySpec For(string ns) => new()
    {
        NamespaceSelector = new LabelSelector { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns } },
    };

    [Fact]
    public async Task An_impostor_for_another_namespaces_service_is_denied_without_an_issuer_call_then_issued_when_a_policy_allows_it()
    {
        var intruder = ClusterFixture.NewNamespace();
        var victim = ClusterFixture.NewNamespace();
        var key = new ResourceKey(intruder, "orders");
        var fqdn = $"orders.{victim}.svc.cluster.local";

        var denied = await CertGrain(key).ApplyAsync(Cert(fqdn), V(1));

        var ready = denied.Condition(Conditions.Ready)!;
        Assert.Equal((Conditions.False, Reasons.PolicyDenied), (ready.Status, ready.Reason));
        Assert.Equal(
            $"dnsName \"{fqdn}\" is refused by the default policy: in-cluster service names are only for their own namespace ({victim}, not {intruder}).",
            ready.Message);
        Assert.Null(denied.SerialNumber);
        Assert.Equal(0, IssuerCalls(key));
        var warning = Assert.Single(fx.Events.For(key), e => e.Reason == Reasons.PolicyDenied);
        Assert.Equal(EventSeverity.Warning, warning.Severity);
        Assert.Contains(fqdn, warning.Message, StringComparison.Ordinal);
        Assert.Equal(Reasons.PolicyDenied, fx.Status.Certificate(key)?.Condition(Conditions.Ready)?.Reason);

        // A resync changes nothing: still no issuer call.
        await CertGrain(key).ApplyAsync(Cert(fqdn), V(1));
        Assert.Equal(0, IssuerCalls(key));

        // A policy for another namespace does not help, and wakes it to say so again (no issuance).
        await Policies.ApplyAsync($"other-{intruder}", For(victim) with { DnsNames = [fqdn] }, V(1, $"other-{intruder}"));
        // A policy allowing it: issued with no further apply of the Certificate.
        await Policies.ApplyAsync($"allow-{intruder}", For(intruder) with { DnsNames = [$"orders.{victim}.svc.cluster.local"] }, V(1, $"allow-{intruder}"));

        var issued = await fx.Status.WaitCertificateAsync(key, s => s.IsReady, "Ready=True after the policy allowed it");
        Assert.NotNull(issued.SerialNumber);
        Assert.True(IssuerCalls(key) > 0);
        Assert.Contains(fx.Events.For(key), e => e.Reason == "Issued");

        // An issued certificate is not revoked when the policy goes: the policy decides its next issuance.
        await Policies.DeleteAsync($"allow-{intruder}");
        await Policies.DeleteAsync($"other-{intruder}");
        var after = await CertGrain(key).GetStatusAsync();
        Assert.True(after!.IsReady);
        Assert.Equal(issued.SerialNumber, after.SerialNumber);
    }

    [Fact]
    public async Task A_public_certificate_is_denied_by_default_with_no_ACM_like_request_and_issued_once_a_policy_lists_Public()
    {
        var ns = ClusterFixture.NewNamespace();
        var key = new ResourceKey(ns, "web");
        var fqdn = $"web.{ns}.example.com";

        var denied = await CertGrain(key).ApplyAsync(Cert(fqdn, type: "Public"), V(1));

        Assert.Equal(Reasons.PolicyDenied, denied.Condition(Conditions.Ready)?.Reason);
        Assert.StartsWith("type \"Public\" is refused by the default policy", denied.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.Equal(0, IssuerCalls(key));

        await Policies.ApplyAsync($"public-{ns}", For(ns) with { Types = ["Public"] }, V(1, $"public-{ns}"));

        await fx.Status.WaitCertificateAsync(key, s => s.IsReady, "Ready=True after Public was allowed");
        Assert.True(IssuerCalls(key) > 0);
        await Policies.DeleteAsync($"public-{ns}");
    }

    [Fact]
    public async Task A_wildcard_or_an_alt_name_of_another_namespace_is_denied_naming_it()
    {
        var ns = ClusterFixture.NewNamespace();
        var wildcard = new ResourceKey(ns, "wild");
        var alt = new ResourceKey(ns, "alt");

        var wild = await CertGrain(wildcard).ApplyAsync(Cert($"*.{ns}.svc.cluster.local"), V(1));
        var other = await CertGrain(alt).ApplyAsync(Cert($"alt.{ns}.svc.cluster.local", alt: ["x.example.com", "api.kube-system.svc"]), V(1));

        Assert.Contains("wildcard names are not allowed", wild.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.StartsWith("dnsName \"api.kube-system.svc\" is refused by the default policy", other.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.Equal(0, IssuerCalls(wildcard) + IssuerCalls(alt));
    }

    [Fact]
    public async Task A_policy_restricting_issuers_refuses_a_certificate_the_default_allows_and_a_changed_spec_is_issued()
    {
        var ns = ClusterFixture.NewNamespace();
        var key = new ResourceKey(ns, "api");
        var fqdn = $"api.{ns}.svc.cluster.local";
        await Policies.ApplyAsync($"acm-only-{ns}", For(ns) with { Issuers = ["acm"] }, V(1, $"acm-only-{ns}"));
        try
        {
            var denied = await CertGrain(key).ApplyAsync(Cert(fqdn), V(1));
            Assert.Equal(
                $"issuer \"stepping\" is refused by CertificatePolicy \"acm-only-{ns}\": its issuers are acm.",
                denied.Condition(Conditions.Ready)?.Message);
            Assert.Equal(0, IssuerCalls(key));

            // The policy changes to allow the stepping issuer: woken and issued.
            await Policies.ApplyAsync($"acm-only-{ns}", For(ns) with { Issuers = ["acm", "stepping"] }, V(2, $"acm-only-{ns}"));
            await fx.Status.WaitCertificateAsync(key, s => s.IsReady, "Ready=True after the policy changed");
        }
        finally
        {
            await Policies.DeleteAsync($"acm-only-{ns}");
        }
    }

    [Fact]
    public async Task A_denied_certificate_that_is_deleted_stops_waiting_and_a_policy_change_issues_nothing_for_it()
    {
        var intruder = ClusterFixture.NewNamespace();
        var key = new ResourceKey(intruder, "gone");
        var fqdn = $"gone.{ClusterFixture.NewNamespace()}.svc";
        await CertGrain(key).ApplyAsync(Cert(fqdn), V(1));
        await CertGrain(key).DeleteAsync();

        await Policies.ApplyAsync($"late-{intruder}", For(intruder) with { DnsNames = [fqdn] }, V(1, $"late-{intruder}"));
        Assert.Null(await CertGrain(key).GetStatusAsync());
        Assert.Equal(0, IssuerCalls(key));
        await Policies.DeleteAsync($"late-{intruder}");
    }

    [Fact]
    public async Task A_policy_missing_from_the_watchers_list_or_held_under_another_uid_is_deleted_and_the_others_stay()
    {
        var ns = ClusterFixture.NewNamespace();
        var (gone, kept, recreated) = ($"gone-{ns}", $"kept-{ns}", $"recreated-{ns}");
        var key = new ResourceKey(ns, "web");
        await Policies.ApplyAsync(gone, For(ns) with { Types = ["Public"] }, V(1, "uid-gone"));
        await Policies.ApplyAsync(kept, For(ns) with { DnsNames = ["*.kept.example.com"] }, V(1, "uid-kept"));
        await Policies.ApplyAsync(recreated, For(ns) with { DnsNames = ["*.recreated.example.com"] }, V(1, "uid-old"));
        try
        {
            var existing = (await Policies.GetPoliciesAsync()).Select(p => p.Name)
                .Where(n => n != gone && n != recreated).ToDictionary(n => n, n => n == kept ? "uid-kept" : "uid-unknown", StringComparer.Ordinal);
            existing[recreated] = "uid-new";

            await Policies.PruneAsync(existing);

            var names = (await Policies.GetPoliciesAsync()).Select(p => p.Name).ToList();
            Assert.DoesNotContain(gone, names);
            Assert.DoesNotContain(recreated, names);
            Assert.Contains(kept, names);
            // The deleted permissive policy no longer lets the namespace have Public certificates.
            var denied = await CertGrain(key).ApplyAsync(Cert($"web.{ns}.example.com", type: "Public"), V(1));
            Assert.Equal(Reasons.PolicyDenied, denied.Condition(Conditions.Ready)?.Reason);
            Assert.Equal(0, IssuerCalls(key));
        }
        finally
        {
            await Policies.DeleteAsync(gone);
            await Policies.DeleteAsync(kept);
            await Policies.DeleteAsync(recreated);
        }
    }

    [Fact]
    public async Task An_invalid_policy_is_Ready_False_InvalidPolicy_and_ignored_a_valid_one_Ready_True()
    {
        var ns = ClusterFixture.NewNamespace();
        var name = $"invalid-{ns}";
        await Policies.ApplyAsync(name, For(ns) with { DnsNames = ["a..b"], Types = ["Public"] }, V(1, name));
        try
        {
            var ready = fx.PolicyStatus.Ready(name)!;
            Assert.Equal((Conditions.False, "InvalidPolicy"), (ready.Status, ready.Reason));
            Assert.Equal("The policy is ignored: spec.dnsNames[0] \"a..b\" is not a valid pattern: label \"\" is not a lowercase DNS label, \"*\" or a leading \"**\".", ready.Message);

            // Ignored: it does not let the namespace have Public certificates, and says so.
            var key = new ResourceKey(ns, "web");
            var denied = await CertGrain(key).ApplyAsync(Cert($"web.{ns}.example.com", type: "Public"), V(1));
            Assert.Contains($"(CertificatePolicy \"{name}\" is invalid and ignored: ", denied.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);

            // Fixed: applied, and the refused certificate is issued.
            await Policies.ApplyAsync(name, For(ns) with { Types = ["Public"] }, V(2, name));
            Assert.Equal((Conditions.True, "Applied"), (fx.PolicyStatus.Ready(name)!.Status, fx.PolicyStatus.Ready(name)!.Reason));
            await fx.Status.WaitCertificateAsync(key, s => s.IsReady, "Ready=True once the policy was fixed");
        }
        finally
        {
            await Policies.DeleteAsync(name);
        }
    }
}
