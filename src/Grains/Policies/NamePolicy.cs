using System.Text.RegularExpressions;
using Notary.Grains.Abstractions;
using Notary.Pki;

namespace Notary.Grains.Policies;

/// <summary>What a Certificate asks for, as the name policy judges it.</summary>
/// <param name="Namespace">The Certificate's namespace.</param>
/// <param name="Type">"Private" or "Public".</param>
/// <param name="Names">spec.fqdn first, then spec.alt.</param>
/// <param name="Issuer">The issuer that would issue it: <see cref="NamePolicy.IssuerName"/> for spec.issuerRef (<c>Issuer/NAME</c>, <c>ClusterIssuer/NAME</c>), else spec.issuer's configured name (the default's when unset).</param>
/// <param name="Lifetime">The requested lifetime (spec.duration, or the default).</param>
/// <param name="KeyAlgorithm">"RSA" or "ECDSA".</param>
public sealed record NameRequest(string Namespace, string Type, IReadOnlyList<string> Names, string Issuer, TimeSpan Lifetime, string KeyAlgorithm);

/// <summary>
/// Which DNS names (and types, lifetimes, issuers, keys) a namespace may obtain: decided before
/// anything is issued. Pure; table-tested in Grains.Policies.Tests.
/// <list type="bullet">
/// <item>The default policy (no CertificatePolicy selects the namespace): a name inside the
/// cluster's service domain is only for its own namespace; no wildcard names; Private only; every
/// other name is allowed. The in-cluster namespace of a name is the label before <c>svc</c> in
/// <c>…NAMESPACE.svc</c> and <c>…NAMESPACE.svc.CLUSTER_DOMAIN</c> (so <c>pod.a.b.svc…</c> belongs
/// to <c>b</c>), and the second label of a two-label name <c>SERVICE.NAMESPACE</c> (which
/// resolves through the pods' DNS search path) when a namespace of that name exists: so
/// <c>api.payments</c> is payments' alone, while <c>example.com</c> or <c>pay.internal</c> are
/// ordinary names as long as no namespace <c>com</c> or <c>internal</c> exists. <c>svc</c> and
/// <c>svc.CLUSTER_DOMAIN</c> themselves belong to no namespace and are refused.</item>
/// <item>CertificatePolicies selecting the namespace (namespaceSelector; empty selects all): the
/// Certificate must be allowed by at least one of them. A policy allows a name that matches one
/// of its dnsNames patterns or that the default would allow; wildcards only with
/// <c>wildcards: true</c>; the types it lists (unset: Private); and it restricts the lifetime
/// (maxDuration), the issuers and the key algorithms when it sets them.</item>
/// <item>A policy with an invalid field (pattern, selector operator, maxDuration) is ignored as
/// a whole (it neither selects nor allows), and refusals name it.</item>
/// </list>
/// Every name (fqdn and every alt) is checked; the first refusal is reported, naming the name
/// and the rule.
/// </summary>
public static partial class NamePolicy
{
    public const string DefaultClusterDomain = "cluster.local";

    public const string Private = "Private";

    /// <summary>
    /// How CertificatePolicy <c>spec.issuers</c> names a Certificate's <c>spec.issuerRef</c>:
    /// <c>Issuer/NAME</c> (an Issuer of the Certificate's own namespace) or <c>ClusterIssuer/NAME</c>.
    /// A plain name is a configured issuer of <c>spec.issuer</c> (<c>builtin</c>, <c>acm</c>), so a
    /// policy listing <c>builtin</c> does not allow an Issuer that happens to be called builtin.
    /// </summary>
    public static string IssuerName(IssuerRef issuerRef)
    {
        ArgumentNullException.ThrowIfNull(issuerRef);
        return $"{issuerRef.Kind}/{issuerRef.Name}";
    }

    /// <summary>Whether the request is allowed; the refusal (Reason PolicyDenied) otherwise.</summary>
    /// <param name="request">What the Certificate asks for.</param>
    /// <param name="namespaceLabels">The labels of the Certificate's namespace.</param>
    /// <param name="policies">Every CertificatePolicy of the cluster.</param>
    /// <param name="clusterDomain">The cluster's DNS domain (Notary:Policy:ClusterDomain).</param>
    /// <param name="namespaceExists">Whether a namespace exists (for two-label names); null: assume it does.</param>
    public static Problem? Check(NameRequest request, IReadOnlyDictionary<string, string> namespaceLabels, IReadOnlyList<NamedCertificatePolicy> policies, string clusterDomain, Func<string, bool>? namespaceExists = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(policies);
        var domain = NormalizeDomain(clusterDomain);
        var invalid = new List<string>();
        var selecting = new List<NamedCertificatePolicy>();
        foreach (var policy in policies.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (Validate(policy.Spec) is { } problem)
            {
                invalid.Add($"CertificatePolicy \"{policy.Name}\" is invalid and ignored: {problem}");
            }
            else if (Selects(policy.Spec.NamespaceSelector, namespaceLabels))
            {
                selecting.Add(policy);
            }
        }

        string? message;
        if (selecting.Count == 0)
        {
            message = Refusal(request, null, domain, namespaceExists) is { } refusal ? $"{refusal.Subject} is refused by the default policy: {refusal.Rule}" : null;
        }
        else
        {
            var refusals = new List<string>();
            foreach (var policy in selecting)
            {
                if (Refusal(request, policy.Spec, domain, namespaceExists) is not { } refusal)
                {
                    return null;
                }

                refusals.Add($"{refusal.Subject} is refused by CertificatePolicy \"{policy.Name}\": {refusal.Rule}");
            }

            message = refusals.Count == 1
                ? refusals[0]
                : $"no CertificatePolicy selecting namespace {request.Namespace} allows it: {string.Join("; ", refusals)}";
        }

        if (message is null)
        {
            return null;
        }

        if (invalid.Count > 0)
        {
            message += $" ({string.Join("; ", invalid)})";
        }

        // No rule text ends with a full stop: the message gets one.
        return new Problem(Abstractions.Reasons.PolicyDenied, message + ".");
    }

    /// <summary>What is wrong with a policy's spec (patterns, selector, maxDuration, enums); null when valid.</summary>
    public static string? Validate(CertificatePolicySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        for (var i = 0; i < spec.DnsNames.Count; i++)
        {
            if (PatternProblem(spec.DnsNames[i]) is { } problem)
            {
                return $"spec.dnsNames[{i}] \"{spec.DnsNames[i]}\" is not a valid pattern: {problem}";
            }
        }

        var expressions = spec.NamespaceSelector?.MatchExpressions ?? [];
        for (var i = 0; i < expressions.Count; i++)
        {
            var expression = expressions[i];
            var needsValues = expression.Operator is "In" or "NotIn";
            if (expression.Operator is not ("In" or "NotIn" or "Exists" or "DoesNotExist"))
            {
                return $"spec.namespaceSelector.matchExpressions[{i}].operator \"{expression.Operator}\" is not one of In, NotIn, Exists, DoesNotExist";
            }

            if (needsValues != (expression.Values.Count > 0))
            {
                return $"spec.namespaceSelector.matchExpressions[{i}]: operator {expression.Operator} {(needsValues ? "needs" : "takes no")} values";
            }
        }

        if (spec.MaxDuration is not null && !GoDuration.TryParse(spec.MaxDuration, out _, out var error))
        {
            return $"spec.maxDuration: {error}";
        }

        foreach (var type in spec.Types)
        {
            if (type is not ("Private" or "Public"))
            {
                return $"spec.types: \"{type}\" is not Private or Public";
            }
        }

        foreach (var algorithm in spec.KeyAlgorithms)
        {
            if (algorithm is not ("RSA" or "ECDSA"))
            {
                return $"spec.keyAlgorithms: \"{algorithm}\" is not RSA or ECDSA";
            }
        }

        return null;
    }

    /// <summary>Whether a (valid) selector selects a namespace with these labels; null or empty selects every namespace.</summary>
    public static bool Selects(LabelSelector? selector, IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (selector is null)
        {
            return true;
        }

        foreach (var (key, value) in selector.MatchLabels)
        {
            if (!labels.TryGetValue(key, out var actual) || actual != value)
            {
                return false;
            }
        }

        foreach (var expression in selector.MatchExpressions)
        {
            var has = labels.TryGetValue(expression.Key, out var actual);
            var matches = expression.Operator switch
            {
                "In" => has && expression.Values.Contains(actual!, StringComparer.Ordinal),
                "NotIn" => !has || !expression.Values.Contains(actual!, StringComparer.Ordinal),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false,
            };
            if (!matches)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Whether <paramref name="name"/> matches <paramref name="pattern"/>: label by label,
    /// case-insensitively, where a pattern label <c>*</c> matches exactly one label (a wildcard
    /// name's own <c>*</c> included) and a leading <c>**</c> matches one or more labels.
    /// </summary>
    public static bool Matches(string pattern, string name)
    {
        var want = Labels(pattern);
        var have = Labels(name);
        if (want.Length > 0 && want[0] == "**")
        {
            var tail = want.Length - 1;
            return have.Length > tail && MatchLabels(want.AsSpan(1), have.AsSpan(have.Length - tail));
        }

        return want.Length == have.Length && MatchLabels(want, have);

        static bool MatchLabels(ReadOnlySpan<string> want, ReadOnlySpan<string> have)
        {
            for (var i = 0; i < want.Length; i++)
            {
                if (want[i] != "*" && want[i] != have[i])
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Null for a valid dnsNames pattern, otherwise what is wrong with it.</summary>
    public static string? PatternProblem(string pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return "it is empty";
        }

        var labels = pattern.Split('.');
        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i];
            if (label == "**")
            {
                if (i != 0)
                {
                    return "\"**\" may only be the first label";
                }

                if (labels.Length == 1)
                {
                    return "\"**\" alone would allow every name";
                }
            }
            else if (label != "*" && !DnsLabel().IsMatch(label))
            {
                return $"label \"{label}\" is not a lowercase DNS label, \"*\" or a leading \"**\"";
            }
        }

        return null;
    }

    /// <summary>
    /// The namespace an in-cluster service name belongs to: <paramref name="inCluster"/> tells
    /// whether the name is inside the cluster's service domain; the result is null for the
    /// domain itself (svc, svc.CLUSTER_DOMAIN), which belongs to no namespace. A two-label name
    /// is in-cluster when <paramref name="namespaceExists"/> (null: always) says its second label
    /// names a namespace.
    /// </summary>
    /// <returns>The namespace, or null.</returns>
    public static string? InClusterNamespace(string name, string clusterDomain, out bool inCluster, Func<string, bool>? namespaceExists = null)
    {
        var labels = Labels(name);
        var domain = Labels(NormalizeDomain(clusterDomain));
        var svc = -1;
        if (labels.Length > domain.Length && labels.AsSpan(labels.Length - domain.Length).SequenceEqual(domain) && labels[labels.Length - domain.Length - 1] == "svc")
        {
            svc = labels.Length - domain.Length - 1;
        }
        else if (labels.Length > 0 && labels[^1] == "svc")
        {
            svc = labels.Length - 1;
        }

        if (svc >= 0)
        {
            inCluster = true;
            return svc == 0 ? null : labels[svc - 1];
        }

        inCluster = labels.Length == 2 && (namespaceExists?.Invoke(labels[1]) ?? true);
        return inCluster ? labels[1] : null;
    }

    private readonly record struct Refused(string Subject, string Rule);

    /// <summary>The first thing <paramref name="policy"/> (null: the default policy) refuses in the request.</summary>
    private static Refused? Refusal(NameRequest request, CertificatePolicySpec? policy, string domain, Func<string, bool>? namespaceExists)
    {
        foreach (var name in request.Names)
        {
            if (NameRefusal(request.Namespace, name, policy, domain, namespaceExists) is { } rule)
            {
                return new Refused($"dnsName \"{name}\"", rule);
            }
        }

        var types = policy is null || policy.Types.Count == 0 ? [Private] : policy.Types;
        if (!types.Contains(request.Type, StringComparer.Ordinal))
        {
            return new Refused(
                $"type \"{request.Type}\"",
                policy is null
                    ? "only Private certificates are allowed unless a CertificatePolicy lists the type in spec.types"
                    : $"its types are {string.Join(", ", types)}");
        }

        if (policy is null)
        {
            return null;
        }

        if (policy.MaxDuration is not null && request.Lifetime > GoDuration.Parse(policy.MaxDuration))
        {
            return new Refused($"duration {GoDuration.Format(request.Lifetime)}", $"longer than its maxDuration {policy.MaxDuration}");
        }

        if (policy.Issuers.Count > 0 && !policy.Issuers.Contains(request.Issuer, StringComparer.OrdinalIgnoreCase))
        {
            return new Refused($"issuer \"{request.Issuer}\"", $"its issuers are {string.Join(", ", policy.Issuers)}");
        }

        if (policy.KeyAlgorithms.Count > 0 && !policy.KeyAlgorithms.Contains(request.KeyAlgorithm, StringComparer.OrdinalIgnoreCase))
        {
            return new Refused($"key algorithm \"{request.KeyAlgorithm}\"", $"its keyAlgorithms are {string.Join(", ", policy.KeyAlgorithms)}");
        }

        return null;
    }

    /// <summary>Why <paramref name="policy"/> (null: the default) refuses one name; null when it allows it.</summary>
    private static string? NameRefusal(string @namespace, string name, CertificatePolicySpec? policy, string domain, Func<string, bool>? namespaceExists)
    {
        var wildcard = name.StartsWith("*.", StringComparison.Ordinal) || name == "*";
        if (wildcard && policy?.Wildcards != true)
        {
            return policy is null
                ? "wildcard names are not allowed unless a CertificatePolicy sets spec.wildcards"
                : "it does not allow wildcard names (spec.wildcards)";
        }

        if (policy is not null && policy.DnsNames.Any(pattern => Matches(pattern, name)))
        {
            return null;
        }

        var owner = InClusterNamespace(name, domain, out var inCluster, namespaceExists);
        if (!inCluster || string.Equals(owner, @namespace, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var rule = owner is null
            ? $"the cluster's service domain itself (svc, svc.{domain}) belongs to no namespace"
            : $"in-cluster service names are only for their own namespace ({owner}, not {@namespace})";
        return policy is null ? rule : $"no spec.dnsNames pattern matches it, and {rule}";
    }

    /// <summary>The namespaces that two-label names among <paramref name="names"/> would belong to, for the caller to look up.</summary>
    public static IReadOnlyList<string> TwoLabelNamespaces(IEnumerable<string> names) =>
        [.. names.Select(Labels).Where(labels => labels.Length == 2).Select(labels => labels[1]).Distinct(StringComparer.Ordinal)];

    private static string[] Labels(string name) => name.TrimEnd('.').ToLowerInvariant().Split('.');

    private static string NormalizeDomain(string? clusterDomain) =>
        string.IsNullOrWhiteSpace(clusterDomain) ? DefaultClusterDomain : clusterDomain.Trim().Trim('.').ToLowerInvariant();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
