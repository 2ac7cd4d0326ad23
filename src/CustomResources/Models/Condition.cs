using System.Text.Json.Serialization;

namespace Notary.CustomResources.Models;

/// <summary>
/// One aspect of a resource's state, shaped like metav1.Condition so that kubectl and other
/// tooling (kubectl wait --for=condition=Ready) read it as they read built-in conditions.
/// </summary>
public sealed class Condition
{
    /// <summary>One of <see cref="ConditionTypes"/>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; set; } = string.Empty;

    /// <summary>One of <see cref="ConditionStatuses"/>.</summary>
    [JsonPropertyName("status")]
    public string Status { get; set; } = ConditionStatuses.Unknown;

    /// <summary>A CamelCase word that says why the condition has its status.</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; set; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("lastTransitionTime")]
    public DateTimeOffset? LastTransitionTime { get; set; }

    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }
}

/// <summary>The condition types Notary writes.</summary>
public static class ConditionTypes
{
    /// <summary>The certificate is issued, or the store is built and stored.</summary>
    public const string Ready = "Ready";

    /// <summary>A certificate is being issued or renewed.</summary>
    public const string Issuing = "Issuing";

    /// <summary>A breach was reported for the certificate.</summary>
    public const string Compromised = "Compromised";
}

/// <summary>The values of <see cref="Condition.Status"/>, as the CRD schema enumerates them.</summary>
public static class ConditionStatuses
{
    public const string True = "True";

    public const string False = "False";

    public const string Unknown = "Unknown";
}

/// <summary>The part of status that every Notary resource shares.</summary>
public abstract class ResourceStatus
{
    /// <summary>The metadata.generation this status describes.</summary>
    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    /// <summary>At most one condition per type (the CRD declares a list map keyed by type).</summary>
    [JsonPropertyName("conditions")]
    public IList<Condition>? Conditions { get; set; }

    /// <summary>The condition of the given type, or null when there is none.</summary>
    public Condition? GetCondition(string type) =>
        Conditions?.FirstOrDefault(condition => string.Equals(condition.Type, type, StringComparison.Ordinal));
}
