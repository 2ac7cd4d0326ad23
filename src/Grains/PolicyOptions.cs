using Microsoft.Extensions.Options;
using Notary.Grains.Policies;

namespace Notary.Grains;

/// <summary>
/// The name policy (configuration section <c>Notary:Policy</c>, e.g.
/// <c>Notary__Policy__ClusterDomain=cluster.local</c>): see <see cref="NamePolicy"/> and the
/// README's "Name policy".
/// </summary>
public sealed class PolicyOptions
{
    public const string SectionName = "Notary:Policy";

    /// <summary>
    /// The cluster's DNS domain (the kubelet's <c>--cluster-domain</c>): names under
    /// <c>svc.CLUSTER_DOMAIN</c> are in-cluster service names. Default <c>cluster.local</c>.
    /// </summary>
    public string ClusterDomain { get; set; } = NamePolicy.DefaultClusterDomain;
}

/// <summary>Refuses a cluster domain that is not a DNS name, saying how to fix it.</summary>
public sealed class PolicyOptionsValidator : IValidateOptions<PolicyOptions>
{
    public ValidateOptionsResult Validate(string? name, PolicyOptions options)
    {
        var domain = options.ClusterDomain?.Trim().Trim('.') ?? string.Empty;
        if (domain.Length == 0 || NamePolicy.PatternProblem(domain.ToLowerInvariant()) is not null || domain.Contains('*', StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Fail(
                $"Notary:Policy:ClusterDomain \"{options.ClusterDomain}\" is not a DNS domain: set Notary__Policy__ClusterDomain to the kubelet's --cluster-domain, e.g. cluster.local.");
        }

        return ValidateOptionsResult.Success;
    }
}
