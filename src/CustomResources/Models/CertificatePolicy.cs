using System.Text.Json.Serialization;
using k8s.Models;

namespace Notary.CustomResources.Models;

/// <summary>
/// What the namespaces a policy selects may obtain (notary.dev/v1alpha1 CertificatePolicy,
/// cluster-scoped): the name policy's input beside its default (README "Name policy").
/// </summary>
[KubernetesEntity(Group = KubeGroup, ApiVersion = KubeApiVersion, Kind = KubeKind, PluralName = KubePluralName)]
public sealed class CertificatePolicy() : NotaryObject<CertificatePolicySpec, CertificatePolicyStatus>(KubeKind)
{
    public const string KubeGroup = NotaryResources.Group;

    public const string KubeApiVersion = NotaryResources.Version;

    public const string KubeKind = "CertificatePolicy";

    public const string KubePluralName = "certificatepolicies";
}

[KubernetesEntity(Group = CertificatePolicy.KubeGroup, ApiVersion = CertificatePolicy.KubeApiVersion, Kind = KubeKind, PluralName = CertificatePolicy.KubePluralName)]
public sealed class CertificatePolicyList() : NotaryObjectList<CertificatePolicy>(KubeKind)
{
    public const string KubeKind = "CertificatePolicyList";
}

/// <summary>The namespaces a policy concerns and what it allows or restricts there; unset fields keep the default's behaviour.</summary>
public sealed class CertificatePolicySpec
{
    /// <summary>Null or empty selects every namespace.</summary>
    [JsonPropertyName("namespaceSelector")]
    public NamespaceSelector? NamespaceSelector { get; set; }

    /// <summary>Name patterns allowed beyond the default.</summary>
    [JsonPropertyName("dnsNames")]
    public IList<string>? DnsNames { get; set; }

    [JsonPropertyName("wildcards")]
    public bool? Wildcards { get; set; }

    /// <summary>Types allowed; null: Private only.</summary>
    [JsonPropertyName("types")]
    public IList<string>? Types { get; set; }

    /// <summary>Go-style duration.</summary>
    [JsonPropertyName("maxDuration")]
    public string? MaxDuration { get; set; }

    [JsonPropertyName("issuers")]
    public IList<string>? Issuers { get; set; }

    [JsonPropertyName("keyAlgorithms")]
    public IList<string>? KeyAlgorithms { get; set; }
}

/// <summary>A label selector over namespaces, as metav1.LabelSelector.</summary>
public sealed class NamespaceSelector
{
    [JsonPropertyName("matchLabels")]
    public IDictionary<string, string>? MatchLabels { get; set; }

    [JsonPropertyName("matchExpressions")]
    public IList<NamespaceSelectorRequirement>? MatchExpressions { get; set; }
}

public sealed class NamespaceSelectorRequirement
{
    [JsonPropertyName("key")]
    public string Key { get; set; } = string.Empty;

    /// <summary>In, NotIn, Exists or DoesNotExist.</summary>
    [JsonPropertyName("operator")]
    public string Operator { get; set; } = string.Empty;

    [JsonPropertyName("values")]
    public IList<string>? Values { get; set; }
}

/// <summary>Whether Notary applies the policy.</summary>
public sealed class CertificatePolicyStatus : ResourceStatus
{
}
