using System.CommandLine;
using Notary.Cli.Kube;
using Notary.CustomResources.Models;

namespace Notary.Cli.Commands;

/// <summary>
/// <c>status truststore NAME</c>: what it trusts and from where (its own service's certificate,
/// upstream and downstream references with the namespace each is bound to, trust sources), its
/// mode (Pinned or Issuers), which certificates a quarantine leaves out, what it holds now.
/// </summary>
public static class TruststoreStatus
{
    private const int EventCount = 10;

    public static Command Create()
    {
        var command = new Command("truststore", "Shows a Truststore: what it trusts and from where (references with their bound namespaces, sources), its mode, quarantined certificates left out, recent Events.");
        command.Aliases.Add("ts");
        return ShowCommand.Create(command, "The Truststore's name.", GatherAsync, Human);
    }

    public static async Task<TruststoreView> GatherAsync(NotaryApi api, string ns, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(api);
        var truststore = await api.GetAsync<Truststore>(NotaryResources.TruststorePlural, ns, name, cancellationToken);
        var (breaches, complete) = await api.ListEverywhereAsync<Breach, BreachList>(NotaryResources.BreachPlural, ns, cancellationToken);
        var quarantined = StatusCommand.ActiveQuarantines(breaches)
            .GroupBy(b => (b.Metadata.NamespaceProperty, b.Spec.Certificate))
            .ToDictionary(g => g.Key, g => g.Select(b => b.Metadata.Name).Order(StringComparer.Ordinal).ToList());
        var spec = truststore.Spec;
        var trusted = new List<TrustedView> { new("self", spec.CertName, ns, spec.Fqdn, Bound: false, LeftOutBy: null) };
        foreach (var (role, peers) in new[] { ("upstream", spec.Upstream), ("downstream", spec.Downstream) })
        {
            foreach (var peer in peers)
            {
                var resolved = CertificateStatus.ResolvedNamespace(truststore, peer);
                var leftOut = resolved is not null && quarantined.TryGetValue((resolved, peer.Tag), out var by) ? by : null;
                trusted.Add(new TrustedView(role, peer.Tag, resolved, peer.Fqdn, Bound: peer.Namespace is not { Length: > 0 } && resolved is not null, leftOut));
            }
        }

        var events = await api.EventsAsync(ns, Truststore.KubeKind, name, EventCount, cancellationToken);
        return new TruststoreView
        {
            Name = name,
            Namespace = ns,
            Fqdn = spec.Fqdn,
            Mode = spec.Trust,
            Format = spec.Format,
            Ready = StatusCommand.ConditionOf(truststore.Status, ConditionTypes.Ready),
            TrustsIssuers = StatusCommand.ConditionOf(truststore.Status, "TrustsIssuers"),
            Location = truststore.Status?.Location,
            Trusts = trusted,
            Sources = [.. (spec.Sources ?? []).Select(Describe)],
            Entries = truststore.Status?.Entries is { } entries ? [.. entries] : [],
            QuarantinesComplete = complete ? null : false,
            Events = [.. events.Select(e => new EventView(e.Type, e.Reason, e.LastTimestamp ?? e.EventTime ?? e.Metadata?.CreationTimestamp, CliAction.OneLine(e.Message ?? string.Empty)))],
        };
    }

    private static string Describe(TrustSource source) =>
        source.ConfigMap is { } configMap ? $"configMap {configMap.Name} key {configMap.Key}"
        : source.Secret is { } secret ? $"secret {secret.Name} key {secret.Key}"
        : source.Inline is { } inline ? $"inline PEM ({inline.Split("-----BEGIN CERTIFICATE-----").Length - 1} certificates)"
        : source.DefaultCAs == true ? "defaultCAs (the machine's public root bundle)"
        : "(empty source)";

    public static string Human(TruststoreView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var text = new System.Text.StringBuilder();
        text.AppendLine($"Truststore {view.Namespace}/{view.Name}");
        text.AppendLine($"  FQDN:      {view.Fqdn}");
        text.AppendLine($"  Mode:      {view.Mode}{(view.Mode == TrustModes.Issuers ? " (trusts every certificate the listed certificates' CAs sign)" : " (exactly the listed certificates)")}");
        text.AppendLine($"  Format:    {view.Format}");
        text.AppendLine($"  Ready:     {StatusCommand.Show(view.Ready)}");
        text.AppendLine($"  Location:  {view.Location ?? "-"}");
        text.AppendLine($"Trusts ({view.Trusts.Count} certificates):");
        foreach (var t in view.Trusts)
        {
            var where = t.Namespace is null ? "(not resolved yet)" : $"{t.Namespace}/{t.Certificate}{(t.Bound ? " (bound)" : "")}";
            var leftOut = t.LeftOutBy is { } by ? $"  LEFT OUT: quarantined by breach {string.Join(", ", by)}" : "";
            text.AppendLine($"  {t.Role,-10} {where}  fqdn {t.Fqdn}{leftOut}");
        }

        text.AppendLine($"Sources ({view.Sources.Count}):");
        foreach (var source in view.Sources)
        {
            text.AppendLine($"  {source}");
        }

        text.AppendLine($"Entries ({view.Entries.Count}): {string.Join(", ", view.Entries)}");
        if (view.QuarantinesComplete == false)
        {
            text.AppendLine($"  (quarantines of namespace {view.Namespace} only: no permission to list breaches in every namespace)");
        }

        text.AppendLine($"Events ({view.Events.Count}):");
        foreach (var e in view.Events)
        {
            text.AppendLine($"  {StatusCommand.Time(e.Time)}  {e.Type}  {e.Reason}  {e.Message}");
        }

        return text.ToString();
    }
}

/// <summary>What <c>status truststore</c> prints (and <c>-o json|yaml</c> serializes).</summary>
public sealed record TruststoreView
{
    public required string Name { get; init; }
    public required string Namespace { get; init; }
    public required string Fqdn { get; init; }
    /// <summary>Pinned or Issuers.</summary>
    public required string Mode { get; init; }
    public required string Format { get; init; }
    public ConditionView? Ready { get; init; }
    public ConditionView? TrustsIssuers { get; init; }
    public string? Location { get; init; }
    public IReadOnlyList<TrustedView> Trusts { get; init; } = [];
    public IReadOnlyList<string> Sources { get; init; } = [];
    public IReadOnlyList<string> Entries { get; init; } = [];
    /// <summary>False when only the truststore's namespace could be searched for quarantines.</summary>
    public bool? QuarantinesComplete { get; init; }
    public IReadOnlyList<EventView> Events { get; init; } = [];
}

/// <summary>A certificate a truststore trusts: self, upstream or downstream; where it resolved; the quarantines that leave it out.</summary>
public sealed record TrustedView(string Role, string Certificate, string? Namespace, string Fqdn, bool Bound, IReadOnlyList<string>? LeftOutBy);
