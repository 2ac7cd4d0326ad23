using Notary.Cli.Graph;
using Notary.CustomResources.Models;
using Notary.Pki.Tests.Support;

namespace Notary.EndToEnd.Tests.Cli;

/// <summary>
/// The trust graph of <c>kubectl notary graph</c>: the builder on a small cluster (every node
/// state, every edge state, references resolved as Notary does), its DOT as graphviz reads it
/// (<c>dot -Tplain</c>: nodes, edges, labels, styles), and its Mermaid text.
/// </summary>
public sealed class TrustGraphTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);

    private static Certificate Cert(string ns, string name, string ready = "True", string? issuing = null, bool compromised = false, int days = 60, string? readyReason = null)
    {
        var conditions = new List<Condition> { new() { Type = ConditionTypes.Ready, Status = ready, Reason = readyReason ?? (ready == "True" ? "Issued" : "IssuerNotReady") } };
        if (issuing is not null)
        {
            conditions.Add(new Condition { Type = ConditionTypes.Issuing, Status = "True", Reason = issuing });
        }

        if (compromised)
        {
            conditions.Add(new Condition { Type = ConditionTypes.Compromised, Status = "True", Reason = "Quarantined" });
        }

        return new Certificate
        {
            Metadata = new() { NamespaceProperty = ns, Name = name },
            Spec = new CertificateSpec { Type = "Private", Fqdn = $"{name}.{ns}.svc" },
            Status = new CertificateStatus { NotAfter = Now.AddDays(days), Conditions = conditions },
        };
    }

    private static PeerReference Peer(string tag, string? ns = null, string? fqdnNs = null) => new() { Tag = tag, Fqdn = $"{tag}.{fqdnNs ?? ns ?? "shop"}.svc", Namespace = ns };

    private static Truststore Store(string ns, string name, string certName, PeerReference[] upstream, PeerReference[]? downstream = null, string[]? held = null, string trust = TrustModes.Pinned, BoundReferenceStatus[]? bound = null) => new()
    {
        Metadata = new() { NamespaceProperty = ns, Name = name },
        Spec = new TruststoreSpec { Fqdn = $"{certName}.{ns}.svc", CertName = certName, Upstream = upstream, Downstream = downstream ?? [], Trust = trust },
        Status = new TruststoreStatus { CertificateRevision = (held ?? []).ToDictionary(h => h, _ => 1L), References = bound ?? [] },
    };

    /// <summary>
    /// shop: orders trusts gateway (bound reference, held), payments (quarantined by a Breach:
    /// withheld) and ghost (no such Certificate: pending, node not found); gateway's truststore
    /// (Issuers mode) names orders, not stored yet (pending); web is rolling; db is not ready;
    /// api in namespace edge (found by its unique tag) trusts orders.
    /// </summary>
    private static (Certificate[] Certificates, Truststore[] Truststores, Breach[] Breaches) Cluster() =>
    (
        [
            Cert("shop", "orders"),
            Cert("shop", "gateway", days: 10),
            Cert("shop", "payments"),
            Cert("shop", "web", issuing: "WaitingForTruststores"),
            Cert("shop", "db", ready: "False"),
            Cert("edge", "api", compromised: false),
        ],
        [
            Store("shop", "orders-trust", "orders",
                upstream: [Peer("gateway"), Peer("payments", "shop")],
                downstream: [Peer("ghost", "shop"), Peer("orders", "shop")],
                held: ["shop/orders", "shop/gateway"],
                bound: [new BoundReferenceStatus { Tag = "gateway", Namespace = "shop" }]),
            Store("shop", "gateway-trust", "gateway", upstream: [Peer("orders", "shop")], trust: TrustModes.Issuers),
            Store("edge", "api-trust", "api", upstream: [Peer("orders", fqdnNs: "shop")], held: ["shop/orders"]),
        ],
        [
            new Breach { Metadata = new() { NamespaceProperty = "shop", Name = "leak" }, Spec = new BreachSpec { Certificate = "payments", Mode = BreachModes.Quarantine, Reason = "leaked" }, Status = new BreachStatus { Phase = "Completed" } },
            // A dry run and a rotate quarantine nothing.
            new Breach { Metadata = new() { NamespaceProperty = "shop", Name = "drill" }, Spec = new BreachSpec { Certificate = "web", Mode = BreachModes.Quarantine, DryRun = true } },
            new Breach { Metadata = new() { NamespaceProperty = "shop", Name = "rekey" }, Spec = new BreachSpec { Certificate = "db", Mode = BreachModes.Rotate } },
        ]
    );

    private static TrustGraph Build()
    {
        var (certificates, truststores, breaches) = Cluster();
        return TrustGraphBuilder.Build(certificates, truststores, breaches, Now, TrustGraphBuilder.DefaultExpiringWithin);
    }

    [Fact]
    public void One_node_per_service_marked_by_state_and_an_edge_per_trusting_truststore()
    {
        var graph = Build();

        Assert.Equal(
            [
                ("edge/api", ServiceState.Ready), ("shop/db", ServiceState.NotReady), ("shop/gateway", ServiceState.Expiring), ("shop/ghost", ServiceState.NotReady),
                ("shop/orders", ServiceState.Ready), ("shop/payments", ServiceState.Quarantined), ("shop/web", ServiceState.Rolling),
            ],
            graph.Nodes.Select(n => (n.Id, n.State)));
        Assert.True(graph.Nodes.Single(n => n.Id == "shop/ghost").Missing);
        Assert.Equal(
            [
                new TrustEdge("shop/gateway", "shop/orders", "shop/orders-trust", TrustState.Trusted, IssuersMode: false),
                new TrustEdge("shop/ghost", "shop/orders", "shop/orders-trust", TrustState.Pending, IssuersMode: false),
                new TrustEdge("shop/orders", "edge/api", "edge/api-trust", TrustState.Trusted, IssuersMode: false),
                new TrustEdge("shop/orders", "shop/gateway", "shop/gateway-trust", TrustState.Pending, IssuersMode: true),
                new TrustEdge("shop/payments", "shop/orders", "shop/orders-trust", TrustState.Withheld, IssuersMode: false),
            ],
            graph.Edges);
    }

    [Fact]
    public void The_same_cluster_in_any_order_draws_the_same_text()
    {
        var (certificates, truststores, breaches) = Cluster();
        var shuffled = TrustGraphBuilder.Build(certificates.Reverse(), truststores.Reverse(), breaches.Reverse(), Now, TrustGraphBuilder.DefaultExpiringWithin);

        Assert.Equal(GraphRenderers.ToDot(Build()), GraphRenderers.ToDot(shuffled));
        Assert.Equal(GraphRenderers.ToMermaid(Build()), GraphRenderers.ToMermaid(shuffled));
    }

    [Fact]
    public void The_expiring_mark_follows_the_threshold()
    {
        var (certificates, truststores, breaches) = Cluster();
        var graph = TrustGraphBuilder.Build(certificates, truststores, breaches, Now, TimeSpan.FromDays(7));

        Assert.Equal(ServiceState.Ready, graph.Nodes.Single(n => n.Id == "shop/gateway").State);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Graphviz_reads_the_DOT_with_every_node_and_edge()
    {
        var dir = Directory.CreateTempSubdirectory("trust-graph-");
        try
        {
            var file = Path.Combine(dir.FullName, "trust.dot");
            await File.WriteAllTextAsync(file, GraphRenderers.ToDot(Build()));

            var plain = await ToolRunner.RunAsync("dot", ["-Tplain", file]);
            Assert.True(plain.ExitCode == 0, plain.ToString());
            var lines = plain.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Tokens).ToList();
            // node NAME x y w h LABEL style shape color fillcolor
            var nodes = lines.Where(l => l[0] == "node").ToDictionary(l => l[1], l => (Label: l[6], Style: l[7], Fill: l[10]));
            Assert.Equal(Build().Nodes.Select(n => n.Id).Order(StringComparer.Ordinal), nodes.Keys.Order(StringComparer.Ordinal));
            Assert.Equal("shop/payments\\nquarantined", nodes["shop/payments"].Label);
            Assert.Equal("#f8d7da", nodes["shop/payments"].Fill);
            Assert.Equal("shop/gateway\\nexpires 2026-12-16", nodes["shop/gateway"].Label);
            Assert.Equal("shop/web\\nrolling: WaitingForTruststores", nodes["shop/web"].Label);
            Assert.Contains("dashed", nodes["shop/ghost"].Style, StringComparison.Ordinal);

            // edge TAIL HEAD n x1 y1 ... xn yn LABEL xl yl style color
            var edges = lines.Where(l => l[0] == "edge").Select(l =>
            {
                var points = int.Parse(l[3], System.Globalization.CultureInfo.InvariantCulture);
                var rest = l.Skip(4 + (2 * points)).ToList();
                return (From: l[1], To: l[2], Label: rest[0], Style: rest[3]);
            }).OrderBy(e => e.From, StringComparer.Ordinal).ThenBy(e => e.To, StringComparer.Ordinal).ToList();
            Assert.Equal(
                [
                    ("shop/gateway", "shop/orders", "orders-trust", "solid"),
                    ("shop/ghost", "shop/orders", "orders-trust (pending)", "dotted"),
                    ("shop/orders", "edge/api", "api-trust", "solid"),
                    ("shop/orders", "shop/gateway", "gateway-trust (issuers, pending)", "dotted"),
                    ("shop/payments", "shop/orders", "orders-trust (withheld)", "dashed"),
                ],
                edges);

            // And it renders to a picture.
            var png = await ToolRunner.RunAsync("dot", ["-Tpng", "-o", Path.Combine(dir.FullName, "trust.png"), file]);
            Assert.True(png.ExitCode == 0, png.ToString());
            Assert.True(new FileInfo(Path.Combine(dir.FullName, "trust.png")).Length > 1000);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_Mermaid_text_names_every_node_and_edge()
    {
        Assert.Equal(
            """
            flowchart LR
              n0["edge/api<br/>ready"]:::ready
              n1["shop/db<br/>not ready: IssuerNotReady"]:::notready
              n2["shop/gateway<br/>expires 2026-12-16"]:::expiring
              n3["shop/ghost<br/>not found"]:::notready
              n4["shop/orders<br/>ready"]:::ready
              n5["shop/payments<br/>quarantined"]:::quarantined
              n6["shop/web<br/>rolling: WaitingForTruststores"]:::rolling
              n2 -->|"orders-trust"| n4
              n3 -.->|"orders-trust (pending)"| n4
              n4 -->|"api-trust"| n0
              n4 -.->|"gateway-trust (issuers, pending)"| n2
              n5 -.->|"orders-trust (withheld)"| n4
              classDef quarantined fill:#f8d7da,stroke:#c62828
              classDef notready fill:#e0e0e0,stroke:#616161
              classDef rolling fill:#d6e9f8,stroke:#1565c0
              classDef expiring fill:#fff3cd,stroke:#b26a00
              classDef ready fill:#d4edda,stroke:#2e7d32

            """.ReplaceLineEndings("\n"),
            GraphRenderers.ToMermaid(Build()));
    }

    /// <summary>One line of <c>dot -Tplain</c>: words, a double-quoted one as one token (its quotes dropped).</summary>
    private static List<string> Tokens(string line)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < line.Length)
        {
            if (line[i] == ' ')
            {
                i++;
                continue;
            }

            if (line[i] == '"')
            {
                var end = i + 1;
                while (end < line.Length && !(line[end] == '"' && line[end - 1] != '\\'))
                {
                    end++;
                }

                tokens.Add(line[(i + 1)..end]);
                i = end + 1;
                continue;
            }

            var space = line.IndexOf(' ', i);
            space = space < 0 ? line.Length : space;
            tokens.Add(line[i..space]);
            i = space;
        }

        return tokens;
    }
}
