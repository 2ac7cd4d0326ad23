using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using Notary.Adapters.Kubernetes.Tests.Support;

namespace Notary.Adapters.Kubernetes.Tests;

/// <summary>
/// Real kubectl (v1.32, Go's YAML parser and Kubernetes' own CRD type) reads the manifests the
/// way KubernetesClient does. Offline, kubectl can only process objects with --local; annotate
/// --local decodes the file, recognizes the built-in CustomResourceDefinition kind and prints the
/// object, which catches YAML that Go reads differently (unquoted True, colons in plain scalars,
/// backslashes in patterns) and anything kubectl refuses to parse.
/// </summary>
[Trait("Category", "Slow")]
public sealed class KubectlTests
{
    private const string Kubectl = "/usr/bin/kubectl";
    private const string Annotation = "notary.dev/kubectl-check";

    [Theory]
    [InlineData("certificates")]
    [InlineData("keystores")]
    [InlineData("truststores")]
    [InlineData("breaches")]
    [InlineData("issuers")]
    [InlineData("clusterissuers")]
    public async Task Kubectl_reads_the_manifest_as_a_CustomResourceDefinition(string plural)
    {
        var name = await RunKubectlAsync("annotate", "--local", "-f", Crds.PathOf(plural), $"{Annotation}=true", "-o", "name");

        Assert.Equal($"customresourcedefinition.apiextensions.k8s.io/{plural}.notary.dev", name.Trim());
    }

    [Theory]
    [InlineData("certificates")]
    [InlineData("keystores")]
    [InlineData("truststores")]
    [InlineData("breaches")]
    [InlineData("issuers")]
    [InlineData("clusterissuers")]
    public async Task Kubectl_and_KubernetesYaml_read_the_same_object(string plural)
    {
        var kubectl = JsonNode.Parse(await RunKubectlAsync("annotate", "--local", "-f", Crds.PathOf(plural), $"{Annotation}=true", "-o", "json"))!;
        var annotations = kubectl["metadata"]!["annotations"]!.AsObject();
        Assert.Equal("true", annotations[Annotation]!.GetValue<string>());
        annotations.Remove(Annotation);
        if (annotations.Count == 0)
        {
            kubectl["metadata"]!.AsObject().Remove("annotations");
        }

        var ours = JsonNode.Parse(KubernetesJson.Serialize(Crds.Load(plural)))!;

        var differences = Differences(kubectl, ours, "").ToList();
        Assert.True(differences.Count == 0, $"{plural}: kubectl and KubernetesYaml disagree:\n  {string.Join("\n  ", differences)}");
    }

    private static IEnumerable<string> Differences(JsonNode? kubectl, JsonNode? ours, string path)
    {
        switch (kubectl, ours)
        {
            case (JsonObject left, JsonObject right):
                foreach (var key in left.Select(p => p.Key).Union(right.Select(p => p.Key)))
                {
                    foreach (var difference in Differences(left[key], right[key], $"{path}.{key}"))
                    {
                        yield return difference;
                    }
                }

                break;
            case (JsonArray left, JsonArray right) when left.Count == right.Count:
                for (var i = 0; i < left.Count; i++)
                {
                    foreach (var difference in Differences(left[i], right[i], $"{path}[{i}]"))
                    {
                        yield return difference;
                    }
                }

                break;
            default:
                if (!JsonNode.DeepEquals(kubectl, ours))
                {
                    yield return $"{path}: kubectl {kubectl?.ToJsonString() ?? "(absent)"}, KubernetesYaml {ours?.ToJsonString() ?? "(absent)"}";
                }

                break;
        }
    }

    private static async Task<string> RunKubectlAsync(params string[] arguments)
    {
        Assert.True(File.Exists(Kubectl), $"{Kubectl} is missing; the test machines ship kubectl v1.32 there (see ENVIRONMENT.md)");
        var home = Directory.CreateTempSubdirectory("notary-kubectl-");
        try
        {
            var start = new ProcessStartInfo(Kubectl) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            // An empty home and no KUBECONFIG: --local never contacts a cluster, and must not find one.
            start.Environment["HOME"] = home.FullName;
            start.Environment.Remove("KUBECONFIG");

            using var process = Process.Start(start)!;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"kubectl {string.Join(' ', arguments)} exited {process.ExitCode}: {await error}");
            return await output;
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }
}
