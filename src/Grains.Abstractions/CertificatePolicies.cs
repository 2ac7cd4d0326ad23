namespace Notary.Grains.Abstractions;

// The name policy's inputs, as the watcher maps them from CertificatePolicy resources
// (cluster-scoped, notary.dev/v1alpha1). Values the CRD schema restricts are strings here, as in
// Specs.cs, so that one that slipped past a schema is reported instead of failing a mapping.

/// <summary>One requirement of a label selector (Kubernetes' LabelSelectorRequirement).</summary>
[GenerateSerializer, Immutable, Alias("notary.LabelRequirement")]
public sealed record LabelRequirement
{
    [Id(0)] public required string Key { get; init; }
    /// <summary>"In", "NotIn", "Exists" or "DoesNotExist".</summary>
    [Id(1)] public required string Operator { get; init; }
    [Id(2)] public IReadOnlyList<string> Values { get; init; } = [];
}

/// <summary>Kubernetes' LabelSelector over namespace labels: every matchLabels pair and every requirement must hold; an empty selector selects every namespace.</summary>
[GenerateSerializer, Immutable, Alias("notary.LabelSelector")]
public sealed record LabelSelector
{
    [Id(0)] public IReadOnlyDictionary<string, string> MatchLabels { get; init; } = new Dictionary<string, string>();
    [Id(1)] public IReadOnlyList<LabelRequirement> MatchExpressions { get; init; } = [];
}

/// <summary>
/// Spec of a CertificatePolicy: which namespaces it concerns and what it allows them beyond the
/// default policy (dnsNames, wildcards, types) or restricts them to (maxDuration, issuers, key
/// algorithms). An unset field leaves the default's behaviour.
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.CertificatePolicySpec")]
public sealed record CertificatePolicySpec
{
    /// <summary>Null or empty: every namespace.</summary>
    [Id(0)] public LabelSelector? NamespaceSelector { get; init; }
    /// <summary>Name patterns allowed beyond the default (labels "*" = one label, a leading "**" = one or more).</summary>
    [Id(1)] public IReadOnlyList<string> DnsNames { get; init; } = [];
    /// <summary>Whether wildcard names ("*.example.com") may be requested.</summary>
    [Id(2)] public bool Wildcards { get; init; }
    /// <summary>Certificate types allowed ("Private", "Public"); empty: Private only, as the default.</summary>
    [Id(3)] public IReadOnlyList<string> Types { get; init; } = [];
    /// <summary>Go-style duration; null: no limit.</summary>
    [Id(4)] public string? MaxDuration { get; init; }
    /// <summary>
    /// Issuers allowed; empty: any. A plain name is a configured issuer of spec.issuer (the default
    /// by its name, e.g. builtin); <c>Issuer/NAME</c> and <c>ClusterIssuer/NAME</c> allow a
    /// Certificate's spec.issuerRef (an Issuer of its own namespace, a ClusterIssuer).
    /// </summary>
    [Id(5)] public IReadOnlyList<string> Issuers { get; init; } = [];
    /// <summary>Key algorithms allowed ("RSA", "ECDSA"); empty: any.</summary>
    [Id(6)] public IReadOnlyList<string> KeyAlgorithms { get; init; } = [];
}

/// <summary>A CertificatePolicy by name (cluster-scoped: no namespace).</summary>
[GenerateSerializer, Immutable, Alias("notary.NamedCertificatePolicy")]
public sealed record NamedCertificatePolicy(
    [property: Id(0)] string Name,
    [property: Id(1)] CertificatePolicySpec Spec);

/// <summary>
/// The cluster's CertificatePolicies (one grain, key <see cref="ClusterKey"/>) and the
/// Certificates they currently refuse: a policy applied, changed or deleted wakes each of those,
/// which evaluates again and is issued when now allowed (no retry timer).
/// </summary>
[Alias("notary.ICertificatePolicyGrain")]
public interface ICertificatePolicyGrain : IGrainWithStringKey
{
    public const string ClusterKey = "cluster";

    Task ApplyAsync(string name, CertificatePolicySpec spec, ResourceVersionInfo origin);

    Task DeleteAsync(string name);

    /// <summary>
    /// The CertificatePolicies that exist (uid by name), from a full list the watcher took: every
    /// other policy held is deleted (one deleted while no watcher saw it: a leader failover, an
    /// outage), and so is one held under another uid (deleted and created again).
    /// </summary>
    Task PruneAsync(IReadOnlyDictionary<string, string> existing);

    /// <summary>Read-only and interleaving: a woken Certificate asks for the policies while the grain is still waking others.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<IReadOnlyList<NamedCertificatePolicy>> GetPoliciesAsync();

    /// <summary>A Certificate ("namespace/name") the policies refuse: wake it on the next policy change.</summary>
    Task WaitAsync(string certificateKey);

    /// <summary>The Certificate is allowed now, or gone.</summary>
    Task StopWaitingAsync(string certificateKey);
}

/// <summary>A Certificate that the name policy may have refused: woken (one-way) when the CertificatePolicies change.</summary>
[Alias("notary.ICertificatePolicySubscriber")]
public interface ICertificatePolicySubscriber : IGrainWithStringKey
{
    /// <summary>One-way, so that the policy grain never waits on an issuance.</summary>
    [Orleans.Concurrency.OneWay]
    Task OnPoliciesChangedAsync();
}
