using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.CustomResources;

/// <summary>The Kubernetes names of each <see cref="ResourceKind"/>.</summary>
public static class ResourceKinds
{
    public static string Plural(ResourceKind kind) => kind switch
    {
        ResourceKind.Certificate => NotaryResources.CertificatePlural,
        ResourceKind.Keystore => NotaryResources.KeystorePlural,
        ResourceKind.Truststore => NotaryResources.TruststorePlural,
        ResourceKind.Issuer => NotaryResources.IssuerPlural,
        ResourceKind.ClusterIssuer => NotaryResources.ClusterIssuerPlural,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a Notary resource kind"),
    };

    /// <summary>The kind as the API spells it, e.g. "Certificate".</summary>
    public static string KubeKind(ResourceKind kind) => kind switch
    {
        ResourceKind.Certificate => Certificate.KubeKind,
        ResourceKind.Keystore => Keystore.KubeKind,
        ResourceKind.Truststore => Truststore.KubeKind,
        ResourceKind.Issuer => Issuer.KubeKind,
        ResourceKind.ClusterIssuer => ClusterIssuer.KubeKind,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a Notary resource kind"),
    };

    /// <summary>Whether the kind is cluster-scoped (its <see cref="ResourceKey.Namespace"/> is empty).</summary>
    public static bool IsClusterScoped(ResourceKind kind) => kind == ResourceKind.ClusterIssuer;
}
