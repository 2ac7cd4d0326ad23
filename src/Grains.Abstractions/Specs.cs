namespace Notary.Grains.Abstractions;

// The desired state of each resource, as the watcher maps it from the custom resources.
// Values the CRD schema restricts (enums, patterns) are kept as strings here so that a value
// that slipped past a schema is reported precisely by the grain instead of failing a mapping.

/// <summary>Spec of a Certificate: its type, names, issuer, lifetime, renewal window and key.</summary>
[GenerateSerializer, Immutable, Alias("notary.CertificateSpec")]
public sealed record CertificateSpec
{
    /// <summary>"Public" or "Private".</summary>
    [Id(0)] public required string Type { get; init; }
    [Id(1)] public required string Fqdn { get; init; }
    [Id(2)] public IReadOnlyList<string> Alt { get; init; } = [];
    [Id(3)] public string? Issuer { get; init; }
    /// <summary>Go-style duration, e.g. "2160h".</summary>
    [Id(4)] public string? Duration { get; init; }
    [Id(5)] public string? RenewBefore { get; init; }
    /// <summary>"RSA" (default) or "ECDSA".</summary>
    [Id(6)] public string? KeyAlgorithm { get; init; }
    [Id(7)] public int? KeySize { get; init; }
    /// <summary><c>spec.issuerRef</c>: an Issuer or ClusterIssuer resource; wins over <see cref="Issuer"/> when both are set.</summary>
    [Id(8)] public IssuerRef? IssuerRef { get; init; }
}

/// <summary>A truststore reference to another service's Certificate.</summary>
[GenerateSerializer, Immutable, Alias("notary.TrustReference")]
public sealed record TrustReference
{
    /// <summary>Name of the Certificate.</summary>
    [Id(0)] public required string Tag { get; init; }
    /// <summary>Must equal the Certificate's spec.fqdn.</summary>
    [Id(1)] public required string Fqdn { get; init; }
    /// <summary>Without it, the tag is looked up across all namespaces and must be unique.</summary>
    [Id(2)] public string? Namespace { get; init; }
}

/// <summary>Spec of a Keystore: which certificate to package for which service, in which format, with the passwords and paths of which metadata Secret.</summary>
[GenerateSerializer, Immutable, Alias("notary.KeystoreSpec")]
public sealed record KeystoreSpec
{
    [Id(0)] public required string Fqdn { get; init; }
    [Id(1)] public required string CertName { get; init; }
    /// <summary>"PKCS12" (default) or "JKS".</summary>
    [Id(2)] public string? Format { get; init; }
    [Id(3)] public string? MetadataSecret { get; init; }
}

/// <summary>Spec of a Truststore: which service's own, upstream, downstream and CA certificates it trusts, in which format, with which metadata Secret.</summary>
[GenerateSerializer, Immutable, Alias("notary.TruststoreSpec")]
public sealed record TruststoreSpec
{
    [Id(0)] public required string Fqdn { get; init; }
    [Id(1)] public required string CertName { get; init; }
    [Id(2)] public IReadOnlyList<TrustReference> Upstream { get; init; } = [];
    [Id(3)] public IReadOnlyList<TrustReference> Downstream { get; init; } = [];
    [Id(4)] public string? Format { get; init; }
    [Id(5)] public string? MetadataSecret { get; init; }
    /// <summary>"Pinned" (default: the listed services' leaves only) or "Issuers" (also their CAs).</summary>
    [Id(6)] public string? Trust { get; init; }
    /// <summary>Certificates from outside Notary that the truststore also trusts, in spec order.</summary>
    [Id(7)] public IReadOnlyList<TrustSourceSpec> Sources { get; init; } = [];
}

/// <summary>The kinds of a Truststore's trust source.</summary>
public static class TrustSourceKinds
{
    public const string ConfigMap = "configMap";
    public const string Secret = "secret";
    public const string Inline = "inline";
    public const string DefaultCAs = "defaultCAs";
}

/// <summary>
/// One trust source: <see cref="Kind"/> is one of <see cref="TrustSourceKinds"/>; <see cref="Name"/> and
/// <see cref="Key"/> name a ConfigMap's or Secret's data key in the Truststore's own namespace,
/// <see cref="Inline"/> holds the PEM of an inline source. A source with none or several kinds set
/// (which the CRD refuses) maps to an empty Kind, which the grain reports as SourceInvalid.
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.TrustSourceSpec")]
public sealed record TrustSourceSpec
{
    [Id(0)] public required string Kind { get; init; }
    [Id(1)] public string? Name { get; init; }
    [Id(2)] public string? Key { get; init; }
    [Id(3)] public string? Inline { get; init; }
}

/// <summary>Where a resource came from: its Kubernetes uid and metadata.generation.</summary>
[GenerateSerializer, Immutable, Alias("notary.ResourceVersionInfo")]
public sealed record ResourceVersionInfo(
    [property: Id(0)] string Uid,
    [property: Id(1)] long Generation);
