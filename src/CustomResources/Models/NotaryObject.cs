using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Notary.CustomResources.Models;

/// <summary>
/// The shell every Notary custom resource shares: apiVersion, kind, metadata, spec and status.
/// The concrete types carry the [KubernetesEntity] attribute and their kind.
/// </summary>
public abstract class NotaryObject<TSpec, TStatus>(string kind) : IKubernetesObject<V1ObjectMeta>, ISpec<TSpec>, IStatus<TStatus?>
    where TSpec : new()
    where TStatus : class
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = NotaryResources.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = kind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public TSpec Spec { get; set; } = new();

    /// <summary>Null until Notary first writes it.</summary>
    [JsonPropertyName("status")]
    public TStatus? Status { get; set; }
}

/// <summary>The list shell of a Notary custom resource.</summary>
public abstract class NotaryObjectList<T>(string kind) : IKubernetesObject<V1ListMeta>, IItems<T>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = NotaryResources.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = kind;

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public IList<T> Items { get; set; } = [];
}
