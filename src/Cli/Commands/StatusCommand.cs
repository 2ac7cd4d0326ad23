using System.CommandLine;
using Notary.CustomResources.Models;

namespace Notary.Cli.Commands;

/// <summary>
/// <c>status certificate NAME</c> and <c>status truststore NAME</c>: what Notary did with one
/// resource, gathered from the API server (the resource, the stores around it, active
/// quarantines, its Events), as cmctl's <c>status certificate</c> shows a cert-manager one.
/// </summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var status = new Command("status", "Shows what Notary did with a Certificate or a Truststore.");
        status.Subcommands.Add(CertificateStatus.Create());
        status.Subcommands.Add(TruststoreStatus.Create());
        return status;
    }

    /// <summary>The Ready-like condition of <paramref name="type"/>, or null.</summary>
    public static ConditionView? ConditionOf(ResourceStatus? status, string type) =>
        status?.Conditions?.FirstOrDefault(c => c.Type == type) is { } c ? new ConditionView(c.Status, c.Reason, c.Message) : null;

    /// <summary>"True (Issued): message", as one line.</summary>
    public static string Show(ConditionView? condition) => condition is null
        ? "Unknown (no status yet)"
        : $"{condition.Status}{(condition.Reason is { Length: > 0 } r ? $" ({r})" : "")}{(condition.Message is { Length: > 0 } m ? $": {CliAction.OneLine(m)}" : "")}";

    /// <summary>Breaches that keep a certificate quarantined now: mode quarantine, not a dry run, not being lifted.</summary>
    public static IEnumerable<Breach> ActiveQuarantines(IEnumerable<Breach> breaches) =>
        breaches.Where(b => b.Spec.Mode == BreachModes.Quarantine && b.Spec.DryRun != true && b.Metadata.DeletionTimestamp is null);

    public static string Time(DateTimeOffset? time) => time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) : "-";
}

/// <summary>A condition as the views show it.</summary>
public sealed record ConditionView(string Status, string? Reason, string? Message);
