using Notary.Grains.Abstractions;

namespace Notary.Grains.Policies.Tests;

/// <summary>The name policy, rule by rule: the default policy, CertificatePolicies, how they combine (pure: no cluster).</summary>
public sealed class NamePolicyTests
{
    private const string Domain = "cluster.local";

    private static NameRequest Request(string ns, string fqdn, string[]? alt = null, string type = "Private", string issuer = "builtin", double days = 90, string key = "RSA") =>
        new(ns, type, [fqdn, .. alt ?? []], issuer, TimeSpan.FromDays(days), key);

    private static Dictionary<string, string> Labels(string ns, params (string Key, string Value)[] more)
    {
        var labels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns };
        foreach (var (key, value) in more)
        {
            labels[key] = value;
        }

        return labels;
    }

    private static NamedCertificatePolicy Policy(string name, CertificatePolicySpec spec) => new(name, spec);

    private static LabelSelector ForNamespace(string ns) => new() { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns } };

    private static Problem? Default(NameRequest request, string domain = Domain) => NamePolicy.Check(request, Labels(request.Namespace), [], domain);

    public static TheoryData<string, string, string?> DefaultNames => new()
    {
        // namespace, name, expected refusal fragment (null: allowed)
        { "team-a", "api.team-a.svc.cluster.local", null },
        { "team-a", "api.team-a.svc", null },
        { "team-a", "api.team-a", null },
        { "team-a", "API.Team-A.SVC.cluster.local.", null },
        { "team-a", "pod.api.team-a.svc.cluster.local", null },
        { "team-a", "api", null },
        { "team-a", "api.example.com", null },
        { "team-a", "orders.internal.example", null },
        { "team-a", "api.team-a.cluster.local", null },
        { "team-a", "api.kube-system.svc.cluster.local", "in-cluster service names are only for their own namespace (kube-system, not team-a)" },
        { "team-a", "api.kube-system.svc", "(kube-system, not team-a)" },
        { "team-a", "api.kube-system", "(kube-system, not team-a)" },
        { "team-a", "pod.api.orders.svc.cluster.local", "(orders, not team-a)" },
        { "team-a", "example.com", "(com, not team-a)" },
        { "team-a", "svc.cluster.local", "the cluster's service domain itself" },
        { "team-a", "svc", "the cluster's service domain itself" },
        { "team-a", "cluster.local", "(local, not team-a)" },
        { "team-a", "*", "wildcard names are not allowed" },
        { "team-a", "*.team-a.svc.cluster.local", "wildcard names are not allowed" },
        { "team-a", "*.example.com", "wildcard names are not allowed" },
    };

    [Theory]
    [MemberData(nameof(DefaultNames))]
    public void The_default_policy_keeps_in_cluster_names_to_their_namespace_and_refuses_wildcards(string ns, string name, string? refusal)
    {
        var problem = Default(Request(ns, name));
        if (refusal is null)
        {
            Assert.Null(problem);
            return;
        }

        Assert.NotNull(problem);
        Assert.Equal(Reasons.PolicyDenied, problem.Reason);
        Assert.StartsWith($"dnsName \"{name}\" is refused by the default policy: ", problem.Message, StringComparison.Ordinal);
        Assert.Contains(refusal, problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api.payments", true, "payments")]
    [InlineData("pay.internal", false, null)]
    [InlineData("example.com", false, null)]
    [InlineData("api.payments.svc", false, "payments")]
    public void A_two_label_name_is_in_cluster_only_when_its_namespace_exists(string name, bool exists, string? owner)
    {
        var known = exists ? new HashSet<string> { name.Split('.')[^1] } : [];
        Assert.Equal(owner, NamePolicy.InClusterNamespace(name, Domain, out var inCluster, known.Contains));
        Assert.Equal(owner is not null, inCluster);
        Assert.Equal(owner is null, NamePolicy.Check(Request("team-a", name), Labels("team-a"), [], Domain, known.Contains) is null);
    }

    [Fact]
    public void The_namespaces_of_two_label_names_are_listed_for_lookup() =>
        Assert.Equal(["payments", "internal"], NamePolicy.TwoLabelNamespaces(["api.payments", "a.b.c", "x.payments", "Pay.Internal.", "single"]));

    [Fact]
    public void The_refusal_message_names_the_name_the_rule_and_both_namespaces() =>
        Assert.Equal(
            "dnsName \"api.kube-system.svc.cluster.local\" is refused by the default policy: in-cluster service names are only for their own namespace (kube-system, not team-a).",
            Default(Request("team-a", "api.kube-system.svc.cluster.local"))!.Message);

    [Fact]
    public void Every_alt_name_is_checked_and_the_refused_one_is_named()
    {
        var problem = Default(Request("team-a", "api.team-a.svc.cluster.local", ["api.example.com", "ledger.ledger.svc"]));
        Assert.StartsWith("dnsName \"ledger.ledger.svc\" is refused", problem!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("corp.internal", "api.orders.svc.corp.internal", "orders")]
    [InlineData("corp.internal", "api.orders.svc.cluster.local", null)]
    [InlineData("Corp.Internal.", "api.orders.svc.corp.internal", "orders")]
    [InlineData("", "api.orders.svc.cluster.local", "orders")]
    public void The_cluster_domain_is_configurable(string domain, string name, string? owner)
    {
        Assert.Equal(owner, NamePolicy.InClusterNamespace(name, domain, out var inCluster));
        Assert.Equal(owner is not null, inCluster);
    }

    [Fact]
    public void Public_is_refused_by_default()
    {
        var problem = Default(Request("team-a", "api.example.com", type: "Public"));
        Assert.Equal("type \"Public\" is refused by the default policy: only Private certificates are allowed unless a CertificatePolicy lists the type in spec.types.", problem!.Message);
    }

    [Fact]
    public void The_default_policy_sets_no_limit_on_issuer_duration_or_key() =>
        Assert.Null(Default(Request("team-a", "api.team-a.svc", issuer: "acm", days: 3650, key: "ECDSA")));

    public static TheoryData<string, string, bool> Patterns => new()
    {
        { "*.example.com", "api.example.com", true },
        { "*.example.com", "a.b.example.com", false },
        { "*.example.com", "example.com", false },
        { "*.example.com", "*.example.com", true },
        { "**.example.com", "a.b.example.com", true },
        { "**.example.com", "api.example.com", true },
        { "**.example.com", "example.com", false },
        { "orders.orders.svc.cluster.local", "ORDERS.orders.svc.cluster.local", true },
        { "orders.*.svc.cluster.local", "orders.intruder.svc.cluster.local", true },
        { "orders.*.svc.cluster.local", "ledger.intruder.svc.cluster.local", false },
        { "api.example.com", "api.example.com.", true },
    };

    [Theory]
    [MemberData(nameof(Patterns))]
    public void DnsNames_patterns_match_label_by_label(string pattern, string name, bool matches) =>
        Assert.Equal(matches, NamePolicy.Matches(pattern, name));

    [Theory]
    [InlineData("*.example.com", null)]
    [InlineData("**.example.com", null)]
    [InlineData("a.*.svc", null)]
    [InlineData("", "it is empty")]
    [InlineData("**", "would allow every name")]
    [InlineData("a.**.com", "may only be the first label")]
    [InlineData("a..com", "label \"\" is not")]
    [InlineData("API.example.com", "label \"API\" is not")]
    [InlineData("a*.example.com", "label \"a*\" is not")]
    [InlineData("-a.example.com", "label \"-a\" is not")]
    public void Invalid_patterns_are_named(string pattern, string? problem)
    {
        var found = NamePolicy.PatternProblem(pattern);
        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_policy_pattern_lets_a_namespace_have_another_namespaces_in_cluster_name()
    {
        var request = Request("intruder", "orders.orders.svc.cluster.local");
        var allow = Policy("orders-for-intruder", new() { NamespaceSelector = ForNamespace("intruder"), DnsNames = ["orders.orders.svc.cluster.local"] });
        Assert.Null(NamePolicy.Check(request, Labels("intruder"), [allow], Domain));
        // Only for the namespace it selects.
        Assert.NotNull(NamePolicy.Check(request with { Namespace = "other" }, Labels("other"), [allow], Domain));
        Assert.NotNull(NamePolicy.Check(request, Labels("intruder"), [], Domain));
    }

    [Fact]
    public void A_selecting_policy_that_does_not_allow_a_name_names_itself_and_the_rule()
    {
        var other = Policy("team-a-extra", new() { NamespaceSelector = ForNamespace("team-a"), DnsNames = ["*.example.com"] });
        var problem = NamePolicy.Check(Request("team-a", "api.kube-system.svc"), Labels("team-a"), [other], Domain);
        Assert.Equal(
            "dnsName \"api.kube-system.svc\" is refused by CertificatePolicy \"team-a-extra\": no spec.dnsNames pattern matches it, and in-cluster service names are only for their own namespace (kube-system, not team-a).",
            problem!.Message);
    }

    [Fact]
    public void A_selecting_policy_keeps_the_default_name_rule_for_names_it_does_not_list()
    {
        var policy = Policy("p", new() { DnsNames = ["*.example.com"] });
        Assert.Null(NamePolicy.Check(Request("team-a", "api.team-a.svc", ["x.example.com", "other.example.org"]), Labels("team-a"), [policy], Domain));
    }

    [Fact]
    public void Wildcards_need_a_policy_that_allows_them_and_the_name_itself()
    {
        var wildcards = Policy("w", new() { Wildcards = true });
        Assert.Null(NamePolicy.Check(Request("team-a", "*.team-a.svc.cluster.local"), Labels("team-a"), [wildcards], Domain));
        Assert.Null(NamePolicy.Check(Request("team-a", "*.example.com"), Labels("team-a"), [wildcards], Domain));
        Assert.Contains("(orders, not team-a)", NamePolicy.Check(Request("team-a", "*.orders.svc.cluster.local"), Labels("team-a"), [wildcards], Domain)!.Message, StringComparison.Ordinal);

        var patternOnly = Policy("p", new() { DnsNames = ["*.example.com"] });
        Assert.Contains("does not allow wildcard names (spec.wildcards)", NamePolicy.Check(Request("team-a", "*.example.com"), Labels("team-a"), [patternOnly], Domain)!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], "Public", false)]
    [InlineData(new string[0], "Private", true)]
    [InlineData(new[] { "Public" }, "Public", true)]
    [InlineData(new[] { "Public" }, "Private", false)]
    [InlineData(new[] { "Private", "Public" }, "Public", true)]
    public void Types_lists_what_a_policy_allows_and_unset_means_Private(string[] types, string type, bool allowed)
    {
        var problem = NamePolicy.Check(Request("team-a", "api.example.com", type: type), Labels("team-a"), [Policy("t", new() { Types = types })], Domain);
        Assert.Equal(allowed, problem is null);
        if (!allowed)
        {
            Assert.StartsWith($"type \"{type}\" is refused by CertificatePolicy \"t\": its types are", problem!.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("720h", 30, true)]
    [InlineData("720h", 31, false)]
    [InlineData(null, 3650, true)]
    public void MaxDuration_restricts_the_lifetime(string? maxDuration, double days, bool allowed)
    {
        var problem = NamePolicy.Check(Request("team-a", "api.team-a.svc", days: days), Labels("team-a"), [Policy("d", new() { MaxDuration = maxDuration })], Domain);
        Assert.Equal(allowed, problem is null);
        if (!allowed)
        {
            Assert.Contains("longer than its maxDuration 720h", problem!.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new[] { "acm" }, "builtin", false)]
    [InlineData(new[] { "acm" }, "ACM", true)]
    [InlineData(new string[0], "anything", true)]
    public void Issuers_restricts_who_issues(string[] allowedIssuers, string issuer, bool allowed)
    {
        var problem = NamePolicy.Check(Request("team-a", "api.team-a.svc", issuer: issuer), Labels("team-a"), [Policy("i", new() { Issuers = allowedIssuers })], Domain);
        Assert.Equal(allowed, problem is null);
        if (!allowed)
        {
            Assert.Equal("issuer \"builtin\" is refused by CertificatePolicy \"i\": its issuers are acm.", problem!.Message);
        }
    }

    [Theory]
    [InlineData(IssuerKinds.Issuer, "team-ca", "Issuer/team-ca")]
    [InlineData(IssuerKinds.ClusterIssuer, "platform", "ClusterIssuer/platform")]
    public void IssuerRef_is_spelled_kind_slash_name(string kind, string name, string expected) =>
        Assert.Equal(expected, NamePolicy.IssuerName(new IssuerRef(name, kind)));

    [Theory]
    // issuerRef: Issuer/NAME and ClusterIssuer/NAME (case-insensitive like every issuer name).
    [InlineData(new[] { "ClusterIssuer/platform" }, "ClusterIssuer/platform", true)]
    [InlineData(new[] { "clusterissuer/PLATFORM" }, "ClusterIssuer/platform", true)]
    [InlineData(new[] { "Issuer/team-ca" }, "Issuer/team-ca", true)]
    // The kind matters: an Issuer is not the ClusterIssuer of the same name, nor the reverse.
    [InlineData(new[] { "Issuer/platform" }, "ClusterIssuer/platform", false)]
    [InlineData(new[] { "ClusterIssuer/team-ca" }, "Issuer/team-ca", false)]
    // A plain name is a configured issuer (spec.issuer), never an issuerRef of that name.
    [InlineData(new[] { "platform" }, "ClusterIssuer/platform", false)]
    [InlineData(new[] { "builtin" }, "Issuer/builtin", false)]
    [InlineData(new[] { "Issuer/team-ca" }, "builtin", false)]
    [InlineData(new[] { "builtin", "Issuer/team-ca" }, "builtin", true)]
    [InlineData(new[] { "builtin", "Issuer/team-ca" }, "Issuer/team-ca", true)]
    public void Issuers_restricts_issuer_refs(string[] allowedIssuers, string issuer, bool allowed)
    {
        var problem = NamePolicy.Check(Request("team-a", "api.team-a.svc", issuer: issuer), Labels("team-a"), [Policy("i", new() { Issuers = allowedIssuers })], Domain);
        Assert.Equal(allowed, problem is null);
        if (!allowed)
        {
            Assert.Equal(Reasons.PolicyDenied, problem!.Reason);
            Assert.Equal($"issuer \"{issuer}\" is refused by CertificatePolicy \"i\": its issuers are {string.Join(", ", allowedIssuers)}.", problem.Message);
        }
    }

    [Theory]
    [InlineData(new[] { "ECDSA" }, "RSA", false)]
    [InlineData(new[] { "ECDSA" }, "ECDSA", true)]
    [InlineData(new string[0], "RSA", true)]
    public void KeyAlgorithms_restricts_the_key(string[] algorithms, string key, bool allowed)
    {
        var problem = NamePolicy.Check(Request("team-a", "api.team-a.svc", key: key), Labels("team-a"), [Policy("k", new() { KeyAlgorithms = algorithms })], Domain);
        Assert.Equal(allowed, problem is null);
        if (!allowed)
        {
            Assert.Contains("key algorithm \"RSA\" is refused by CertificatePolicy \"k\": its keyAlgorithms are ECDSA", problem!.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Of_several_selecting_policies_one_allowing_all_is_enough_and_a_refusal_names_each()
    {
        var acmOnly = Policy("a-acm-only", new() { Issuers = ["acm"] });
        var ecdsaOnly = Policy("b-ecdsa-only", new() { KeyAlgorithms = ["ECDSA"] });
        Assert.Null(NamePolicy.Check(Request("team-a", "api.team-a.svc", key: "ECDSA"), Labels("team-a"), [acmOnly, ecdsaOnly], Domain));

        var problem = NamePolicy.Check(Request("team-a", "api.team-a.svc"), Labels("team-a"), [ecdsaOnly, acmOnly], Domain);
        Assert.Equal(
            "no CertificatePolicy selecting namespace team-a allows it: issuer \"builtin\" is refused by CertificatePolicy \"a-acm-only\": its issuers are acm; "
            + "key algorithm \"RSA\" is refused by CertificatePolicy \"b-ecdsa-only\": its keyAlgorithms are ECDSA.",
            problem!.Message);
    }

    [Fact]
    public void A_policy_that_selects_the_namespace_can_restrict_what_the_default_allows()
    {
        var request = Request("team-a", "api.team-a.svc");
        Assert.Null(NamePolicy.Check(request, Labels("team-a"), [], Domain));
        Assert.NotNull(NamePolicy.Check(request, Labels("team-a"), [Policy("acm", new() { NamespaceSelector = ForNamespace("team-a"), Issuers = ["acm"] })], Domain));
        // A policy for another namespace leaves this one to the default.
        Assert.Null(NamePolicy.Check(request, Labels("team-a"), [Policy("acm", new() { NamespaceSelector = ForNamespace("team-b"), Issuers = ["acm"] })], Domain));
    }

    public static TheoryData<LabelSelector?, bool> Selectors => new()
    {
        { null, true },
        { new LabelSelector(), true },
        { ForNamespace("team-a"), true },
        { ForNamespace("team-b"), false },
        { new LabelSelector { MatchLabels = new Dictionary<string, string> { ["tier"] = "edge" } }, true },
        { new LabelSelector { MatchLabels = new Dictionary<string, string> { ["tier"] = "core" } }, false },
        { new LabelSelector { MatchExpressions = [new LabelRequirement { Key = "tier", Operator = "In", Values = ["edge", "core"] }] }, true },
        { new LabelSelector { MatchExpressions = [new LabelRequirement { Key = "tier", Operator = "In", Values = ["core"] }] }, false },
        { new LabelSelector { MatchExpressions = [new LabelRequirement { Key = "tier", Operator = "NotIn", Values = ["core"] }] }, true },
        { new LabelSelector { MatchExpressions = [new LabelRequirement { Key = "absent", Operator = "NotIn", Values = ["x"] }] }, true },
        { new LabelSelector { MatchExpressions = [new LabelRequirement { Key = "tier", Operator = "NotIn", Values = ["edge"] }] }, false },
        { new LabelSelector { MatchExpressions = [new LabelRequirement { Key = "tier", Operator = "Exists" }] }, true },
        { new LabelSelector { MatchExpressions = [new LabelRequirement { Key = "absent", Operator = "Exists" }] }, false },
        { new LabelSelector { MatchExpressions = [new LabelRequirement { Key = "absent", Operator = "DoesNotExist" }] }, true },
        { new LabelSelector { MatchExpressions = [new LabelRequirement { Key = "tier", Operator = "DoesNotExist" }] }, false },
        {
            new LabelSelector
            {
                MatchLabels = new Dictionary<string, string> { ["tier"] = "edge" },
                MatchExpressions = [new LabelRequirement { Key = "tier", Operator = "Exists" }, new LabelRequirement { Key = "kubernetes.io/metadata.name", Operator = "In", Values = ["team-b"] }],
            },
            false
        },
    };

    [Theory]
    [MemberData(nameof(Selectors))]
    public void NamespaceSelector_is_a_label_selector_over_the_namespaces_labels(LabelSelector? selector, bool selects) =>
        Assert.Equal(selects, NamePolicy.Selects(selector, Labels("team-a", ("tier", "edge"))));

    [Theory]
    [InlineData("dnsNames", "spec.dnsNames[0] \"a..b\" is not a valid pattern")]
    [InlineData("operator", "spec.namespaceSelector.matchExpressions[0].operator \"Matches\" is not one of")]
    [InlineData("values", "operator In needs values")]
    [InlineData("exists-values", "operator Exists takes no values")]
    [InlineData("maxDuration", "spec.maxDuration:")]
    [InlineData("types", "spec.types: \"Secret\"")]
    [InlineData("keys", "spec.keyAlgorithms: \"DSA\"")]
    public void An_invalid_policy_is_ignored_and_named_in_refusals_never_a_crash(string field, string problem)
    {
        CertificatePolicySpec spec = field switch
        {
            "dnsNames" => new() { DnsNames = ["a..b"] },
            "operator" => new() { NamespaceSelector = new() { MatchExpressions = [new() { Key = "a", Operator = "Matches", Values = ["b"] }] } },
            "values" => new() { NamespaceSelector = new() { MatchExpressions = [new() { Key = "a", Operator = "In" }] } },
            "exists-values" => new() { NamespaceSelector = new() { MatchExpressions = [new() { Key = "a", Operator = "Exists", Values = ["b"] }] } },
            "maxDuration" => new() { MaxDuration = "a week" },
            "types" => new() { Types = ["Secret"] },
            _ => new() { KeyAlgorithms = ["DSA"] },
        };
        Assert.Contains(problem, NamePolicy.Validate(spec), StringComparison.Ordinal);

        // Ignored: it neither allows (the default decides) nor restricts.
        var broken = Policy("broken", spec with { Wildcards = true, Types = spec.Types.Count > 0 ? spec.Types : ["Public"] });
        var refused = NamePolicy.Check(Request("team-a", "*.example.com", type: "Public"), Labels("team-a"), [broken], Domain);
        Assert.StartsWith("dnsName \"*.example.com\" is refused by the default policy", refused!.Message, StringComparison.Ordinal);
        Assert.Contains("(CertificatePolicy \"broken\" is invalid and ignored: ", refused.Message, StringComparison.Ordinal);
        Assert.Null(NamePolicy.Check(Request("team-a", "api.team-a.svc"), Labels("team-a"), [broken], Domain));
    }

    [Theory]
    [InlineData("cluster.local", true)]
    [InlineData("corp.internal.", true)]
    [InlineData("", false)]
    [InlineData("*.local", false)]
    [InlineData("bad..domain", false)]
    public void The_cluster_domain_option_is_validated(string domain, bool valid) =>
        Assert.Equal(valid, new PolicyOptionsValidator().Validate(null, new PolicyOptions { ClusterDomain = domain }).Succeeded);

    [Fact]
    public void Valid_policies_validate_every_operator_type_and_algorithm()
    {
        var spec = new CertificatePolicySpec
        {
            NamespaceSelector = new LabelSelector
            {
                MatchExpressions =
                [
                    new LabelRequirement { Key = "a", Operator = "In", Values = ["x"] },
                    new LabelRequirement { Key = "b", Operator = "NotIn", Values = ["y"] },
                    new LabelRequirement { Key = "c", Operator = "Exists" },
                    new LabelRequirement { Key = "d", Operator = "DoesNotExist" },
                ],
            },
            Types = ["Private", "Public"],
            KeyAlgorithms = ["RSA", "ECDSA"],
            MaxDuration = "720h",
            DnsNames = ["*.example.com", "**.example.org"],
        };
        Assert.Null(NamePolicy.Validate(spec));

        var second = spec with { NamespaceSelector = new LabelSelector { MatchExpressions = [spec.NamespaceSelector!.MatchExpressions[0], new LabelRequirement { Key = "z", Operator = "Bogus", Values = ["v"] }] } };
        Assert.StartsWith("spec.namespaceSelector.matchExpressions[1].operator \"Bogus\"", NamePolicy.Validate(second), StringComparison.Ordinal);
        Assert.False(NamePolicy.Selects(second.NamespaceSelector, Labels("team-a", ("a", "x"), ("z", "v"))));
    }

    [Fact]
    public void Refusals_by_restricting_fields_name_the_value_and_the_whole_list()
    {
        var policy = Policy("r", new() { Types = ["Private", "Public"], Issuers = ["acm", "vault"], KeyAlgorithms = ["ECDSA", "ECDSA"], MaxDuration = "720h" });
        Assert.Equal("duration 2160h0m0s is refused by CertificatePolicy \"r\": longer than its maxDuration 720h.", NamePolicy.Check(Request("team-a", "api.team-a.svc"), Labels("team-a"), [policy], Domain)!.Message);
        Assert.Equal("issuer \"builtin\" is refused by CertificatePolicy \"r\": its issuers are acm, vault.", NamePolicy.Check(Request("team-a", "api.team-a.svc", days: 30), Labels("team-a"), [policy], Domain)!.Message);
        Assert.Equal("key algorithm \"RSA\" is refused by CertificatePolicy \"r\": its keyAlgorithms are ECDSA, ECDSA.", NamePolicy.Check(Request("team-a", "api.team-a.svc", issuer: "acm", days: 30), Labels("team-a"), [policy], Domain)!.Message);
        var types = Policy("t", new() { Types = ["Public", "Public"] });
        Assert.Equal("type \"Private\" is refused by CertificatePolicy \"t\": its types are Public, Public.", NamePolicy.Check(Request("team-a", "api.team-a.svc"), Labels("team-a"), [types], Domain)!.Message);
    }

    [Fact]
    public void Several_invalid_policies_are_each_named_once()
    {
        var problem = NamePolicy.Check(Request("team-a", "api.kube-system.svc"), Labels("team-a"), [Policy("b", new() { MaxDuration = "x" }), Policy("a", new() { Types = ["Secret"] })], Domain);
        Assert.Equal(
            "dnsName \"api.kube-system.svc\" is refused by the default policy: in-cluster service names are only for their own namespace (kube-system, not team-a) "
            + "(CertificatePolicy \"a\" is invalid and ignored: spec.types: \"Secret\" is not Private or Public; CertificatePolicy \"b\" is invalid and ignored: spec.maxDuration: "
            + NamePolicy.Validate(new CertificatePolicySpec { MaxDuration = "x" })!["spec.maxDuration: ".Length..] + ").",
            problem!.Message);
    }
}
