using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>Persisted state of a tag: the Certificates of that name and the truststores watching it.</summary>
[GenerateSerializer, Alias("notary.CertificateTagState")]
public sealed class CertificateTagState
{
    /// <summary>Namespace to fqdn of each Certificate with this name.</summary>
    [Id(0)] public Dictionary<string, string> Registrations { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public HashSet<SubscriberRef> Watchers { get; set; } = [];
    /// <summary>Namespace to the metadata.uid of the Certificate registered there (absent for registrations made before uids were recorded).</summary>
    [Id(2)] public Dictionary<string, string> Uids { get; set; } = new(StringComparer.Ordinal);
}
