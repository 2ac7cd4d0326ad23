using System.Text.Json;
using System.Text.Json.Serialization;
using Notary.CustomResources;
using Notary.Grains.Abstractions;

namespace Notary.Api.Contracts;

/// <summary>
/// The breach API's wire format, shared by the HTTP API and the <c>breach</c> command: camelCase
/// names, enums as lowercase strings (<c>"rotate"</c>), phases and item statuses as the grain
/// spells them (<c>"InProgress"</c>, like Kubernetes phases).
/// </summary>
public static class BreachJson
{
    /// <summary>Where the breach API is served on Notary's HTTP API.</summary>
    public const string BasePath = "/v1/breaches";

    /// <summary>A reason longer than this is refused: it is a note for people, and it goes into Events.</summary>
    public const int MaxReasonLength = 1024;

    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false) },
        WriteIndented = false,
    };

    /// <summary>The lowercase name of a mode, as the API and the command line spell it.</summary>
    public static string Name(BreachMode mode) => mode switch
    {
        BreachMode.Rotate => "rotate",
        BreachMode.Quarantine => "quarantine",
        _ => mode.ToString().ToLowerInvariant(),
    };

    public static bool TryParseMode(string? value, out BreachMode mode)
    {
        switch (value)
        {
            case "rotate":
                mode = BreachMode.Rotate;
                return true;
            case "quarantine":
                mode = BreachMode.Quarantine;
                return true;
            default:
                mode = default;
                return false;
        }
    }

    /// <summary>
    /// A breach id: <c>NAMESPACE.NAME</c> of the Breach object, with Kubernetes' rules for both
    /// (a namespace has no dot, so the first dot splits it). False for anything that cannot name a Breach.
    /// </summary>
    public static bool TryParseId(string? id, out ResourceKey breach) =>
        BreachIds.TryParse(id, out breach) && KubernetesNames.IsDnsLabel(breach.Namespace) && KubernetesNames.IsDnsSubdomain(breach.Name);

    /// <summary>NAMESPACE/NAME with Kubernetes' rules for a namespace and an object name, or an error that says what is wrong.</summary>
    public static string? CheckCertificate(string? value, out ResourceKey key)
    {
        key = default;
        if (string.IsNullOrEmpty(value))
        {
            return "certificate is required, as NAMESPACE/NAME";
        }

        var parts = value.Split('/');
        if (parts.Length != 2)
        {
            return "certificate must be NAMESPACE/NAME";
        }

        if (!KubernetesNames.IsDnsLabel(parts[0]))
        {
            return "certificate: the namespace must be a DNS label (lowercase letters, digits and '-', at most 63)";
        }

        if (!KubernetesNames.IsDnsSubdomain(parts[1]))
        {
            return "certificate: the name must be a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253)";
        }

        key = new ResourceKey(parts[0], parts[1]);
        return null;
    }

    /// <summary>The reason as it is kept and shown: one line, or an error when it is missing or too long.</summary>
    public static string? CheckReason(string? value, out string reason)
    {
        reason = Clean(value ?? string.Empty, int.MaxValue);
        if (value is not null && value.Trim().Length > MaxReasonLength)
        {
            return $"reason is longer than {MaxReasonLength} characters";
        }

        return reason.Length == 0 ? "reason is required: say what happened" : null;
    }

    /// <summary>
    /// User input made safe for a log line, an Event or a terminal: control, format (bidi
    /// overrides, zero-width) and line-separator characters become spaces, runs of spaces one,
    /// the ends trimmed, and at most <paramref name="max"/> characters kept ("…" marks a cut).
    /// </summary>
    public static string Clean(string text, int max) => OneLine.Clean(text, max);
}

/// <summary>The body of <c>POST /v1/breaches</c>.</summary>
public sealed record BreachSubmission(string Certificate, BreachMode Mode, string Reason, bool DryRun = false);

/// <summary>A breach as the API shows it (<c>GET /v1/breaches/{id}</c>).</summary>
public sealed record BreachResource
{
    public required string Id { get; init; }

    /// <summary>NAMESPACE/NAME.</summary>
    public required string Certificate { get; init; }

    public required BreachMode Mode { get; init; }

    public required string Reason { get; init; }

    /// <summary><see cref="BreachPhase"/>: DryRun, InProgress, Completed, Failed or Lifted.</summary>
    public required string Phase { get; init; }

    /// <summary>True when <see cref="Phase"/> will not change by itself any more (a lift may still follow a quarantine).</summary>
    public bool Done { get; init; }

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset? Finished { get; init; }

    public string? Message { get; init; }

    public string RequestedBy { get; init; } = string.Empty;

    public IReadOnlyList<BreachItem> Items { get; init; } = [];

    public static BreachResource From(BreachReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new BreachResource
        {
            Id = report.Id,
            Certificate = report.Certificate.ToString(),
            Mode = report.Mode,
            Reason = report.Reason,
            Phase = report.Phase,
            Done = report.IsFinished,
            Created = report.Created,
            Finished = report.Finished,
            Message = report.Message,
            RequestedBy = report.RequestedBy,
            Items = report.Items,
        };
    }
}

/// <summary>Every refusal of the API: <c>{"error": "..."}</c>, naming the field or permission at fault.</summary>
public sealed record BreachApiError(string Error);
