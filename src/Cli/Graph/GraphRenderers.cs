using System.Globalization;
using System.Text;

namespace Notary.Cli.Graph;

/// <summary>
/// The trust graph as text: Graphviz DOT (<c>dot -Tpng</c>) and Mermaid (GitHub renders a
/// ```mermaid block). Both draw the same nodes and edges in the graph's order; the state shows
/// as the node's second line and its colour, an edge's state as its style.
/// </summary>
public static class GraphRenderers
{
    private static (string Fill, string Stroke) Colours(ServiceState state) => state switch
    {
        ServiceState.Ready => ("#d4edda", "#2e7d32"),
        ServiceState.Expiring => ("#fff3cd", "#b26a00"),
        ServiceState.Rolling => ("#d6e9f8", "#1565c0"),
        ServiceState.Quarantined => ("#f8d7da", "#c62828"),
        _ => ("#e0e0e0", "#616161"),
    };

    public static string ToDot(TrustGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var dot = new StringBuilder();
        dot.Append("digraph notary_trust {\n");
        dot.Append("  // An arrow A -> B: B's truststore (the edge label) trusts A.\n");
        dot.Append("  rankdir=LR;\n");
        dot.Append("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n");
        dot.Append("  edge [fontname=\"Helvetica\", fontsize=10];\n");
        foreach (var node in graph.Nodes)
        {
            var (fill, stroke) = Colours(node.State);
            dot.Append(CultureInfo.InvariantCulture,
                $"  {Quote(node.Id)} [label={Quote($"{node.Id}\n{node.Detail}")}, fillcolor=\"{fill}\", color=\"{stroke}\"{(node.Missing ? ", style=\"rounded,dashed\"" : string.Empty)}, tooltip={Quote(node.State.ToString())}];\n");
        }

        foreach (var edge in graph.Edges)
        {
            var style = edge.State switch
            {
                TrustState.Trusted => "solid",
                TrustState.Pending => "dotted",
                _ => "dashed",
            };
            var colour = edge.State == TrustState.Withheld ? "#c62828" : "#424242";
            dot.Append(CultureInfo.InvariantCulture,
                $"  {Quote(edge.From)} -> {Quote(edge.To)} [label={Quote(EdgeLabel(edge))}, style={style}, color=\"{colour}\"];\n");
        }

        dot.Append("}\n");
        return dot.ToString();
    }

    public static string ToMermaid(TrustGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        // Mermaid ids must be plain words: n0, n1, ... in the graph's (sorted) order.
        var ids = graph.Nodes.Select((node, i) => (node.Id, Short: $"n{i}")).ToDictionary(p => p.Id, p => p.Short, StringComparer.Ordinal);
        var text = new StringBuilder();
        text.Append("flowchart LR\n");
        foreach (var node in graph.Nodes)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {ids[node.Id]}[\"{Mermaid(node.Id)}<br/>{Mermaid(node.Detail)}\"]:::{ClassOf(node.State)}\n");
        }

        foreach (var edge in graph.Edges)
        {
            var arrow = edge.State == TrustState.Trusted ? "-->" : "-.->";
            text.Append(CultureInfo.InvariantCulture, $"  {ids[edge.From]} {arrow}|\"{Mermaid(EdgeLabel(edge))}\"| {ids[edge.To]}\n");
        }

        foreach (var state in Enum.GetValues<ServiceState>())
        {
            var (fill, stroke) = Colours(state);
            text.Append(CultureInfo.InvariantCulture, $"  classDef {ClassOf(state)} fill:{fill},stroke:{stroke}\n");
        }

        return text.ToString();
    }

    private static string ClassOf(ServiceState state) => state switch
    {
        ServiceState.NotReady => "notready",
        _ => state.ToString().ToLowerInvariant(),
    };

    private static string EdgeLabel(TrustEdge edge)
    {
        var label = edge.Truststore[(edge.Truststore.IndexOf('/', StringComparison.Ordinal) + 1)..];
        var notes = new List<string>();
        if (edge.IssuersMode)
        {
            notes.Add("issuers");
        }

        if (edge.State != TrustState.Trusted)
        {
            notes.Add(edge.State.ToString().ToLowerInvariant());
        }

        return notes.Count == 0 ? label : $"{label} ({string.Join(", ", notes)})";
    }

    /// <summary>A DOT string: quotes and backslashes escaped, a line break as \n.</summary>
    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    /// <summary>Text inside a Mermaid quoted label: its quote and markup characters as entities.</summary>
    private static string Mermaid(string value) =>
        value.Replace("&", "#amp;", StringComparison.Ordinal).Replace("\"", "#quot;", StringComparison.Ordinal)
            .Replace("<", "#lt;", StringComparison.Ordinal).Replace(">", "#gt;", StringComparison.Ordinal);
}
