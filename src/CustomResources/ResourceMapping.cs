using k8s;
using k8s.Models;
using Notary.Grains.Abstractions;
using Model = Notary.CustomResources.Models;

namespace Notary.CustomResources;

/// <summary>
/// Pure translations between the custom resources (Models) and what the grains speak
/// (Grains.Abstractions): specs into grain specs, grain status into the status subresource.
/// Values are passed on as written, so that the grain, not a mapping, reports a bad one.
/// </summary>
public static class ResourceMapping
{
    /// <summary>The CRD's limit on a condition's message; longer messages are cut with an ellipsis.</summary>
    public const int MaxConditionMessageLength = 32768;

    /// <summary>The CRD's limit on a condition's reason.</summary>
    public const int MaxConditionReasonLength = 1024;

    public static ResourceKey KeyOf(IKubernetesObject<V1ObjectMeta> resource) =>
        new(resource.Metadata?.NamespaceProperty ?? string.Empty, resource.Metadata?.Name ?? string.Empty);

    /// <summary>Uid and generation; a resource the API server has not yet given a generation counts as generation 0.</summary>
    public static ResourceVersionInfo OriginOf(IKubernetesObject<V1ObjectMeta> resource) =>
        new(resource.Metadata?.Uid ?? string.Empty, resource.Metadata?.Generation ?? 0);

    public static CertificateSpec ToSpec(Model.CertificateSpec spec) => new()
    {
        Type = spec.Type ?? string.Empty,
        Fqdn = spec.Fqdn ?? string.Empty,
        Alt = spec.Alt is null ? [] : [.. spec.Alt],
        Issuer = NullIfEmpty(spec.Issuer),
        IssuerRef = spec.IssuerRef is { } issuerRef ? IssuerMapping.ToRef(issuerRef) : null,
        Duration = NullIfEmpty(spec.Duration),
        RenewBefore = NullIfEmpty(spec.RenewBefore),
        KeyAlgorithm = NullIfEmpty(spec.PrivateKey?.Algorithm),
        KeySize = spec.PrivateKey?.Size,
    };

    public static KeystoreSpec ToSpec(Model.KeystoreSpec spec) => new()
    {
        Fqdn = spec.Fqdn ?? string.Empty,
        CertName = spec.CertName ?? string.Empty,
        Format = NullIfEmpty(spec.Format),
        MetadataSecret = NullIfEmpty(spec.MetadataSecret),
    };

    public static TruststoreSpec ToSpec(Model.TruststoreSpec spec) => new()
    {
        Fqdn = spec.Fqdn ?? string.Empty,
        CertName = spec.CertName ?? string.Empty,
        Upstream = spec.Upstream is null ? [] : [.. spec.Upstream.Select(ToReference)],
        Downstream = spec.Downstream is null ? [] : [.. spec.Downstream.Select(ToReference)],
        Format = NullIfEmpty(spec.Format),
        MetadataSecret = NullIfEmpty(spec.MetadataSecret),
        Trust = NullIfEmpty(spec.Trust),
        Sources = spec.Sources is null ? [] : [.. spec.Sources.Select(ToSource)],
    };

    /// <summary>A trust source; one with none or several kinds set maps to an empty Kind (the grain reports it).</summary>
    public static TrustSourceSpec ToSource(Model.TrustSource source)
    {
        var kinds = new List<TrustSourceSpec>();
        if (source.ConfigMap is { } configMap)
        {
            kinds.Add(new() { Kind = TrustSourceKinds.ConfigMap, Name = configMap.Name ?? string.Empty, Key = configMap.Key ?? string.Empty });
        }

        if (source.Secret is { } secret)
        {
            kinds.Add(new() { Kind = TrustSourceKinds.Secret, Name = secret.Name ?? string.Empty, Key = secret.Key ?? string.Empty });
        }

        if (source.Inline is { } inline)
        {
            kinds.Add(new() { Kind = TrustSourceKinds.Inline, Inline = inline });
        }

        if (source.DefaultCAs == true)
        {
            kinds.Add(new() { Kind = TrustSourceKinds.DefaultCAs });
        }

        return kinds.Count == 1 ? kinds[0] : new() { Kind = string.Empty };
    }

    public static TrustReference ToReference(Model.PeerReference peer) => new()
    {
        Tag = peer.Tag ?? string.Empty,
        Fqdn = peer.Fqdn ?? string.Empty,
        Namespace = NullIfEmpty(peer.Namespace),
    };

    /// <summary>The name of the metadata Secret a store reads, with the CRD's default when unset.</summary>
    public static string MetadataSecretOf(string? metadataSecret) =>
        string.IsNullOrEmpty(metadataSecret) ? Model.StoreDefaults.MetadataSecret : metadataSecret;

    public static Model.CertificateStatus ToModel(CertificateStatus status) => new()
    {
        Arn = NullIfEmpty(status.Arn),
        SerialNumber = NullIfEmpty(status.SerialNumber),
        NotBefore = status.NotBefore,
        NotAfter = status.NotAfter,
        RenewalTime = status.RenewalTime,
        PreviousSerialNumber = NullIfEmpty(status.PreviousSerialNumber),
        LastManualRenewal = status.LastManualRenewal is { } renewal
            ? new Model.ManualRenewalStatus { Token = renewal.Token, RequestedAt = renewal.RequestedAt, Outcome = renewal.Outcome }
            : null,
        Revision = status.Revision,
        Tags = status.Tags.Count == 0 ? null : new Dictionary<string, string>(status.Tags, StringComparer.Ordinal),
        ValidationRecords = status.ValidationRecords.Count == 0
            ? null
            : [.. status.ValidationRecords.Select(r => new Model.ValidationRecord { Name = r.Name, Type = r.Type, Value = r.Value })],
        Conditions = ToModel(status.Conditions),
        ObservedGeneration = status.ObservedGeneration,
    };

    /// <summary>A Keystore is built from one certificate: its revision is the single value of the map.</summary>
    public static Model.KeystoreStatus ToKeystoreModel(StoreStatus status) => new()
    {
        Arn = NullIfEmpty(status.Arn),
        Location = NullIfEmpty(status.Location),
        CertificateRevision = status.CertificateRevisions.Count == 0
            ? null
            : status.CertificateRevisions.OrderBy(pair => pair.Key, StringComparer.Ordinal).First().Value,
        Conditions = ToModel(status.Conditions),
        ObservedGeneration = status.ObservedGeneration,
    };

    public static Model.TruststoreStatus ToTruststoreModel(StoreStatus status) => new()
    {
        Arn = NullIfEmpty(status.Arn),
        Location = NullIfEmpty(status.Location),
        CertificateRevision = status.CertificateRevisions.Count == 0
            ? null
            : new SortedDictionary<string, long>(status.CertificateRevisions.ToDictionary(), StringComparer.Ordinal),
        Entries = status.Entries.Count == 0 ? null : [.. status.Entries],
        References = status.References.Count == 0
            ? null
            : [.. status.References.Select(r => new Model.BoundReferenceStatus { Tag = r.Tag, Namespace = r.Namespace, Uid = NullIfEmpty(r.Uid) })],
        Conditions = ToModel(status.Conditions),
        ObservedGeneration = status.ObservedGeneration,
    };

    public static Model.Condition ToModel(StatusCondition condition) => new()
    {
        Type = condition.Type,
        Status = condition.Status,
        Reason = NullIfEmpty(Truncate(condition.Reason, MaxConditionReasonLength)),
        Message = Truncate(condition.Message, MaxConditionMessageLength),
        LastTransitionTime = condition.LastTransitionTime,
        ObservedGeneration = condition.ObservedGeneration,
    };

    internal static List<Model.Condition>? ToModel(IReadOnlyList<StatusCondition> conditions) =>
        conditions.Count == 0 ? null : [.. conditions.Select(ToModel)];

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string Truncate(string value, int max) =>
        value.Length <= max ? value : string.Concat(value.AsSpan(0, max - 1), "…");
}
