using Notary.CustomResources.Models;

namespace Notary.Cli.Graph;

/// <summary>How a service (its Certificate) is doing, as the graph marks it; the first that applies wins.</summary>
public enum ServiceState
{
    /// <summary>A quarantine Breach holds it (or its Compromised condition is True): truststores leave it out.</summary>
    Quarantined,

    /// <summary>Not Ready (not issued, refused, expired), or named by a truststore but not found.</summary>
    NotReady,

    /// <summary>A make-before-break roll (or an issuance) is in progress: Issuing=True.</summary>
    Rolling,

    /// <summary>Ready, and expires within the first alert threshold (default 30 days).</summary>
    Expiring,

    Ready,
}

/// <summary>How a truststore holds a certificate it names.</summary>
public enum TrustState
{
    /// <summary>The stored truststore holds it (the truststore's status.certificateRevision names it).</summary>
    Trusted,

    /// <summary>Named, but not in the stored truststore yet (not issued, store not built, reference unresolved).</summary>
    Pending,

    /// <summary>Named, but left out because a Breach quarantines it.</summary>
    Withheld,
}

/// <summary>One service: a Certificate, <c>namespace/name</c>.</summary>
public sealed record ServiceNode(string Id, string Namespace, string Name, ServiceState State, string Detail, bool Missing);

/// <summary>
/// The service <see cref="To"/> trusts <see cref="From"/> through its truststore
/// <see cref="Truststore"/> (<c>namespace/name</c>): <see cref="To"/> accepts connections from, and
/// connects to, <see cref="From"/>.
/// </summary>
public sealed record TrustEdge(string From, string To, string Truststore, TrustState State, bool IssuersMode);

/// <summary>The trust graph: nodes and edges in a fixed order (ordinal by id), so that the same cluster always draws the same text.</summary>
public sealed record TrustGraph(IReadOnlyList<ServiceNode> Nodes, IReadOnlyList<TrustEdge> Edges);

/// <summary>
/// Builds the trust graph from what the API server holds: one node per Certificate, an edge from a
/// certificate to the service whose truststore names it (upstream or downstream), so that an arrow
/// reads "is trusted by". A breach responder starts at the compromised node and follows its
/// arrows to the services that accept it. Pure: no I/O, the time and threshold are given.
/// </summary>
/// <remarks>
/// Decisions: the edge goes to the truststore's own service (spec.certName), not to a node of its
/// own, since an operator thinks in services and a service has one truststore in practice; the
/// truststore's name labels the edge. A service trusting itself is not drawn. A reference
/// without a namespace resolves as Notary does: the namespace bound in the truststore's
/// status.references, else the one Certificate of that name. A truststore in Issuers mode trusts
/// every certificate its CAs sign: its edges are marked so.
/// </remarks>
public static class TrustGraphBuilder
{
    /// <summary>The first alert threshold by default (Notary:Alerts:Thresholds 30d, 7d, 1d).</summary>
    public static readonly TimeSpan DefaultExpiringWithin = TimeSpan.FromDays(30);

    public static TrustGraph Build(
        IEnumerable<Certificate> certificates,
        IEnumerable<Truststore> truststores,
        IEnumerable<Breach> breaches,
        DateTimeOffset now,
        TimeSpan expiringWithin)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        ArgumentNullException.ThrowIfNull(truststores);
        ArgumentNullException.ThrowIfNull(breaches);
        var certs = certificates.ToDictionary(c => Key(c.Metadata.NamespaceProperty, c.Metadata.Name), StringComparer.Ordinal);
        var quarantined = breaches
            .Where(b => b.Spec.Mode == BreachModes.Quarantine && b.Spec.DryRun != true && b.Metadata.DeletionTimestamp is null && b.Status?.Phase != "Lifted")
            .Select(b => Key(b.Metadata.NamespaceProperty, b.Spec.Certificate))
            .ToHashSet(StringComparer.Ordinal);

        var nodes = new SortedDictionary<string, ServiceNode>(StringComparer.Ordinal);
        foreach (var (key, cert) in certs)
        {
            var (state, detail) = StateOf(cert, quarantined.Contains(key), now, expiringWithin);
            nodes[key] = new ServiceNode(key, cert.Metadata.NamespaceProperty, cert.Metadata.Name, state, detail, Missing: false);
        }

        var edges = new List<TrustEdge>();
        foreach (var store in truststores)
        {
            var ns = store.Metadata.NamespaceProperty;
            var owner = Key(ns, store.Spec.CertName);
            var storeKey = Key(ns, store.Metadata.Name);
            var held = store.Status?.CertificateRevision?.Keys.ToHashSet(StringComparer.Ordinal) ?? [];
            var issuers = string.Equals(store.Spec.Trust, TrustModes.Issuers, StringComparison.Ordinal);
            foreach (var peer in store.Spec.Upstream.Concat(store.Spec.Downstream))
            {
                var trusted = Resolve(peer, store, certs);
                if (trusted == owner)
                {
                    continue;
                }

                Ensure(nodes, owner);
                Ensure(nodes, trusted);
                var state = held.Contains(trusted) ? TrustState.Trusted
                    : nodes[trusted].State == ServiceState.Quarantined ? TrustState.Withheld
                    : TrustState.Pending;
                edges.Add(new TrustEdge(trusted, owner, storeKey, state, issuers));
            }
        }

        return new TrustGraph(
            [.. nodes.Values],
            [.. edges.DistinctBy(e => (e.From, e.To, e.Truststore))
                .OrderBy(e => e.From, StringComparer.Ordinal).ThenBy(e => e.To, StringComparer.Ordinal).ThenBy(e => e.Truststore, StringComparer.Ordinal)]);
    }

    private static string Key(string? ns, string name) => $"{ns}/{name}";

    private static void Ensure(SortedDictionary<string, ServiceNode> nodes, string key)
    {
        if (!nodes.ContainsKey(key))
        {
            var slash = key.IndexOf('/', StringComparison.Ordinal);
            nodes[key] = new ServiceNode(key, key[..slash], key[(slash + 1)..], ServiceState.NotReady, "not found", Missing: true);
        }
    }

    /// <summary>The Certificate a reference names, as Notary resolves it; an unresolved tag keeps the truststore's namespace (drawn as not found).</summary>
    private static string Resolve(PeerReference peer, Truststore store, IReadOnlyDictionary<string, Certificate> certs)
    {
        if (!string.IsNullOrEmpty(peer.Namespace))
        {
            return Key(peer.Namespace, peer.Tag);
        }

        if (store.Status?.References?.FirstOrDefault(r => r.Tag == peer.Tag) is { } bound)
        {
            return Key(bound.Namespace, peer.Tag);
        }

        var candidates = certs.Values.Where(c => c.Metadata.Name == peer.Tag && (string.IsNullOrEmpty(peer.Fqdn) || c.Spec.Fqdn == peer.Fqdn)).ToList();
        return candidates.Count == 1
            ? Key(candidates[0].Metadata.NamespaceProperty, peer.Tag)
            : Key(store.Metadata.NamespaceProperty, peer.Tag);
    }

    private static (ServiceState State, string Detail) StateOf(Certificate cert, bool quarantinedByBreach, DateTimeOffset now, TimeSpan expiringWithin)
    {
        var conditions = cert.Status?.Conditions ?? [];
        Condition? Find(string type) => conditions.FirstOrDefault(c => c.Type == type);
        if (quarantinedByBreach || Find(ConditionTypes.Compromised) is { Status: ConditionStatuses.True })
        {
            return (ServiceState.Quarantined, "quarantined");
        }

        if (Find(ConditionTypes.Ready) is not { Status: ConditionStatuses.True })
        {
            return (ServiceState.NotReady, Find(ConditionTypes.Ready)?.Reason is { Length: > 0 } reason ? $"not ready: {reason}" : "not ready");
        }

        if (Find(ConditionTypes.Issuing) is { Status: ConditionStatuses.True } issuing)
        {
            return (ServiceState.Rolling, $"rolling: {issuing.Reason}");
        }

        if (cert.Status?.NotAfter is { } notAfter && notAfter - now <= expiringWithin)
        {
            return (ServiceState.Expiring, $"expires {notAfter.UtcDateTime:yyyy-MM-dd}");
        }

        return (ServiceState.Ready, "ready");
    }
}
