using System.Text.Json.Serialization;
using k8s.Models;

namespace Notary.CustomResources.Models;

/// <summary>
/// A certificate authority for the Certificates of its own namespace that name it in
/// spec.issuerRef (notary.dev/v1alpha1 Issuer). Its <c>ca</c> Secret lives in its namespace.
/// </summary>
[KubernetesEntity(Group = KubeGroup, ApiVersion = KubeApiVersion, Kind = KubeKind, PluralName = KubePluralName)]
public sealed class Issuer() : NotaryObject<IssuerResourceSpec, IssuerResourceStatus>(KubeKind)
{
    public const string KubeGroup = NotaryResources.Group;

    /// <summary>The version without the group, as in the generated k8s.Models types.</summary>
    public const string KubeApiVersion = NotaryResources.Version;

    public const string KubeKind = "Issuer";

    public const string KubePluralName = NotaryResources.IssuerPlural;
}

[KubernetesEntity(Group = Issuer.KubeGroup, ApiVersion = Issuer.KubeApiVersion, Kind = KubeKind, PluralName = Issuer.KubePluralName)]
public sealed class IssuerList() : NotaryObjectList<Issuer>(KubeKind)
{
    public const string KubeKind = "IssuerList";
}

/// <summary>
/// A certificate authority for the Certificates of every namespace (notary.dev/v1alpha1
/// ClusterIssuer, cluster-scoped). Its <c>ca</c> Secret lives in Notary's namespace.
/// </summary>
[KubernetesEntity(Group = Issuer.KubeGroup, ApiVersion = Issuer.KubeApiVersion, Kind = KubeKind, PluralName = KubePluralName)]
public sealed class ClusterIssuer() : NotaryObject<IssuerResourceSpec, IssuerResourceStatus>(KubeKind)
{
    public const string KubeKind = "ClusterIssuer";

    public const string KubePluralName = NotaryResources.ClusterIssuerPlural;
}

[KubernetesEntity(Group = Issuer.KubeGroup, ApiVersion = Issuer.KubeApiVersion, Kind = KubeKind, PluralName = ClusterIssuer.KubePluralName)]
public sealed class ClusterIssuerList() : NotaryObjectList<ClusterIssuer>(KubeKind)
{
    public const string KubeKind = "ClusterIssuerList";
}

/// <summary>An Issuer's or ClusterIssuer's spec: exactly one of the three (the schema refuses none or several).</summary>
public sealed class IssuerResourceSpec
{
    /// <summary><c>builtin: {}</c>: Notary's own root CA. Present (even empty) selects it.</summary>
    [JsonPropertyName("builtin")]
    public BuiltinIssuer? Builtin { get; set; }

    [JsonPropertyName("ca")]
    public CaIssuer? Ca { get; set; }

    [JsonPropertyName("acm")]
    public AcmIssuer? Acm { get; set; }
}

/// <summary>The empty object of <c>builtin: {}</c>.</summary>
public sealed class BuiltinIssuer;

/// <summary>A CA key pair in a Secret (<c>tls.crt</c> with its issuers after it, <c>tls.key</c>).</summary>
public sealed class CaIssuer
{
    [JsonPropertyName("secretName")]
    public string SecretName { get; set; } = string.Empty;
}

/// <summary>An ACM Private CA, optionally through an assumed role.</summary>
public sealed class AcmIssuer
{
    [JsonPropertyName("region")]
    public string Region { get; set; } = string.Empty;

    [JsonPropertyName("privateCaArn")]
    public string PrivateCaArn { get; set; } = string.Empty;

    [JsonPropertyName("roleArn")]
    public string? RoleArn { get; set; }

    [JsonPropertyName("serviceUrl")]
    public string? ServiceUrl { get; set; }
}

/// <summary>What Notary writes into an Issuer's or ClusterIssuer's status.</summary>
public sealed class IssuerResourceStatus : ResourceStatus
{
    /// <summary>builtin, ca or acm (the printer column Type).</summary>
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    /// <summary>SHA-256 fingerprint (hex) of the CA certificate signing now.</summary>
    [JsonPropertyName("caFingerprint")]
    public string? CaFingerprint { get; set; }

    [JsonPropertyName("caNotAfter")]
    public DateTimeOffset? CaNotAfter { get; set; }

    [JsonPropertyName("certificates")]
    public int? Certificates { get; set; }

    [JsonPropertyName("rotation")]
    public IssuerRotation? Rotation { get; set; }
}

/// <summary>A CA rotation in progress.</summary>
public sealed class IssuerRotation
{
    [JsonPropertyName("phase")]
    public string Phase { get; set; } = string.Empty;

    [JsonPropertyName("fromFingerprint")]
    public string FromFingerprint { get; set; } = string.Empty;

    [JsonPropertyName("toFingerprint")]
    public string ToFingerprint { get; set; } = string.Empty;

    [JsonPropertyName("total")]
    public int? Total { get; set; }

    [JsonPropertyName("remaining")]
    public int? Remaining { get; set; }

    [JsonPropertyName("started")]
    public DateTimeOffset? Started { get; set; }

    [JsonPropertyName("leftBehind")]
    public List<string>? LeftBehind { get; set; }

    [JsonPropertyName("leftBehindCount")]
    public int? LeftBehindCount { get; set; }
}
