using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class SecretStoreTests(ClusterFixture cluster)
{
    private KubernetesSecretStore Store() => new(cluster.Client, ClusterFixture.Options(), ClusterFixture.Log<KubernetesSecretStore>());

    private static StoreWrite Write(string ns, string name, ResourceKind kind, params (string File, string Content)[] files) => new(
        new ResourceKey(ns, name),
        kind,
        "api.shop.svc.cluster.local",
        files[0].File,
        files.ToDictionary(f => f.File, f => Encoding.UTF8.GetBytes(f.Content)));

    private async Task<V1Secret?> ReadAsync(string ns, string name)
    {
        try
        {
            return await cluster.Client.CoreV1.ReadNamespacedSecretAsync(name, ns);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    [Fact]
    public async Task A_store_is_written_to_an_opaque_Secret_named_after_the_resource_and_labelled_as_Notary_s()
    {
        var ns = await cluster.NamespaceAsync();

        var stored = await Store().PutAsync(Write(ns, "api", ResourceKind.Keystore, ("keystore.p12", "p12-bytes"), ("tls.crt", "crt"), ("tls.key", "key"), ("ca.crt", "ca")), CancellationToken.None);

        Assert.Equal(new StoredLocation($"k8s://{ns}/secrets/api", $"k8s://{ns}/secrets/api"), stored);
        var secret = (await ReadAsync(ns, "api"))!;
        Assert.Equal("Opaque", secret.Type);
        Assert.Equal("notary", secret.Metadata.Labels["app.kubernetes.io/managed-by"]);
        Assert.Equal("Keystore", secret.Metadata.Labels["notary.dev/kind"]);
        Assert.Equal("api", secret.Metadata.Labels["notary.dev/name"]);
        Assert.Equal(["ca.crt", "keystore.p12", "tls.crt", "tls.key"], secret.Data.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("p12-bytes", Encoding.UTF8.GetString(secret.Data["keystore.p12"]));
    }

    [Fact]
    public async Task A_second_write_replaces_the_Secret_in_place_keeping_what_others_added()
    {
        var ns = await cluster.NamespaceAsync();
        var store = Store();
        await store.PutAsync(Write(ns, "api", ResourceKind.Truststore, ("truststore.jks", "v1"), ("ca.crt", "ca-v1")), CancellationToken.None);
        var first = (await ReadAsync(ns, "api"))!;
        first.Metadata.Annotations = new Dictionary<string, string> { ["example.com/owner"] = "team-shop" };
        await cluster.Client.CoreV1.ReplaceNamespacedSecretAsync(first, "api", ns);

        await store.PutAsync(Write(ns, "api", ResourceKind.Truststore, ("truststore.p12", "v2"), ("ca.crt", "ca-v2")), CancellationToken.None);

        var second = (await ReadAsync(ns, "api"))!;
        Assert.Equal(first.Metadata.Uid, second.Metadata.Uid);
        Assert.Equal(["ca.crt", "truststore.p12"], second.Data.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("ca-v2", Encoding.UTF8.GetString(second.Data["ca.crt"]));
        Assert.Equal("team-shop", second.Metadata.Annotations["example.com/owner"]);
    }

    [Fact]
    public async Task Concurrent_writes_of_one_store_all_succeed_and_the_Secret_holds_one_of_them_whole()
    {
        var ns = await cluster.NamespaceAsync();
        var store = Store();

        await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            store.PutAsync(Write(ns, "api", ResourceKind.Keystore, ("keystore.p12", $"p12-{i}"), ("tls.crt", $"crt-{i}")), CancellationToken.None)));

        var secret = (await ReadAsync(ns, "api"))!;
        var version = Encoding.UTF8.GetString(secret.Data["keystore.p12"])[4..];
        Assert.Equal($"crt-{version}", Encoding.UTF8.GetString(secret.Data["tls.crt"]));
    }

    [Fact]
    public async Task A_Secret_Notary_does_not_manage_is_never_overwritten()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "api" },
            StringData = new Dictionary<string, string> { ["password"] = "theirs" },
        }, ns);

        var refused = await Assert.ThrowsAsync<SecretStoreRejectedException>(() =>
            Store().PutAsync(Write(ns, "api", ResourceKind.Keystore, ("keystore.p12", "ours")), CancellationToken.None));

        Assert.Contains($"Secret {ns}/api", refused.Message, StringComparison.Ordinal);
        Assert.Contains("not managed by Notary", refused.Message, StringComparison.Ordinal);
        var secret = (await ReadAsync(ns, "api"))!;
        Assert.Equal(["password"], secret.Data.Keys);
        Assert.False(await Store().DeleteAsync(new ResourceKey(ns, "api"), ResourceKind.Keystore, CancellationToken.None));
        Assert.NotNull(await ReadAsync(ns, "api"));
    }

    [Fact]
    public async Task A_Keystore_and_a_Truststore_of_the_same_name_do_not_overwrite_each_other()
    {
        var ns = await cluster.NamespaceAsync();
        await Store().PutAsync(Write(ns, "api", ResourceKind.Keystore, ("keystore.p12", "ks")), CancellationToken.None);

        var refused = await Assert.ThrowsAsync<SecretStoreRejectedException>(() =>
            Store().PutAsync(Write(ns, "api", ResourceKind.Truststore, ("truststore.p12", "ts")), CancellationToken.None));

        Assert.Contains("holds the Keystore", refused.Message, StringComparison.Ordinal);
        Assert.False(await Store().DeleteAsync(new ResourceKey(ns, "api"), ResourceKind.Truststore, CancellationToken.None));
        Assert.Equal("ks", Encoding.UTF8.GetString((await ReadAsync(ns, "api"))!.Data["keystore.p12"]));
    }

    [Fact]
    public async Task A_Notary_Secret_that_holds_no_store_such_as_the_built_in_CA_is_neither_overwritten_nor_deleted()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = "notary-ca",
                Labels = new Dictionary<string, string> { [KubernetesSecretStore.ManagedByLabel] = KubernetesSecretStore.ManagedByValue, ["app.kubernetes.io/component"] = "built-in-ca" },
            },
            StringData = new Dictionary<string, string> { ["tls.key"] = "the root key" },
        }, ns);

        var refused = await Assert.ThrowsAsync<SecretStoreRejectedException>(() =>
            Store().PutAsync(Write(ns, "notary-ca", ResourceKind.Keystore, ("keystore.p12", "ours")), CancellationToken.None));
        Assert.Contains("holds no store", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Give this Keystore another name", refused.Message, StringComparison.Ordinal);
        Assert.False(await Store().DeleteAsync(new ResourceKey(ns, "notary-ca"), ResourceKind.Keystore, CancellationToken.None));
        Assert.Equal(["tls.key"], (await ReadAsync(ns, "notary-ca"))!.Data.Keys);
    }

    [Fact]
    public async Task Delete_removes_the_Secret_and_says_whether_there_was_one()
    {
        var ns = await cluster.NamespaceAsync();
        var store = Store();
        await store.PutAsync(Write(ns, "api", ResourceKind.Keystore, ("keystore.p12", "ks")), CancellationToken.None);

        Assert.True(await store.DeleteAsync(new ResourceKey(ns, "api"), ResourceKind.Keystore, CancellationToken.None));
        Assert.Null(await ReadAsync(ns, "api"));
        Assert.False(await store.DeleteAsync(new ResourceKey(ns, "api"), ResourceKind.Keystore, CancellationToken.None));
    }
}
