using Notary.Grains.Abstractions;
using Model = Notary.CustomResources.Models;

namespace Notary.CustomResources;

/// <summary>A CertificatePolicy resource into the grains' terms, values as written (the name policy reports a bad one).</summary>
public static class CertificatePolicyMapping
{
    public static CertificatePolicySpec ToSpec(Model.CertificatePolicySpec spec) => new()
    {
        NamespaceSelector = spec.NamespaceSelector is not { } selector ? null : new LabelSelector
        {
            MatchLabels = selector.MatchLabels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(selector.MatchLabels),
            MatchExpressions = selector.MatchExpressions is null ? [] : [.. selector.MatchExpressions.Select(e => new LabelRequirement { Key = e.Key ?? string.Empty, Operator = e.Operator ?? string.Empty, Values = e.Values is null ? [] : [.. e.Values] })],
        },
        DnsNames = spec.DnsNames is null ? [] : [.. spec.DnsNames],
        Wildcards = spec.Wildcards ?? false,
        Types = spec.Types is null ? [] : [.. spec.Types],
        MaxDuration = string.IsNullOrEmpty(spec.MaxDuration) ? null : spec.MaxDuration,
        Issuers = spec.Issuers is null ? [] : [.. spec.Issuers],
        KeyAlgorithms = spec.KeyAlgorithms is null ? [] : [.. spec.KeyAlgorithms],
    };
}
