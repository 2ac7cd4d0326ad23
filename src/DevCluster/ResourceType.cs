using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>One column of the Table the server returns for kubectl get; Cell computes it from the object and the time.</summary>
internal sealed record PrinterColumn(string Name, string Type, string Format, string Description, int Priority, Func<JsonObject, DateTimeOffset, JsonNode?> Cell);

/// <summary>How a stored object is shown through another API version (events.k8s.io Events are core Events).</summary>
internal interface IObjectConverter
{
    JsonObject FromStorage(JsonObject stored);

    JsonObject ToStorage(JsonObject served);
}

/// <summary>A REST resource: one plural of one group version, as discovery lists it.</summary>
internal sealed class ResourceType
{
    public static readonly IReadOnlyList<string> StandardVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    public static readonly IReadOnlyList<string> CreateOnly = ["create"];

    public required string Group { get; init; }

    public required string Version { get; init; }

    public required string Kind { get; init; }

    public required string Plural { get; init; }

    public string Singular { get; init; } = "";

    public string? ListKindOverride { get; init; }

    public string ListKind => ListKindOverride ?? Kind + "List";

    public required bool Namespaced { get; init; }

    public IReadOnlyList<string> ShortNames { get; init; } = [];

    public IReadOnlyList<string> Categories { get; init; } = [];

    public IReadOnlyList<string> Verbs { get; init; } = StandardVerbs;

    /// <summary>Subresources besides the main endpoint, e.g. status, token.</summary>
    public IReadOnlyList<string> Subresources { get; init; } = [];

    public bool HasStatusSubresource => Subresources.Contains("status");

    /// <summary>metadata.generation is kept (CRs, apps, CRDs).</summary>
    public bool HasGeneration { get; init; }

    public bool IsCustom { get; init; }

    /// <summary>Create-only virtual kinds (TokenReview, SubjectAccessReview...): answered, never stored.</summary>
    public bool IsVirtual { get; init; }

    /// <summary>Key of the storage shared by every version (and by events.k8s.io/core Events).</summary>
    public string StorageKey => StorageKeyOverride ?? (Group.Length == 0 ? Plural : Plural + "." + Group);

    public string? StorageKeyOverride { get; init; }

    /// <summary>Structural schema for pruning and validation (the CRD schema, or one derived from the Go type).</summary>
    public SchemaNode? Schema { get; init; }

    /// <summary>Full schema validation (required, enum, pattern...) as for CRDs; built-ins only prune and type-check.</summary>
    public bool ValidateSchema { get; init; }

    public IReadOnlyList<PrinterColumn> Columns { get; init; } = [];

    public IObjectConverter? Converter { get; init; }

    /// <summary>Built-ins accept strategic merge patch; custom resources answer 415 as a real server does.</summary>
    public bool SupportsStrategicMerge => !IsCustom;

    public string ApiVersion => Group.Length == 0 ? Version : Group + "/" + Version;

    /// <summary>The group-qualified resource as errors name it: certificates.notary.dev, secrets.</summary>
    public string GroupResource => Group.Length == 0 ? Plural : Plural + "." + Group;

    /// <summary>The group-qualified kind as validation errors name it: Certificate.notary.dev, Secret.</summary>
    public string GroupKind => Group.Length == 0 ? Kind : Kind + "." + Group;

    public Type? ModelType { get; init; }

    public override string ToString() => ApiVersion + "/" + Plural;
}
