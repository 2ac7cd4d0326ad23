using System.Text.Json.Serialization;
using k8s.Models;

namespace Notary.CustomResources.Models;

/// <summary>A service's private key and chain as a PKCS12 or JKS file (notary.dev/v1alpha1 Keystore).</summary>
[KubernetesEntity(Group = KubeGroup, ApiVersion = KubeApiVersion, Kind = KubeKind, PluralName = KubePluralName)]
public sealed class Keystore() : NotaryObject<KeystoreSpec, KeystoreStatus>(KubeKind)
{
    public const string KubeGroup = NotaryResources.Group;

    /// <summary>The version without the group, as in the generated k8s.Models types.</summary>
    public const string KubeApiVersion = NotaryResources.Version;

    public const string KubeKind = "Keystore";

    public const string KubePluralName = NotaryResources.KeystorePlural;
}

[KubernetesEntity(Group = Keystore.KubeGroup, ApiVersion = Keystore.KubeApiVersion, Kind = KubeKind, PluralName = Keystore.KubePluralName)]
public sealed class KeystoreList() : NotaryObjectList<Keystore>(KubeKind)
{
    public const string KubeKind = "KeystoreList";
}

/// <summary>The keystore a service wants; defaults are the CRD's defaults.</summary>
public sealed class KeystoreSpec
{
    /// <summary>The service's DNS name; must equal the Certificate's spec.fqdn.</summary>
    [JsonPropertyName("fqdn")]
    public string Fqdn { get; set; } = string.Empty;

    /// <summary>Name of the Certificate, in the same namespace, whose key and chain the keystore holds.</summary>
    [JsonPropertyName("certName")]
    public string CertName { get; set; } = string.Empty;

    /// <summary>One of <see cref="StoreFormats"/>.</summary>
    [JsonPropertyName("format")]
    public string Format { get; set; } = StoreFormats.Pkcs12;

    /// <summary>Name of the Secret, in the same namespace, that holds the service's store metadata.</summary>
    [JsonPropertyName("metadataSecret")]
    public string MetadataSecret { get; set; } = StoreDefaults.MetadataSecret;
}

/// <summary>The values of the stores' spec.format.</summary>
public static class StoreFormats
{
    public const string Pkcs12 = "PKCS12";

    public const string Jks = "JKS";
}

/// <summary>Defaults shared by Keystore and Truststore specs, as the CRDs declare them.</summary>
public static class StoreDefaults
{
    public const string MetadataSecret = "notary-metadata";
}

/// <summary>What Notary last built and stored for a keystore.</summary>
public sealed class KeystoreStatus : ResourceStatus
{
    /// <summary>The secret store's identifier of the stored keystore.</summary>
    [JsonPropertyName("arn")]
    public string? Arn { get; set; }

    /// <summary>Where the service fetches the keystore: an ARN or k8s://NAMESPACE/secrets/NAME.</summary>
    [JsonPropertyName("location")]
    public string? Location { get; set; }

    /// <summary>The Certificate's status.revision the stored keystore was built from.</summary>
    [JsonPropertyName("certificateRevision")]
    public long? CertificateRevision { get; set; }
}
