using System.Text.Json.Serialization;
using k8s.Models;

namespace Notary.CustomResources.Models;

// The C# property names camel-case to the JSON names on purpose: KubernetesYaml ignores
// [JsonPropertyName] and camel-cases the property name instead, so both spellings must agree.

/// <summary>A TLS certificate for one service (notary.dev/v1alpha1 Certificate).</summary>
[KubernetesEntity(Group = KubeGroup, ApiVersion = KubeApiVersion, Kind = KubeKind, PluralName = KubePluralName)]
public sealed class Certificate() : NotaryObject<CertificateSpec, CertificateStatus>(KubeKind)
{
    public const string KubeGroup = NotaryResources.Group;

    /// <summary>The version without the group, as in the generated k8s.Models types.</summary>
    public const string KubeApiVersion = NotaryResources.Version;

    public const string KubeKind = "Certificate";

    public const string KubePluralName = NotaryResources.CertificatePlural;
}

[KubernetesEntity(Group = Certificate.KubeGroup, ApiVersion = Certificate.KubeApiVersion, Kind = KubeKind, PluralName = Certificate.KubePluralName)]
public sealed class CertificateList() : NotaryObjectList<Certificate>(KubeKind)
{
    public const string KubeKind = "CertificateList";
}

/// <summary>
/// The certificate a service wants. Required fields are non-null but empty when absent: the API
/// server refuses such objects, and a model that threw while reading one would stop a whole list.
/// </summary>
public sealed class CertificateSpec
{
    /// <summary>One of <see cref="CertificateTypes"/>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; set; } = string.Empty;

    /// <summary>The service's DNS name: common name and first subject alternative name.</summary>
    [JsonPropertyName("fqdn")]
    public string Fqdn { get; set; } = string.Empty;

    /// <summary>Additional DNS names.</summary>
    [JsonPropertyName("alt")]
    public IList<string>? Alt { get; set; }

    /// <summary>Name of a configured issuer; null selects the default.</summary>
    [JsonPropertyName("issuer")]
    public string? Issuer { get; set; }

    /// <summary>An Issuer of the Certificate's namespace or a ClusterIssuer; null: <see cref="Issuer"/> or the default.</summary>
    [JsonPropertyName("issuerRef")]
    public IssuerReference? IssuerRef { get; set; }

    /// <summary>Requested lifetime as a Go duration, e.g. "2160h".</summary>
    [JsonPropertyName("duration")]
    public string? Duration { get; set; }

    /// <summary>How long before expiry to renew, as a Go duration; null means a third of the lifetime.</summary>
    [JsonPropertyName("renewBefore")]
    public string? RenewBefore { get; set; }

    [JsonPropertyName("privateKey")]
    public PrivateKeySpec? PrivateKey { get; set; }
}

/// <summary>A Certificate's <c>spec.issuerRef</c>.</summary>
public sealed class IssuerReference
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    /// <summary>Issuer (the schema's default) or ClusterIssuer.</summary>
    [JsonPropertyName("kind")]
    public string? Kind { get; set; }
}

/// <summary>The values of <see cref="CertificateSpec.Type"/>.</summary>
public static class CertificateTypes
{
    /// <summary>Issued by a public CA through ACM with export enabled, after DNS validation.</summary>
    public const string Public = "Public";

    /// <summary>Issued by a private CA: ACM Private CA or the built-in CA.</summary>
    public const string Private = "Private";
}

public sealed class PrivateKeySpec
{
    /// <summary>One of <see cref="KeyAlgorithms"/>; the API server defaults it to RSA.</summary>
    [JsonPropertyName("algorithm")]
    public string Algorithm { get; set; } = KeyAlgorithms.Rsa;

    /// <summary>Key size in bits; null selects the algorithm's default (RSA 2048, ECDSA 256).</summary>
    [JsonPropertyName("size")]
    public int? Size { get; set; }
}

/// <summary>The values of <see cref="PrivateKeySpec.Algorithm"/>.</summary>
public static class KeyAlgorithms
{
    public const string Rsa = "RSA";

    public const string Ecdsa = "ECDSA";
}

/// <summary>What Notary last issued and observed for a certificate.</summary>
public sealed class CertificateStatus : ResourceStatus
{
    /// <summary>The issuer's identifier of the current certificate: an ACM ARN or a built-in CA URN.</summary>
    [JsonPropertyName("arn")]
    public string? Arn { get; set; }

    /// <summary>Serial number of the current certificate, as hexadecimal.</summary>
    [JsonPropertyName("serialNumber")]
    public string? SerialNumber { get; set; }

    [JsonPropertyName("notBefore")]
    public DateTimeOffset? NotBefore { get; set; }

    [JsonPropertyName("notAfter")]
    public DateTimeOffset? NotAfter { get; set; }

    [JsonPropertyName("renewalTime")]
    public DateTimeOffset? RenewalTime { get; set; }

    /// <summary>Serial number of the certificate the current one replaces while they overlap (make-before-break renewal).</summary>
    [JsonPropertyName("previousSerialNumber")]
    public string? PreviousSerialNumber { get; set; }

    /// <summary>The last renewal requested with the annotation notary.dev/renew that Notary acted on.</summary>
    [JsonPropertyName("lastManualRenewal")]
    public ManualRenewalStatus? LastManualRenewal { get; set; }

    /// <summary>How many times the certificate has been issued.</summary>
    [JsonPropertyName("revision")]
    public long? Revision { get; set; }

    /// <summary>Tags attached to the certificate at the issuer.</summary>
    [JsonPropertyName("tags")]
    public IDictionary<string, string>? Tags { get; set; }

    /// <summary>DNS records a Public certificate waits for; null once validated.</summary>
    [JsonPropertyName("validationRecords")]
    public IList<ValidationRecord>? ValidationRecords { get; set; }
}

/// <summary>A Certificate's <c>status.lastManualRenewal</c>.</summary>
public sealed class ManualRenewalStatus
{
    /// <summary>The value of the annotation notary.dev/renew that Notary acted on.</summary>
    [JsonPropertyName("token")]
    public string Token { get; set; } = string.Empty;

    [JsonPropertyName("requestedAt")]
    public DateTimeOffset RequestedAt { get; set; }

    /// <summary>Reissued, AlreadyIssuing or Refused.</summary>
    [JsonPropertyName("outcome")]
    public string Outcome { get; set; } = string.Empty;
}

/// <summary>A DNS record to create so that a public CA can validate the domain.</summary>
public sealed class ValidationRecord
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    /// <summary>The record type, e.g. CNAME.</summary>
    [JsonPropertyName("type")]
    public string Type { get; set; } = string.Empty;

    [JsonPropertyName("value")]
    public string Value { get; set; } = string.Empty;
}
