using System.Text.Json.Nodes;
using Notary.Grains.Abstractions;
using Model = Notary.CustomResources.Models;

namespace Notary.CustomResources;

/// <summary>
/// Pure translations between the Breach resource and the grains' terms: the object into the
/// request the breach grain acts on (with the status the API server records, which outlives grain
/// state), the report into the status Notary writes.
/// </summary>
public static class BreachMapping
{
    /// <summary>The longest reason kept (the CRD's maxLength of spec.reason).</summary>
    public const int MaxReasonLength = 1024;

    /// <summary>The grains' mode of spec.mode; null for a value the schema should have refused.</summary>
    public static BreachMode? ModeOf(string? mode) => mode switch
    {
        Model.BreachModes.Rotate => BreachMode.Rotate,
        Model.BreachModes.Quarantine => BreachMode.Quarantine,
        _ => null,
    };

    public static string ModeName(BreachMode mode) => mode == BreachMode.Quarantine ? Model.BreachModes.Quarantine : Model.BreachModes.Rotate;

    /// <summary>What the watcher forwards; null when the spec cannot be acted on (an unknown mode).</summary>
    public static BreachRequest? ToRequest(Model.Breach breach)
    {
        ArgumentNullException.ThrowIfNull(breach);
        if (ModeOf(breach.Spec.Mode) is not { } mode)
        {
            return null;
        }

        var key = ResourceMapping.KeyOf(breach);
        var recorded = breach.Status?.Phase is { Length: > 0 } ? ToReport(breach) : null;
        return new BreachRequest(
            new ResourceKey(key.Namespace, breach.Spec.Certificate ?? string.Empty),
            mode,
            // kubectl-created reasons are not checked by Notary's API: one trimmed line, bounded.
            OneLine.Clean(breach.Spec.Reason ?? string.Empty, MaxReasonLength),
            breach.Spec.DryRun == true,
            breach.Status?.RequestedBy ?? string.Empty,
            breach.Metadata.Uid,
            recorded);
    }

    /// <summary>The Breach as a report: its status, or Pending before Notary wrote one.</summary>
    public static BreachReport ToReport(Model.Breach breach)
    {
        ArgumentNullException.ThrowIfNull(breach);
        var key = ResourceMapping.KeyOf(breach);
        var status = breach.Status;
        return new BreachReport
        {
            Id = BreachIds.For(key),
            Uid = breach.Metadata.Uid,
            Certificate = new ResourceKey(key.Namespace, breach.Spec.Certificate ?? string.Empty),
            Mode = ModeOf(breach.Spec.Mode) ?? BreachMode.Rotate,
            Reason = breach.Spec.Reason ?? string.Empty,
            Phase = status?.Phase is { Length: > 0 } phase ? phase : BreachPhase.Pending,
            Created = status?.Started ?? (breach.Metadata.CreationTimestamp is { } created ? new DateTimeOffset(DateTime.SpecifyKind(created, DateTimeKind.Utc)) : DateTimeOffset.MinValue),
            Finished = status?.Finished,
            Message = status?.Message,
            RequestedBy = status?.RequestedBy ?? string.Empty,
            Items = status?.Items is null ? [] : [.. status.Items.Select(i => new BreachItem(i.Kind, i.Namespace ?? string.Empty, i.Name, i.Status, i.Reason))],
        };
    }

    /// <summary>
    /// The status as a JSON merge patch body: every field the grain owns, null ones removed;
    /// requestedBy only when known (the HTTP API writes it, possibly after the grain's first write).
    /// </summary>
    public static JsonObject ToStatusPatch(BreachReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var items = new JsonArray();
        foreach (var item in report.Items)
        {
            var node = new JsonObject { ["kind"] = item.Kind, ["namespace"] = item.Namespace, ["name"] = item.Name, ["status"] = item.Status };
            if (item.Reason is not null)
            {
                node["reason"] = Cut(item.Reason);
            }

            items.Add(node);
        }

        var status = new JsonObject
        {
            ["phase"] = report.Phase,
            ["started"] = Time(report.Created),
            ["finished"] = report.Finished is { } finished ? Time(finished) : null,
            ["message"] = report.Message is null ? null : Cut(report.Message),
            ["items"] = items,
        };
        if (report.RequestedBy.Length > 0)
        {
            status["requestedBy"] = report.RequestedBy;
        }

        return new JsonObject { ["status"] = status };
    }

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Cut(string text) =>
        text.Length <= ResourceMapping.MaxConditionMessageLength ? text : text[..(ResourceMapping.MaxConditionMessageLength - 1)] + "…";
}
