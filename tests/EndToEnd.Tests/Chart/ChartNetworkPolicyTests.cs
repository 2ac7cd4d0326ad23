using System.Text.Json.Nodes;

namespace Notary.EndToEnd.Tests.Chart;

/// <summary>
/// The chart's NetworkPolicy, rendered by the real helm: on by default; the silo port open to
/// Notary's own pods only; the HTTPS port (API, metrics) to the peers the values list, and to no
/// one else when they list none; no rule names a port the pods do not have (no gateway).
/// </summary>
[Trait("Category", "Slow")]
public sealed class ChartNetworkPolicyTests
{
    [Fact]
    public async Task By_default_the_silo_port_admits_only_Notarys_pods_and_the_API_port_every_pod_of_the_cluster()
    {
        var objects = await Helm.TemplateAsync("notary", "notary");
        var policy = ChartTests.Single(objects, "NetworkPolicy");
        var deployment = ChartTests.Single(objects, "Deployment");
        var podLabels = deployment["spec"]!["selector"]!["matchLabels"]!.AsObject();
        Assert.True(JsonNode.DeepEquals(podLabels, policy["spec"]!["podSelector"]!["matchLabels"]), "the policy selects Notary's pods");
        Assert.Equal(["Ingress"], policy["spec"]!["policyTypes"]!.AsArray().Select(t => t!.GetValue<string>()));

        var rules = Rules(policy);
        var silo = Assert.Single(rules, r => r.Ports.Contains("silo"));
        var from = Assert.Single(silo.From);
        Assert.True(JsonNode.DeepEquals(podLabels, from["podSelector"]!["matchLabels"]), "the silo port admits Notary's own pods");
        Assert.Null(from["namespaceSelector"]);
        Assert.Null(from["ipBlock"]);

        var api = Assert.Single(rules, r => r.Ports.Contains("https"));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"namespaceSelector":{}}]"""), new JsonArray([.. api.From.Select(f => f.DeepClone())])));

        // Every port a rule names is one of the container's (and there is no gateway).
        var ports = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["ports"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["https", "silo"], ports);
        Assert.All(rules.SelectMany(r => r.Ports), p => Assert.Contains(p, ports));
    }

    [Fact]
    public async Task The_API_and_metrics_admit_exactly_the_peers_the_values_list()
    {
        var values = Path.Combine(Path.GetTempPath(), $"notary-netpol-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(values, """
            networkPolicy:
              api:
                from:
                  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: incident-response}}
              metrics:
                from:
                  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
                    podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}
                  - ipBlock: {cidr: 10.20.0.0/16}
            """);
        try
        {
            var lint = await Helm.RunAsync("lint", "--strict", Helm.ChartDirectory, "-f", values);
            Assert.True(lint.ExitCode == 0, lint.ToString());
            var rules = Rules(ChartTests.Single(await Helm.TemplateAsync("notary", "notary", "-f", values), "NetworkPolicy"));
            var https = rules.Where(r => r.Ports.Contains("https")).SelectMany(r => r.From).Select(f => f.ToJsonString()).ToList();
            Assert.Equal(
                [
                    """{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"incident-response"}}}""",
                    """{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}},"podSelector":{"matchLabels":{"app.kubernetes.io/name":"prometheus"}}}""",
                    """{"ipBlock":{"cidr":"10.20.0.0/16"}}""",
                ],
                https);

            // Lists emptied: the HTTPS port has no rule at all, so no pod reaches it (the kubelet's probes still do).
            var closed = Rules(ChartTests.Single(await Helm.TemplateAsync("notary", "notary", "--set", "networkPolicy.api.from=null"), "NetworkPolicy"));
            Assert.DoesNotContain(closed, r => r.Ports.Contains("https"));
            Assert.Single(closed, r => r.Ports.Contains("silo"));
        }
        finally
        {
            File.Delete(values);
        }
    }

    [Fact]
    public async Task It_can_be_switched_off()
    {
        var objects = await Helm.TemplateAsync("notary", "notary", "--set", "networkPolicy.enabled=false");
        Assert.DoesNotContain(objects, o => ChartTests.Kind(o) == "NetworkPolicy");
    }

    private static List<(List<string> Ports, List<JsonNode> From)> Rules(JsonObject policy) =>
        [.. policy["spec"]!["ingress"]!.AsArray().Select(rule => (
            rule!["ports"]!.AsArray().Select(p => p!["port"]!.GetValue<string>()).ToList(),
            rule["from"]!.AsArray().Select(f => f!).ToList()))];
}
