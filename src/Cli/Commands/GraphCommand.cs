using System.CommandLine;
using System.Net;
using k8s;
using k8s.Autorest;
using Notary.Cli.Graph;
using Notary.Cli.Kube;
using Notary.CustomResources.Models;
using Notary.Pki;

namespace Notary.Cli.Commands;

/// <summary>
/// <c>kubectl notary graph [-n NS | -A] [-o dot|mermaid]</c>: the trust graph (who trusts whom)
/// from the Certificates, Truststores and Breaches the API server holds (<see cref="TrustGraphBuilder"/>),
/// as Graphviz DOT (the default; <c>| dot -Tpng -o trust.png</c>) or Mermaid.
/// </summary>
public static class GraphCommand
{
    public static Command Create()
    {
        var command = new Command("graph", """
            Draws the trust graph: one node per service (Certificate, NAMESPACE/NAME), an arrow
            from a certificate to each service whose truststore trusts it (labelled with the
            truststore). Nodes are marked Ready, expiring (within --expiring-within), rolling
            (a renewal in progress), quarantined or not ready; a dotted arrow is not in the stored
            truststore yet, a dashed red one is withheld by a quarantine.
            Render DOT with graphviz: kubectl notary graph -A | dot -Tpng -o trust.png
            """);
        var allNamespaces = KubeOptions.AllNamespaces();
        var output = KubeOptions.Output("dot", "mermaid");
        output.Description = "Output format: dot (Graphviz, the default) or mermaid.";
        var expiring = new Option<string?>("--expiring-within")
        {
            Description = "Mark certificates that expire within this Go duration (default 720h: Notary's first alert threshold).",
        };
        command.Options.Add(allNamespaces);
        command.Options.Add(output);
        command.Options.Add(expiring);
        CliAction.Set(command, async (parsed, cancellationToken) =>
        {
            var within = TrustGraphBuilder.DefaultExpiringWithin;
            if (parsed.GetValue(expiring) is { } given && !GoDuration.TryParse(given, out within, out var error))
            {
                throw new CliFailureException($"--expiring-within {given}: {error}", ExitCodes.BadArguments);
            }

            using var kube = KubeConnection.Open(parsed);
            var ns = parsed.GetValue(allNamespaces) ? null : kube.Namespace;
            var certificates = await ListAsync<CertificateList>(kube.Client, Certificate.KubePluralName, ns, cancellationToken);
            var truststores = await ListAsync<TruststoreList>(kube.Client, Truststore.KubePluralName, ns, cancellationToken);
            BreachList breaches;
            try
            {
                breaches = await ListAsync<BreachList>(kube.Client, Breach.KubePluralName, ns, cancellationToken);
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Forbidden)
            {
                // Without read access to Breaches the Certificates' Compromised condition still marks a quarantine.
                breaches = new BreachList();
            }

            if (ns is not null)
            {
                // Certificates of other namespaces that this namespace's truststores name: read one
                // by one (where the user may), so that their nodes show their state, not "not found".
                foreach (var (otherNs, name) in OtherNamespaces(truststores.Items, ns))
                {
                    try
                    {
                        certificates.Items.Add(await kube.Client.CustomObjects.GetNamespacedCustomObjectAsync<Certificate>(
                            Certificate.KubeGroup, Certificate.KubeApiVersion, otherNs, Certificate.KubePluralName, name, cancellationToken));
                    }
                    catch (HttpOperationException ex) when (ex.Response?.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
                    {
                        // Drawn as not found.
                    }
                }
            }

            var graph = TrustGraphBuilder.Build(certificates.Items, truststores.Items, breaches.Items, DateTimeOffset.UtcNow, within);
            await Console.Out.WriteAsync(parsed.GetValue(output) == "mermaid" ? GraphRenderers.ToMermaid(graph) : GraphRenderers.ToDot(graph));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The (namespace, name) of each Certificate outside <paramref name="ns"/> that a truststore names by namespace or by binding.</summary>
    private static IEnumerable<(string Namespace, string Name)> OtherNamespaces(IEnumerable<Truststore> truststores, string ns) =>
        truststores
            .SelectMany(t => t.Spec.Upstream.Concat(t.Spec.Downstream).Select(p =>
                (Namespace: p.Namespace is { Length: > 0 } given ? given : t.Status?.References?.FirstOrDefault(r => r.Tag == p.Tag)?.Namespace, Name: p.Tag)))
            .Where(r => r.Namespace is { Length: > 0 } && r.Namespace != ns)
            .Select(r => (r.Namespace!, r.Name))
            .Distinct()
            .Order();

    private static Task<T> ListAsync<T>(IKubernetes client, string plural, string? ns, CancellationToken cancellationToken) =>
        ns is null
            ? client.CustomObjects.ListClusterCustomObjectAsync<T>(NotaryResources.Group, NotaryResources.Version, plural, cancellationToken: cancellationToken)
            : client.CustomObjects.ListNamespacedCustomObjectAsync<T>(NotaryResources.Group, NotaryResources.Version, ns, plural, cancellationToken: cancellationToken);
}
