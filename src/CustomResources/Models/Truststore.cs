using System.Text.Json.Serialization;
using k8s.Models;

namespace Notary.CustomResources.Models;

/// <summary>The certificates a service trusts as a PKCS12 or JKS file (notary.dev/v1alpha1 Truststore).</summary>
[KubernetesEntity(Group = KubeGroup, ApiVersion = KubeApiVersion, Kind = KubeKind, PluralName = KubePluralName)]
public sealed class Truststore() : NotaryObject<TruststoreSpec, TruststoreStatus>(KubeKind)
{
    public const string KubeGroup = NotaryResources.Group;

    /// <summary>The version without the group, as in the generated k8s.Models types.</summary>
    public const string KubeApiVersion = NotaryResources.Version;

    public const string KubeKind = "Truststore";

    public const string KubePluralName = NotaryResources.TruststorePlural;
}

[KubernetesEntity(Group = Truststore.KubeGroup, ApiVersion = Truststore.KubeApiVersion, Kind = KubeKind, PluralName = Truststore.KubePluralName)]
public sealed class TruststoreList() : NotaryObjectList<Truststore>(KubeKind)
{
    public const string KubeKind = "TruststoreList";
}

/// <summary>The truststore a service wants; defaults are the CRD's defaults.</summary>
public sealed class TruststoreSpec
{
    /// <summary>The service's DNS name; must equal its Certificate's spec.fqdn.</summary>
    [JsonPropertyName("fqdn")]
    public string Fqdn { get; set; } = string.Empty;

    /// <summary>Name of the service's own Certificate, in the same namespace.</summary>
    [JsonPropertyName("certName")]
    public string CertName { get; set; } = string.Empty;

    /// <summary>Services this service calls.</summary>
    [JsonPropertyName("upstream")]
    public IList<PeerReference> Upstream { get; set; } = [];

    /// <summary>Services that call this service.</summary>
    [JsonPropertyName("downstream")]
    public IList<PeerReference> Downstream { get; set; } = [];

    /// <summary>One of <see cref="StoreFormats"/>.</summary>
    [JsonPropertyName("format")]
    public string Format { get; set; } = StoreFormats.Pkcs12;

    /// <summary>Name of the Secret, in the same namespace, that holds the service's store metadata.</summary>
    [JsonPropertyName("metadataSecret")]
    public string MetadataSecret { get; set; } = StoreDefaults.MetadataSecret;

    /// <summary>One of <see cref="TrustModes"/>: the listed services' leaves only, or also their CAs.</summary>
    [JsonPropertyName("trust")]
    public string Trust { get; set; } = TrustModes.Pinned;

    /// <summary>Certificates from outside Notary that the truststore also trusts.</summary>
    [JsonPropertyName("sources")]
    public IList<TrustSource>? Sources { get; set; }
}

/// <summary>One trust source of a Truststore: exactly one of the properties is set (the CRD enforces it).</summary>
public sealed class TrustSource
{
    /// <summary>A PEM bundle under a key of a ConfigMap in the Truststore's namespace.</summary>
    [JsonPropertyName("configMap")]
    public ObjectKeyReference? ConfigMap { get; set; }

    /// <summary>A PEM bundle under a key of a Secret in the Truststore's namespace.</summary>
    [JsonPropertyName("secret")]
    public ObjectKeyReference? Secret { get; set; }

    /// <summary>PEM certificates written in the resource.</summary>
    [JsonPropertyName("inline")]
    public string? Inline { get; set; }

    /// <summary>True: the machine's public root bundle.</summary>
    [JsonPropertyName("defaultCAs")]
    public bool? DefaultCAs { get; set; }
}

/// <summary>A data key of a ConfigMap or Secret in the resource's own namespace.</summary>
public sealed class ObjectKeyReference
{
    /// <summary>Name of the object.</summary>
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    /// <summary>The data key.</summary>
    [JsonPropertyName("key")]
    public string Key { get; set; } = string.Empty;
}

/// <summary>The values of a Truststore's spec.trust.</summary>
public static class TrustModes
{
    /// <summary>The default: exactly the leaf certificates of the service and its peers, no CA.</summary>
    public const string Pinned = "Pinned";

    /// <summary>The leaves and every CA of their chains: everything those CAs sign is trusted.</summary>
    public const string Issuers = "Issuers";
}

/// <summary>A Certificate a truststore trusts, named by tag and the fqdn it must have.</summary>
public sealed class PeerReference
{
    /// <summary>Name of the Certificate.</summary>
    [JsonPropertyName("tag")]
    public string Tag { get; set; } = string.Empty;

    /// <summary>Must equal the Certificate's spec.fqdn.</summary>
    [JsonPropertyName("fqdn")]
    public string Fqdn { get; set; } = string.Empty;

    /// <summary>Namespace of the Certificate; null means "look the tag up in all namespaces, where it must be unique".</summary>
    [JsonPropertyName("namespace")]
    public string? Namespace { get; set; }
}

/// <summary>What Notary last built and stored for a truststore.</summary>
public sealed class TruststoreStatus : ResourceStatus
{
    /// <summary>The secret store's identifier of the stored truststore.</summary>
    [JsonPropertyName("arn")]
    public string? Arn { get; set; }

    /// <summary>Where the service fetches the truststore: an ARN or k8s://NAMESPACE/secrets/NAME.</summary>
    [JsonPropertyName("location")]
    public string? Location { get; set; }

    /// <summary>The Certificates the stored truststore was built from: "namespace/name" to status.revision.</summary>
    [JsonPropertyName("certificateRevision")]
    public IDictionary<string, long>? CertificateRevision { get; set; }

    /// <summary>The aliases in the stored truststore.</summary>
    [JsonPropertyName("entries")]
    public IList<string>? Entries { get; set; }

    /// <summary>References without a namespace, bound to the Certificate they first resolved to.</summary>
    [JsonPropertyName("references")]
    public IList<BoundReferenceStatus>? References { get; set; }
}

/// <summary>A reference without a namespace, bound to one Certificate while that Certificate exists.</summary>
public sealed class BoundReferenceStatus
{
    /// <summary>The reference's tag: the Certificate's name.</summary>
    [JsonPropertyName("tag")]
    public string Tag { get; set; } = string.Empty;

    /// <summary>The namespace the tag was resolved to.</summary>
    [JsonPropertyName("namespace")]
    public string Namespace { get; set; } = string.Empty;

    /// <summary>The bound Certificate's metadata.uid.</summary>
    [JsonPropertyName("uid")]
    public string? Uid { get; set; }
}
