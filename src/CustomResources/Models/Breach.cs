using System.Text.Json.Serialization;
using k8s.Models;

namespace Notary.CustomResources.Models;

/// <summary>
/// A compromised certificate (notary.dev/v1alpha1 Breach, short name br), in the Certificate's
/// namespace. Created with kubectl or by Notary's HTTP API on the caller's behalf; Notary acts on
/// it from the watcher and writes its progress to the status. Deleting a quarantine lifts it.
/// </summary>
[KubernetesEntity(Group = KubeGroup, ApiVersion = KubeApiVersion, Kind = KubeKind, PluralName = KubePluralName)]
public sealed class Breach() : NotaryObject<BreachSpec, BreachStatus>(KubeKind)
{
    public const string KubeGroup = NotaryResources.Group;

    /// <summary>The version without the group, as in the generated k8s.Models types.</summary>
    public const string KubeApiVersion = NotaryResources.Version;

    public const string KubeKind = "Breach";

    public const string KubePluralName = NotaryResources.BreachPlural;
}

[KubernetesEntity(Group = Breach.KubeGroup, ApiVersion = Breach.KubeApiVersion, Kind = KubeKind, PluralName = Breach.KubePluralName)]
public sealed class BreachList() : NotaryObjectList<Breach>(KubeKind)
{
    public const string KubeKind = "BreachList";
}

/// <summary>What was compromised and what to do about it.</summary>
public sealed class BreachSpec
{
    /// <summary>Name of the compromised Certificate, in the Breach's namespace.</summary>
    [JsonPropertyName("certificate")]
    public string Certificate { get; set; } = string.Empty;

    /// <summary>"rotate" or "quarantine" (<see cref="BreachModes"/>).</summary>
    [JsonPropertyName("mode")]
    public string Mode { get; set; } = string.Empty;

    /// <summary>What happened, for people.</summary>
    [JsonPropertyName("reason")]
    public string Reason { get; set; } = string.Empty;

    /// <summary>Only report the impact.</summary>
    [JsonPropertyName("dryRun")]
    public bool? DryRun { get; set; }
}

/// <summary>The values of a Breach's spec.mode.</summary>
public static class BreachModes
{
    public const string Rotate = "rotate";

    public const string Quarantine = "quarantine";
}

/// <summary>A breach's progress, written by Notary.</summary>
public sealed class BreachStatus
{
    [JsonPropertyName("phase")]
    public string? Phase { get; set; }

    /// <summary>The user the HTTP API authenticated (TokenReview); empty for a Breach created with kubectl.</summary>
    [JsonPropertyName("requestedBy")]
    public string? RequestedBy { get; set; }

    [JsonPropertyName("started")]
    public DateTimeOffset? Started { get; set; }

    /// <summary>Set once finished: a finished rotate is never run again, whatever grain state was lost.</summary>
    [JsonPropertyName("finished")]
    public DateTimeOffset? Finished { get; set; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("items")]
    public IList<BreachStatusItem>? Items { get; set; }
}

/// <summary>One thing a breach changes.</summary>
public sealed class BreachStatusItem
{
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = string.Empty;

    [JsonPropertyName("namespace")]
    public string? Namespace { get; set; }

    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("status")]
    public string Status { get; set; } = string.Empty;

    [JsonPropertyName("reason")]
    public string? Reason { get; set; }
}
