using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>Persisted state of the cluster's CertificatePolicies and of the Certificates they refuse.</summary>
[GenerateSerializer, Alias("notary.CertificatePolicyState")]
public sealed class CertificatePolicyState
{
    /// <summary>By policy name.</summary>
    [Id(0)] public Dictionary<string, CertificatePolicySpec> Policies { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The generation applied last, by policy name (a resync of it changes nothing).</summary>
    [Id(1)] public Dictionary<string, ResourceVersionInfo> Origins { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Certificates ("namespace/name") refused by the policies, woken on every change.</summary>
    [Id(2)] public HashSet<string> Waiting { get; set; } = new(StringComparer.Ordinal);
}
