using System.CommandLine;
using Notary.Cli.Kube;
using Notary.CustomResources.Models;

namespace Notary.Cli.Commands;

/// <summary>
/// <c>status certificate NAME</c>: Ready and why, serial, validity, renewal time, issuer, the
/// renewal roll's phase (the Issuing condition), the keystores holding it, the truststores
/// trusting it (with whether a quarantine keeps it out of them), and its recent Events.
/// </summary>
public static class CertificateStatus
{
    private const int EventCount = 10;

    public static Command Create()
    {
        var command = new Command("certificate", "Shows a Certificate: Ready and why, serial, validity, renewal time, issuer, renewal roll, the keystores holding it, the truststores trusting it, recent Events.");
        command.Aliases.Add("cert");
        return ShowCommand.Create(command, "The Certificate's name.", GatherAsync, Human);
    }

    public static async Task<CertificateView> GatherAsync(NotaryApi api, string ns, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(api);
        var certificate = await api.GetAsync<Certificate>(NotaryResources.CertificatePlural, ns, name, cancellationToken);
        var keystores = await api.ListAsync<Keystore, KeystoreList>(NotaryResources.KeystorePlural, ns, cancellationToken);
        var (truststores, complete) = await api.ListEverywhereAsync<Truststore, TruststoreList>(NotaryResources.TruststorePlural, ns, cancellationToken);
        // A Breach names a certificate of its own namespace: listing that namespace is enough.
        var breaches = await api.ListAsync<Breach, BreachList>(NotaryResources.BreachPlural, ns, cancellationToken);
        var quarantines = StatusCommand.ActiveQuarantines(breaches.Where(b => b.Spec.Certificate == name)).Select(b => b.Metadata.Name).Order(StringComparer.Ordinal).ToList();
        var events = await api.EventsAsync(ns, Certificate.KubeKind, name, EventCount, cancellationToken);
        var spec = certificate.Spec;
        var status = certificate.Status;
        return new CertificateView
        {
            Name = name,
            Namespace = ns,
            Type = spec.Type,
            Fqdn = spec.Fqdn,
            Alt = spec.Alt is { Count: > 0 } alt ? [.. alt] : null,
            Issuer = spec.IssuerRef is { } issuerRef ? $"{issuerRef.Kind ?? "Issuer"}/{issuerRef.Name}" : spec.Issuer is { Length: > 0 } issuer ? issuer : "(the configured default)",
            Ready = StatusCommand.ConditionOf(status, ConditionTypes.Ready),
            Roll = StatusCommand.ConditionOf(status, ConditionTypes.Issuing),
            Compromised = StatusCommand.ConditionOf(status, ConditionTypes.Compromised),
            SerialNumber = status?.SerialNumber,
            PreviousSerialNumber = status?.PreviousSerialNumber,
            NotBefore = status?.NotBefore,
            NotAfter = status?.NotAfter,
            RenewalTime = status?.RenewalTime,
            Revision = status?.Revision,
            Quarantines = quarantines.Count > 0 ? quarantines : null,
            Keystores = [.. keystores.Where(k => k.Spec.CertName == name).OrderBy(k => k.Metadata.Name, StringComparer.Ordinal).Select(k => new StoreView(ns, k.Metadata.Name, StatusCommand.ConditionOf(k.Status, ConditionTypes.Ready), k.Status?.Location))],
            Truststores = [.. truststores.Where(t => Trusts(t, ns, name))
                .OrderBy(t => t.Metadata.NamespaceProperty, StringComparer.Ordinal).ThenBy(t => t.Metadata.Name, StringComparer.Ordinal)
                .Select(t => new StoreView(t.Metadata.NamespaceProperty, t.Metadata.Name, StatusCommand.ConditionOf(t.Status, ConditionTypes.Ready), t.Status?.Location)
                {
                    // A quarantine takes the certificate out of every truststore but its own service's.
                    LeftOut = quarantines.Count > 0 && !(t.Metadata.NamespaceProperty == ns && t.Spec.CertName == name) ? true : null,
                })],
            TruststoresComplete = complete ? null : false,
            Events = [.. events.Select(e => new EventView(e.Type, e.Reason, e.LastTimestamp ?? e.EventTime ?? e.Metadata?.CreationTimestamp, CliAction.OneLine(e.Message ?? string.Empty)))],
        };
    }

    /// <summary>Whether a truststore trusts Certificate <paramref name="ns"/>/<paramref name="name"/>: its own service's, or a peer naming it (by namespace, or bound to it).</summary>
    public static bool Trusts(Truststore truststore, string ns, string name)
    {
        ArgumentNullException.ThrowIfNull(truststore);
        var own = truststore.Metadata.NamespaceProperty;
        if (own == ns && truststore.Spec.CertName == name)
        {
            return true;
        }

        return truststore.Spec.Upstream.Concat(truststore.Spec.Downstream).Any(peer => peer.Tag == name && ResolvedNamespace(truststore, peer) == ns);
    }

    /// <summary>The namespace a peer reference resolves to: its own, else the bound one in status.references; null while unbound.</summary>
    public static string? ResolvedNamespace(Truststore truststore, PeerReference peer)
    {
        ArgumentNullException.ThrowIfNull(truststore);
        ArgumentNullException.ThrowIfNull(peer);
        return peer.Namespace is { Length: > 0 } given ? given : truststore.Status?.References?.FirstOrDefault(r => r.Tag == peer.Tag)?.Namespace;
    }

    public static string Human(CertificateView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var text = new System.Text.StringBuilder();
        text.AppendLine($"Certificate {view.Namespace}/{view.Name}");
        text.AppendLine($"  Type:          {view.Type}");
        text.AppendLine($"  FQDN:          {view.Fqdn}{(view.Alt is { } alt ? $" (alt: {string.Join(", ", alt)})" : "")}");
        text.AppendLine($"  Ready:         {StatusCommand.Show(view.Ready)}");
        text.AppendLine($"  Issuer:        {view.Issuer}");
        text.AppendLine($"  Serial:        {view.SerialNumber ?? "-"}{(view.PreviousSerialNumber is { } previous ? $" (previous {previous})" : "")}");
        text.AppendLine($"  Not before:    {StatusCommand.Time(view.NotBefore)}");
        text.AppendLine($"  Not after:     {StatusCommand.Time(view.NotAfter)}");
        text.AppendLine($"  Renewal time:  {StatusCommand.Time(view.RenewalTime)}");
        text.AppendLine($"  Revision:      {view.Revision?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}");
        text.AppendLine($"  Renewal roll:  {(view.Roll is null ? "none" : StatusCommand.Show(view.Roll))}");
        if (view.Compromised is { Status: ConditionStatuses.True } compromised)
        {
            text.AppendLine($"  Compromised:   {StatusCommand.Show(compromised)}");
        }

        if (view.Quarantines is { } quarantines)
        {
            text.AppendLine($"  Quarantined:   by breach {string.Join(", ", quarantines)} (out of every truststore but its own service's)");
        }

        text.AppendLine($"Keystores holding it ({view.Keystores.Count}):");
        foreach (var store in view.Keystores)
        {
            text.AppendLine($"  {store.Namespace}/{store.Name}  Ready: {StatusCommand.Show(store.Ready)}  {store.Location ?? ""}".TrimEnd());
        }

        text.AppendLine($"Truststores trusting it ({view.Truststores.Count}{(view.TruststoresComplete == false ? $", namespace {view.Namespace} only: no permission to list truststores in every namespace" : "")}):");
        foreach (var store in view.Truststores)
        {
            text.AppendLine($"  {store.Namespace}/{store.Name}  Ready: {StatusCommand.Show(store.Ready)}{(store.LeftOut == true ? "  (left out while quarantined)" : "")}");
        }

        text.AppendLine($"Events ({view.Events.Count}):");
        foreach (var e in view.Events)
        {
            text.AppendLine($"  {StatusCommand.Time(e.Time)}  {e.Type}  {e.Reason}  {e.Message}");
        }

        return text.ToString();
    }
}

/// <summary>What <c>status certificate</c> prints (and <c>-o json|yaml</c> serializes).</summary>
public sealed record CertificateView
{
    public required string Name { get; init; }
    public required string Namespace { get; init; }
    public required string Type { get; init; }
    public required string Fqdn { get; init; }
    public IReadOnlyList<string>? Alt { get; init; }
    public required string Issuer { get; init; }
    public ConditionView? Ready { get; init; }
    /// <summary>The renewal roll: the Issuing condition (its reason is the phase).</summary>
    public ConditionView? Roll { get; init; }
    public ConditionView? Compromised { get; init; }
    public string? SerialNumber { get; init; }
    public string? PreviousSerialNumber { get; init; }
    public DateTimeOffset? NotBefore { get; init; }
    public DateTimeOffset? NotAfter { get; init; }
    public DateTimeOffset? RenewalTime { get; init; }
    public long? Revision { get; init; }
    /// <summary>Breaches that hold it in quarantine now.</summary>
    public IReadOnlyList<string>? Quarantines { get; init; }
    public IReadOnlyList<StoreView> Keystores { get; init; } = [];
    public IReadOnlyList<StoreView> Truststores { get; init; } = [];
    /// <summary>False when only the certificate's namespace could be searched for truststores.</summary>
    public bool? TruststoresComplete { get; init; }
    public IReadOnlyList<EventView> Events { get; init; } = [];
}

/// <summary>A keystore or truststore around a certificate.</summary>
public sealed record StoreView(string Namespace, string Name, ConditionView? Ready, string? Location)
{
    /// <summary>True when a quarantine keeps the certificate out of this truststore.</summary>
    public bool? LeftOut { get; init; }
}

/// <summary>A Kubernetes Event, one line.</summary>
public sealed record EventView(string? Type, string? Reason, DateTime? Time, string Message);
