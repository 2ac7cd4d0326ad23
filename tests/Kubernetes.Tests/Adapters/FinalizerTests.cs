using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Watcher;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class FinalizerTests(ClusterFixture cluster)
{
    private const string Other = "example.com/keep";

    private ResourceFinalizers Finalizers() => new(cluster.Client, ClusterFixture.Options(), ClusterFixture.Log<ResourceFinalizers>());

    [Fact]
    public async Task Adding_puts_the_finalizer_on_once_and_keeps_other_finalizers()
    {
        var ns = await cluster.NamespaceAsync();
        var certificate = Objects.Certificate(ns, "api");
        certificate.Metadata.Finalizers = [Other];
        var created = await cluster.Client.CreateAsync(certificate);
        var key = new ResourceKey(ns, "api");

        Assert.True(await Finalizers().AddAsync(ResourceKind.Certificate, key, created.Metadata, CancellationToken.None));
        var once = await cluster.Client.GetAsync<Certificate>(ns, "api");
        Assert.True(await Finalizers().AddAsync(ResourceKind.Certificate, key, once.Metadata, CancellationToken.None));

        var read = await cluster.Client.GetAsync<Certificate>(ns, "api");
        Assert.Equal([Other, NotaryResources.CleanupFinalizer], read.Metadata.Finalizers);
        Assert.Equal(created.Metadata.Generation, read.Metadata.Generation);
    }

    [Fact]
    public async Task A_stale_read_does_not_lose_a_finalizer_someone_added_meanwhile()
    {
        var ns = await cluster.NamespaceAsync();
        var stale = await cluster.Client.CreateAsync(Objects.Keystore(ns, "api"));
        await cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch($$$"""{"metadata":{"finalizers":["{{{Other}}}"]}}""", V1Patch.PatchType.MergePatch),
            NotaryResources.Group, NotaryResources.Version, ns, NotaryResources.KeystorePlural, "api");

        Assert.True(await Finalizers().AddAsync(ResourceKind.Keystore, new ResourceKey(ns, "api"), stale.Metadata, CancellationToken.None));

        var read = await cluster.Client.GetAsync<Keystore>(ns, "api");
        Assert.Equal([Other, NotaryResources.CleanupFinalizer], read.Metadata.Finalizers);
    }

    [Fact]
    public async Task The_finalizer_holds_a_deleted_object_until_it_is_removed()
    {
        var ns = await cluster.NamespaceAsync();
        var created = await cluster.Client.CreateAsync(Objects.Truststore(ns, "api"));
        var key = new ResourceKey(ns, "api");
        Assert.True(await Finalizers().AddAsync(ResourceKind.Truststore, key, created.Metadata, CancellationToken.None));

        await cluster.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, NotaryResources.TruststorePlural, "api");
        var deleting = await cluster.Client.GetAsync<Truststore>(ns, "api");
        Assert.NotNull(deleting.Metadata.DeletionTimestamp);

        Assert.True(await Finalizers().RemoveAsync(ResourceKind.Truststore, key, deleting.Metadata, CancellationToken.None));

        var gone = await Assert.ThrowsAsync<HttpOperationException>(() => cluster.Client.GetAsync<Truststore>(ns, "api"));
        Assert.Equal(HttpStatusCode.NotFound, gone.Response.StatusCode);
        Assert.False(await Finalizers().RemoveAsync(ResourceKind.Truststore, key, deleting.Metadata, CancellationToken.None));
    }

    [Fact]
    public async Task No_finalizer_is_added_to_an_object_being_deleted()
    {
        var ns = await cluster.NamespaceAsync();
        var keystore = Objects.Keystore(ns, "api");
        keystore.Metadata.Finalizers = [Other];
        await cluster.Client.CreateAsync(keystore);
        await cluster.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, NotaryResources.KeystorePlural, "api");
        var deleting = await cluster.Client.GetAsync<Keystore>(ns, "api");

        Assert.False(await Finalizers().AddAsync(ResourceKind.Keystore, new ResourceKey(ns, "api"), deleting.Metadata, CancellationToken.None));

        Assert.Equal([Other], (await cluster.Client.GetAsync<Keystore>(ns, "api")).Metadata.Finalizers);
    }

    [Fact]
    public async Task Removing_takes_only_Notary_s_finalizer_off()
    {
        var ns = await cluster.NamespaceAsync();
        var certificate = Objects.Certificate(ns, "api");
        certificate.Metadata.Finalizers = [NotaryResources.CleanupFinalizer, Other];
        var created = await cluster.Client.CreateAsync(certificate);

        // Another controller removes its own finalizer after Notary read the object.
        await cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""[{"op":"remove","path":"/metadata/finalizers/1"}]""", V1Patch.PatchType.JsonPatch),
            NotaryResources.Group, NotaryResources.Version, ns, NotaryResources.CertificatePlural, "api");
        await cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch($$"""[{"op":"add","path":"/metadata/finalizers/0","value":"{{Other}}"}]""", V1Patch.PatchType.JsonPatch),
            NotaryResources.Group, NotaryResources.Version, ns, NotaryResources.CertificatePlural, "api");

        Assert.True(await Finalizers().RemoveAsync(ResourceKind.Certificate, new ResourceKey(ns, "api"), created.Metadata, CancellationToken.None));

        Assert.Equal([Other], (await cluster.Client.GetAsync<Certificate>(ns, "api")).Metadata.Finalizers);
    }

    [Fact]
    public async Task A_re_created_object_of_the_same_name_is_not_touched()
    {
        var ns = await cluster.NamespaceAsync();
        var old = await cluster.Client.CreateAsync(Objects.Certificate(ns, "api"));
        await cluster.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, NotaryResources.CertificatePlural, "api");
        await cluster.Client.CreateAsync(Objects.Certificate(ns, "api"));

        Assert.False(await Finalizers().AddAsync(ResourceKind.Certificate, new ResourceKey(ns, "api"), old.Metadata, CancellationToken.None));

        Assert.Null((await cluster.Client.GetAsync<Certificate>(ns, "api")).Metadata.Finalizers);
    }
}
