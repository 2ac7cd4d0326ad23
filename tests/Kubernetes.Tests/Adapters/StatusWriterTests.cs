using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Abs = Notary.Grains.Abstractions;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class StatusWriterTests(ClusterFixture cluster)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 16, 17, 0, TimeSpan.Zero);

    private KubernetesStatusWriter Writer() => new(cluster.Client, ClusterFixture.Options(), ClusterFixture.Log<KubernetesStatusWriter>());

    [Fact]
    public async Task Certificate_status_is_written_to_the_status_subresource_with_every_field()
    {
        var ns = await cluster.NamespaceAsync();
        var created = await cluster.Client.CreateAsync(Objects.Certificate(ns, "api"));

        await Writer().WriteCertificateStatusAsync(new ResourceKey(ns, "api"), new Abs.CertificateStatus
        {
            Arn = "urn:notary:builtin:certificate/0a1b",
            SerialNumber = "0a1b",
            NotBefore = T0,
            NotAfter = T0.AddDays(90),
            RenewalTime = T0.AddDays(60),
            Revision = 1,
            Tags = new Dictionary<string, string> { ["team"] = "shop" },
            Conditions =
            [
                new StatusCondition(Conditions.Ready, Conditions.True, Reasons.Issued, "Issued serial 0a1b.", T0, 1),
                new StatusCondition(Conditions.Issuing, Conditions.False, Reasons.Issued, "Done.", T0, 1),
            ],
            ObservedGeneration = 1,
        }, CancellationToken.None);

        var read = await cluster.Client.GetAsync<Certificate>(ns, "api");
        var status = read.Status!;
        Assert.Equal(("urn:notary:builtin:certificate/0a1b", "0a1b", T0, T0.AddDays(90), T0.AddDays(60), 1L, 1L),
            (status.Arn, status.SerialNumber, status.NotBefore, status.NotAfter, status.RenewalTime, status.Revision, status.ObservedGeneration));
        Assert.Equal("shop", status.Tags!["team"]);
        var ready = status.GetCondition(ConditionTypes.Ready)!;
        Assert.Equal(("True", "Issued", "Issued serial 0a1b.", T0, 1L), (ready.Status, ready.Reason, ready.Message, ready.LastTransitionTime, ready.ObservedGeneration));
        Assert.Equal("False", status.GetCondition(ConditionTypes.Issuing)!.Status);

        // A status write is not a spec change.
        Assert.Equal(created.Metadata.Generation, read.Metadata.Generation);
        Assert.Equal(created.Spec.Fqdn, read.Spec.Fqdn);
    }

    [Fact]
    public async Task Each_write_replaces_the_whole_status()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CreateAsync(Objects.Certificate(ns, "api"));
        var key = new ResourceKey(ns, "api");
        await Writer().WriteCertificateStatusAsync(key, new Abs.CertificateStatus
        {
            Arn = "urn:1",
            Revision = 1,
            Tags = new Dictionary<string, string> { ["old"] = "tag" },
            Conditions = [new StatusCondition(Conditions.Issuing, Conditions.True, Reasons.Issuing, "Issuing.", T0, 1)],
            ObservedGeneration = 1,
        }, CancellationToken.None);

        await Writer().WriteCertificateStatusAsync(key, new Abs.CertificateStatus
        {
            Revision = 2,
            Conditions = [new StatusCondition(Conditions.Ready, Conditions.False, Reasons.IssueFailed, "The issuer failed.", T0.AddMinutes(1), 1)],
            ObservedGeneration = 1,
        }, CancellationToken.None);

        var status = (await cluster.Client.GetAsync<Certificate>(ns, "api")).Status!;
        Assert.Null(status.Arn);
        Assert.Null(status.Tags);
        Assert.Equal(2, status.Revision);
        var condition = Assert.Single(status.Conditions!);
        Assert.Equal((ConditionTypes.Ready, Reasons.IssueFailed), (condition.Type, condition.Reason));
    }

    [Fact]
    public async Task Keystore_status_carries_location_and_the_single_certificate_revision()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CreateAsync(Objects.Keystore(ns, "api"));

        await Writer().WriteStoreStatusAsync(new ResourceKey(ns, "api"), ResourceKind.Keystore, new StoreStatus
        {
            Arn = $"k8s://{ns}/secrets/api",
            Location = $"k8s://{ns}/secrets/api",
            CertificateRevisions = new Dictionary<string, long> { [$"{ns}/api"] = 3 },
            Conditions = [new StatusCondition(Conditions.Ready, Conditions.True, Reasons.Stored, "Stored.", T0, 1)],
            ObservedGeneration = 1,
        }, CancellationToken.None);

        var status = (await cluster.Client.GetAsync<Keystore>(ns, "api")).Status!;
        Assert.Equal(($"k8s://{ns}/secrets/api", $"k8s://{ns}/secrets/api", 3L, 1L), (status.Arn, status.Location, status.CertificateRevision, status.ObservedGeneration));
        Assert.Equal(Reasons.Stored, status.GetCondition(ConditionTypes.Ready)!.Reason);
    }

    [Fact]
    public async Task Truststore_status_carries_the_revision_map_and_the_entries()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CreateAsync(Objects.Truststore(ns, "api"));

        await Writer().WriteStoreStatusAsync(new ResourceKey(ns, "api"), ResourceKind.Truststore, new StoreStatus
        {
            Location = $"k8s://{ns}/secrets/api",
            CertificateRevisions = new Dictionary<string, long> { [$"{ns}/api"] = 2, ["orders/orders"] = 1 },
            Entries = ["api", "orders", "notary-built-in-root-ca"],
            Conditions = [new StatusCondition(Conditions.Ready, Conditions.True, Reasons.Stored, "Stored.", T0, 1)],
            ObservedGeneration = 1,
        }, CancellationToken.None);

        var status = (await cluster.Client.GetAsync<Truststore>(ns, "api")).Status!;
        Assert.Equal(2, status.CertificateRevision![$"{ns}/api"]);
        Assert.Equal(1, status.CertificateRevision["orders/orders"]);
        Assert.Equal(["api", "orders", "notary-built-in-root-ca"], status.Entries);
    }

    [Fact]
    public async Task Writing_the_status_of_a_resource_that_is_gone_does_not_throw()
    {
        var ns = await cluster.NamespaceAsync();

        await Writer().WriteCertificateStatusAsync(new ResourceKey(ns, "gone"), new Abs.CertificateStatus { Revision = 1 }, CancellationToken.None);
        await Writer().WriteStoreStatusAsync(new ResourceKey(ns, "gone"), ResourceKind.Truststore, new StoreStatus(), CancellationToken.None);
    }
}
