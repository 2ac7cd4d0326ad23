using System.Text;
using k8s;
using k8s.Models;
using Notary.Adapters.Kubernetes;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Watcher.Tests.Support;
using Xunit.Abstractions;
using Abs = Notary.Grains.Abstractions;
using Action = Notary.Watcher.Tests.Support.Action;

namespace Notary.Watcher.Tests;

[CollectionDefinition(Name)]
public sealed class WatcherCollection : ICollectionFixture<WatcherCluster>
{
    public const string Name = "Watcher against DevCluster";
}

/// <summary>
/// The watch session forwarding to a recording sink, against DevCluster: what is forwarded, once,
/// and the finalizer flow.
/// </summary>
[Collection(WatcherCollection.Name)]
[Trait("Category", "Slow")]
public sealed class WatcherTests(WatcherCluster cluster, ITestOutputHelper output)
{
    private readonly CapturingLoggerProvider _logs = new(output);
    private readonly RecordingSink _sink = new();

    [Fact]
    public async Task A_certificate_is_applied_once_per_generation_and_cleaned_up_through_the_finalizer()
    {
        var ns = await cluster.NamespaceAsync();
        await using var session = cluster.Start(_sink, _logs);
        await session.Session.Synced.WaitAsync(TimeSpan.FromSeconds(30));
        var key = $"{ns}/api";

        var created = await cluster.Client.CreateAsync(Resources.Certificate(ns, "api"));
        var applied = (await _sink.WaitAsync(d => d.Any(x => x.Key == key && x.Action == Action.Apply), "the first apply")).Single(x => x.Key == key);
        Assert.Equal((ResourceKind.Certificate, created.Metadata.Uid, 1L), (applied.Kind, applied.Uid, applied.Generation));
        var spec = Assert.IsType<Abs.CertificateSpec>(applied.Spec);
        Assert.Equal(("Private", $"api.{ns}.svc.cluster.local"), (spec.Type, spec.Fqdn));

        // The finalizer is on before the grain is called.
        var withFinalizer = await cluster.Client.GetAsync<Certificate>(ns, "api");
        Assert.Contains(NotaryResources.CleanupFinalizer, withFinalizer!.Metadata.Finalizers);

        // Status writes, labels and the finalizer change the object but not its generation: nothing to forward.
        await new KubernetesStatusWriter(cluster.Client, Microsoft.Extensions.Options.Options.Create(new NotaryKubernetesOptions()), new LoggerAdapter<KubernetesStatusWriter>(_logs.CreateLogger("status")))
            .WriteCertificateStatusAsync(new ResourceKey(ns, "api"), new Grains.Abstractions.CertificateStatus { Revision = 1, ObservedGeneration = 1 }, CancellationToken.None);
        await cluster.Client.PatchAsync<Certificate>(ns, "api", """{"metadata":{"labels":{"team":"shop"}}}""");
        await cluster.Client.PatchAsync<Certificate>(ns, "api", """{"spec":{"alt":["api.example.com"]}}""");
        await _sink.WaitAsync(d => d.Any(x => x.Key == key && x.Generation == 2), "generation 2");

        await cluster.Client.DeleteAsync<Certificate>(ns, "api");
        await _sink.WaitAsync(d => d.Any(x => x.Key == key && x.Action == Action.Delete), "the delete");
        await Resources.EventuallyAsync(() => cluster.Client.GetAsync<Certificate>(ns, "api"), c => c is null, "the Certificate to go once the finalizer is off");

        Assert.Equal([Action.Apply, Action.Apply, Action.Delete], _sink.For(key).Select(d => d.Action));
        Assert.Equal([1L, 2L], _sink.For(key).Where(d => d.Action == Action.Apply).Select(d => d.Generation));
        Assert.All(_sink.For(key), d => Assert.Equal(created.Metadata.Uid, d.Uid));
        var cleanedUp = await Resources.EventuallyAsync(
            async () => (await cluster.Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.uid={created.Metadata.Uid}")).Items,
            events => events.Any(e => e.Reason == "CleanedUp"),
            "the CleanedUp Event");
        Assert.Equal("Normal", cleanedUp.Single(e => e.Reason == "CleanedUp").Type);
    }

    [Fact]
    public async Task Keystores_and_truststores_are_forwarded_with_their_specs()
    {
        var ns = await cluster.NamespaceAsync();
        await using var session = cluster.Start(_sink, _logs);

        await cluster.Client.CreateAsync(new Keystore
        {
            Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = ns },
            Spec = new CustomResources.Models.KeystoreSpec { Fqdn = "api.shop", CertName = "api", Format = StoreFormats.Jks, MetadataSecret = "api-metadata" },
        });
        await cluster.Client.CreateAsync(new Truststore
        {
            Metadata = new V1ObjectMeta { Name = "api-trust", NamespaceProperty = ns },
            Spec = new CustomResources.Models.TruststoreSpec
            {
                Fqdn = "api.shop",
                CertName = "api",
                Upstream = [new PeerReference { Tag = "orders", Fqdn = "orders.orders", Namespace = "orders" }],
                Downstream = [new PeerReference { Tag = "web", Fqdn = "web.edge" }],
            },
        });

        var delivered = await _sink.WaitAsync(d => d.Count(x => x.Action == Action.Apply && x.Key.StartsWith(ns, StringComparison.Ordinal)) == 2, "both stores");
        var keystore = Assert.IsType<Abs.KeystoreSpec>(delivered.Single(d => d.Kind == ResourceKind.Keystore && d.Key == $"{ns}/api").Spec);
        Assert.Equal(("api.shop", "api", "JKS", "api-metadata"), (keystore.Fqdn, keystore.CertName, keystore.Format, keystore.MetadataSecret));
        var truststore = Assert.IsType<Abs.TruststoreSpec>(delivered.Single(d => d.Kind == ResourceKind.Truststore).Spec);
        Assert.Equal("PKCS12", truststore.Format);
        Assert.Equal("notary-metadata", truststore.MetadataSecret);
        Assert.Equal(new TrustReference { Tag = "orders", Fqdn = "orders.orders", Namespace = "orders" }, Assert.Single(truststore.Upstream));
        Assert.Equal(new TrustReference { Tag = "web", Fqdn = "web.edge" }, Assert.Single(truststore.Downstream));
    }

    [Fact]
    public async Task Only_the_metadata_Secrets_that_stores_name_are_forwarded()
    {
        var ns = await cluster.NamespaceAsync();
        await using var session = cluster.Start(_sink, _logs);
        await session.Session.Synced.WaitAsync(TimeSpan.FromSeconds(30));
        await cluster.Client.CreateAsync(new Keystore
        {
            Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = ns },
            Spec = new CustomResources.Models.KeystoreSpec { Fqdn = "api.shop", CertName = "api", MetadataSecret = "api-metadata" },
        });
        await cluster.Client.CreateAsync(new Truststore
        {
            Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = ns },
            Spec = new CustomResources.Models.TruststoreSpec { Fqdn = "api.shop", CertName = "api" },
        });
        await _sink.WaitAsync(d => d.Count(x => x.Action == Action.Apply && x.Key == $"{ns}/api") == 2, "both stores");

        const string Password = "s3cr3t-pässword";
        await CreateSecretAsync(ns, "unrelated", Password);
        await CreateSecretAsync(ns, "api-metadata", Password);
        await CreateSecretAsync(ns, "notary-metadata", Password);
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/api-metadata") && d.Any(x => x.Key == $"{ns}/notary-metadata"), "both metadata Secrets");

        await cluster.Client.CoreV1.PatchNamespacedSecretAsync(new V1Patch("""{"stringData":{"metadata.json":"{}"}}""", V1Patch.PatchType.MergePatch), "unrelated", ns);
        await cluster.Client.CoreV1.PatchNamespacedSecretAsync(new V1Patch("""{"stringData":{"metadata.json":"{}"}}""", V1Patch.PatchType.MergePatch), "api-metadata", ns);
        await _sink.WaitAsync(d => d.Count(x => x.Key == $"{ns}/api-metadata") == 2, "the change of api-metadata");
        await cluster.Client.CoreV1.DeleteNamespacedSecretAsync("notary-metadata", ns);
        await _sink.WaitAsync(d => d.Count(x => x.Key == $"{ns}/notary-metadata") == 2, "the deletion of notary-metadata");

        Assert.DoesNotContain(_sink.Deliveries, d => d.Key == $"{ns}/unrelated");
        Assert.All(_sink.Deliveries.Where(d => d.Key.StartsWith(ns, StringComparison.Ordinal) && d.Key.EndsWith("metadata", StringComparison.Ordinal)), d => Assert.Equal(Action.SecretChanged, d.Action));
        Assert.DoesNotContain(_logs.Lines, line => line.Message.Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_grain_call_is_retried_and_does_not_hold_up_other_resources()
    {
        var ns = await cluster.NamespaceAsync();
        await using var session = cluster.Start(_sink, _logs);
        _sink.FailNext($"{ns}/slow", 3);

        await cluster.Client.CreateAsync(Resources.Certificate(ns, "slow"));
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "fast"));

        await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/fast"), "the healthy certificate");
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/slow"), "the failing certificate, after its retries");
        Assert.Equal(3, _logs.Lines.Count(line => line.EventId.Id == 3010 && line.Message.Contains($"{ns}/slow", StringComparison.Ordinal)));
        Assert.Single(_sink.For($"{ns}/slow"));
    }

    [Fact]
    public async Task An_object_deleted_without_Notary_s_finalizer_is_deleted_from_its_grain_once()
    {
        var ns = await cluster.NamespaceAsync();
        await using var session = cluster.Start(_sink, _logs);
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "api"));
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/api"), "the apply");
        await Resources.EventuallyAsync(() => cluster.Client.GetAsync<Certificate>(ns, "api"), c => ResourceFinalizers.Has(c!.Metadata), "the finalizer");

        // Someone strips the finalizer by hand, then deletes: the object goes at once.
        await cluster.Client.PatchAsync<Certificate>(ns, "api", """{"metadata":{"finalizers":null}}""");
        await cluster.Client.DeleteAsync<Certificate>(ns, "api");

        await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/api" && x.Action == Action.Delete), "the delete");
        Assert.Single(_sink.For($"{ns}/api"), d => d.Action == Action.Delete);
    }

    [Fact]
    public async Task A_name_deleted_and_created_again_is_deleted_then_applied_as_the_new_object()
    {
        var ns = await cluster.NamespaceAsync();
        await using var session = cluster.Start(_sink, _logs);
        var old = await cluster.Client.CreateAsync(Resources.Certificate(ns, "api"));
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/api"), "the first apply");

        await cluster.Client.DeleteAsync<Certificate>(ns, "api");
        await Resources.EventuallyAsync(() => cluster.Client.GetAsync<Certificate>(ns, "api"), c => c is null, "the old object to go");
        var again = await cluster.Client.CreateAsync(Resources.Certificate(ns, "api"));

        await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/api" && x.Uid == again.Metadata.Uid), "the new object");
        Assert.Equal(
            [(Action.Apply, old.Metadata.Uid), (Action.Delete, old.Metadata.Uid), (Action.Apply, again.Metadata.Uid)],
            _sink.For($"{ns}/api").Select(d => (d.Action, d.Uid)));
    }

    [Fact]
    public async Task A_new_value_of_the_renew_annotation_is_forwarded_although_the_generation_stays_and_once()
    {
        var ns = await cluster.NamespaceAsync();
        await using var session = cluster.Start(_sink, _logs);
        await session.Session.Synced.WaitAsync(TimeSpan.FromSeconds(30));
        var key = $"{ns}/api";
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "api"));
        await _sink.WaitAsync(d => d.Any(x => x.Key == key && x.Action == Action.Apply), "the first apply");

        // As `kubectl annotate` and `kubectl notary renew` do: a merge patch of the metadata.
        await cluster.Client.PatchAsync<Certificate>(ns, "api", """{"metadata":{"annotations":{"notary.dev/renew":"t1"}}}""");
        await _sink.WaitAsync(d => d.Any(x => x.Key == key && x.Action == Action.Renew), "the renew request");
        // Neither a label nor the same token again is a new request.
        await cluster.Client.PatchAsync<Certificate>(ns, "api", """{"metadata":{"labels":{"team":"shop"},"annotations":{"notary.dev/renew":"t1","other":"x"}}}""");
        await cluster.Client.PatchAsync<Certificate>(ns, "api", """{"metadata":{"annotations":{"notary.dev/renew":"t2"}}}""");
        await _sink.WaitAsync(d => d.Count(x => x.Key == key && x.Action == Action.Renew) == 2, "the second renew request");

        var current = await cluster.Client.GetAsync<Certificate>(ns, "api");
        Assert.Equal(1L, current!.Metadata.Generation);
        Assert.Equal(["t1", "t2"], _sink.For(key).Where(d => d.Action == Action.Renew).Select(d => (string)d.Spec!));
        // Each request goes before the apply of the spec (so a grain that lost its state, or a
        // Certificate created with the annotation, counts its first issuance as the request).
        Assert.Equal([Action.Apply, Action.Renew, Action.Apply, Action.Renew, Action.Apply], _sink.For(key).Select(d => d.Action));
    }

    [Fact]
    public async Task A_resync_forwards_everything_again()
    {
        var ns = await cluster.NamespaceAsync();
        await using var session = cluster.Start(_sink, _logs, options: WatcherCluster.FastOptions(o => o.ResyncPeriod = TimeSpan.FromSeconds(1)));
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "api"));

        await _sink.WaitAsync(d => d.Count(x => x.Key == $"{ns}/api") >= 2, "a resync");

        Assert.All(_sink.For($"{ns}/api"), d => Assert.Equal((Action.Apply, 1L), (d.Action, d.Generation)));
        Assert.Contains(_logs.Lines, line => line.EventId.Id == 3009);
    }

    private Task<V1Secret> CreateSecretAsync(string ns, string name, string password) =>
        cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = name },
            Data = new Dictionary<string, byte[]> { ["metadata.json"] = Encoding.UTF8.GetBytes($$"""{"tlsKeyStorePassword":"{{password}}"}""") },
        }, ns);
}
