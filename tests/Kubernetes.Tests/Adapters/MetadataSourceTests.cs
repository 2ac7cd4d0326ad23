using System.Text;
using k8s;
using k8s.Models;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class MetadataSourceTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_missing_Secret_is_reported_as_missing()
    {
        var ns = await cluster.NamespaceAsync();

        var content = await new KubernetesMetadataSource(cluster.Client).ReadAsync(ns, "notary-metadata", CancellationToken.None);

        Assert.False(content.SecretExists);
        Assert.Null(content.MetadataJson);
    }

    [Fact]
    public async Task A_Secret_without_metadata_json_exists_but_has_no_metadata()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-metadata" },
            StringData = new Dictionary<string, string> { ["other.json"] = "{}" },
        }, ns);

        var content = await new KubernetesMetadataSource(cluster.Client).ReadAsync(ns, "notary-metadata", CancellationToken.None);

        Assert.True(content.SecretExists);
        Assert.Null(content.MetadataJson);
    }

    [Fact]
    public async Task The_text_under_metadata_json_is_read_as_UTF_8()
    {
        var ns = await cluster.NamespaceAsync();
        const string Json = """{"tlsStoreRootPath":"/etc/tls","tlsKeyStorePassword":"pässwörd-ключ"}""";
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "shop-metadata" },
            Data = new Dictionary<string, byte[]> { ["metadata.json"] = Encoding.UTF8.GetBytes(Json) },
        }, ns);

        var content = await new KubernetesMetadataSource(cluster.Client).ReadAsync(ns, "shop-metadata", CancellationToken.None);

        Assert.True(content.SecretExists);
        Assert.Equal(Json, content.MetadataJson);
        Assert.DoesNotContain("pässwörd", content.ToString(), StringComparison.Ordinal);
    }
}
