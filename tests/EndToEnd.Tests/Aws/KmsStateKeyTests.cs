using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Notary.Aws.Tests.Support;
using static Notary.EndToEnd.Tests.Aws.Manifests;

namespace Notary.EndToEnd.Tests.Aws;

/// <summary>
/// <c>Notary__State__KmsKeyId</c> with the production command (<c>run</c>) against moto's KMS (behind
/// a <see cref="FaultProxy"/> that records the calls): the first silo has KMS generate the data key
/// and keeps only its ciphertext in the Secret notary/notary-state-key; a silo started later
/// unwraps it with KMS Decrypt before it serves, and both issue and store.
/// </summary>
[Collection(AwsCollection.Name)]
[Trait("Category", "Slow")]
public sealed class KmsStateKeyTests(AwsFixture fx)
{
    [Fact]
    public async Task The_data_key_is_generated_by_KMS_kept_wrapped_in_the_Secret_and_unwrapped_by_each_silo_at_start()
    {
        await using var cluster = await StandaloneCluster.StartAsync();
        await using var proxy = await FaultProxy.StartAsync(fx.Moto.Url);
        var kms = new Notary.Aws.AwsJsonClient(fx.Http, Notary.Aws.AwsServiceInfo.Kms, fx.Moto.ClientOptions(), MotoServer.Credentials);
        var key = await kms.InvokeAsync("CreateKey", new JsonObject { ["Description"] = "notary state keys" }, E2eJsonContext.Default.JsonObject, E2eJsonContext.Default.JsonObject, CancellationToken.None);
        var keyArn = key["KeyMetadata"]!["Arn"]!.GetValue<string>();
        var configuration = new Dictionary<string, string?>
        {
            ["Notary:State:KmsKeyId"] = keyArn,
            ["Notary:State:Kms:Region"] = MotoServer.Region,
            ["Notary:State:Kms:ServiceUrl"] = proxy.Url.AbsoluteUri,
        };
        var environment = new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = MotoServer.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = "moto-test-secret-key",
        };
        var ns = UniqueNamespace("kms-state");

        await using (var first = SiloProcess.Start(cluster.Kubeconfig, configuration, environment))
        {
            await cluster.OkAsync("create", "namespace", ns);
            await cluster.ApplyAsync(All(MetadataSecret(ns), Certificate(ns, "web", $"web.{ns}.svc"), Keystore(ns, "web-ks", $"web.{ns}.svc", "web")));
            await ReadyAsync(cluster, first, ns, "ks/web-ks");
        }

        Assert.Single(proxy.Requests, r => r.Operation == "GenerateDataKey");
        using (var secret = JsonDocument.Parse(await cluster.OkAsync("get", "secret", "notary-state-key", "-n", "notary", "-o", "json")))
        {
            var data = secret.RootElement.GetProperty("data").EnumerateObject().ToDictionary(p => p.Name, p => Convert.FromBase64String(p.Value.GetString()!), StringComparer.Ordinal);
            var current = Encoding.ASCII.GetString(data["current"]);
            Assert.Equal(["current", current + ".kms"], data.Keys.Order(StringComparer.Ordinal));
        }

        // A new silo (state in memory: it issues again) reads the wrapped key through KMS Decrypt.
        await using var second = SiloProcess.Start(cluster.Kubeconfig, configuration, environment);
        await cluster.ApplyAsync(Keystore(ns, "web-again", $"web.{ns}.svc", "web"));
        await ReadyAsync(cluster, second, ns, "ks/web-again");
        Assert.Single(proxy.Requests, r => r.Operation == "GenerateDataKey");
        Assert.Contains(proxy.Requests, r => r.Operation == "Decrypt");
    }

    private static async Task ReadyAsync(StandaloneCluster cluster, SiloProcess silo, string ns, string resource)
    {
        var ready = await DevFixture.RunKubectlAsync(cluster.Kubeconfig, Path.Combine(cluster.Root, "kube-cache"), "wait", "--for=condition=Ready", resource, "-n", ns, "--timeout=90s");
        Assert.True(ready.ExitCode == 0, $"{ready}\n--- silo ---\n{silo.RecentOutput}");
    }
}
