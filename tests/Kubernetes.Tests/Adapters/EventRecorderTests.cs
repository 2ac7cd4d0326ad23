using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class EventRecorderTests(ClusterFixture cluster)
{
    private KubernetesEventRecorder Recorder(TimeProvider? time = null) => new(
        cluster.Client,
        ClusterFixture.Options(o => o.EventCorrelationWindow = TimeSpan.FromMinutes(10)),
        time ?? TimeProvider.System,
        ClusterFixture.Log<KubernetesEventRecorder>());

    /// <summary>The Events kubectl describe shows for an object: those whose involvedObject.uid is its uid.</summary>
    private async Task<IList<Corev1Event>> EventsOfAsync(string ns, string uid) =>
        (await cluster.Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.uid={uid}")).Items;

    [Fact]
    public async Task An_event_names_the_resource_with_its_uid()
    {
        var ns = await cluster.NamespaceAsync();
        var certificate = await cluster.Client.CreateAsync(Objects.Certificate(ns, "api"));
        using var recorder = Recorder();

        await recorder.RecordAsync(new ResourceKey(ns, "api"), ResourceKind.Certificate, EventSeverity.Normal, "Issued", "Issued serial 0a1b.", CancellationToken.None);

        var recorded = Assert.Single(await EventsOfAsync(ns, certificate.Metadata.Uid));
        Assert.Equal((NotaryResources.ApiVersion, "Certificate", "api", ns, certificate.Metadata.Uid),
            (recorded.InvolvedObject.ApiVersion, recorded.InvolvedObject.Kind, recorded.InvolvedObject.Name, recorded.InvolvedObject.NamespaceProperty, recorded.InvolvedObject.Uid));
        Assert.Equal(("Normal", "Issued", "Issued serial 0a1b.", 1), (recorded.Type, recorded.Reason, recorded.Message, recorded.Count));
        Assert.Equal(("notary", "notary"), (recorded.Source.Component, recorded.ReportingComponent));
        Assert.NotNull(recorded.FirstTimestamp);
        Assert.Equal(recorded.FirstTimestamp, recorded.LastTimestamp);
        Assert.StartsWith("api.", recorded.Metadata.Name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repeats_within_the_window_count_up_on_one_event()
    {
        var ns = await cluster.NamespaceAsync();
        var keystore = await cluster.Client.CreateAsync(Objects.Keystore(ns, "api"));
        using var recorder = Recorder();
        var key = new ResourceKey(ns, "api");

        for (var i = 0; i < 3; i++)
        {
            await recorder.RecordAsync(key, ResourceKind.Keystore, EventSeverity.Warning, "MetadataMissing", "Secret notary-metadata not found.", CancellationToken.None);
        }

        await recorder.RecordAsync(key, ResourceKind.Keystore, EventSeverity.Normal, "Stored", "Stored.", CancellationToken.None);

        var events = await EventsOfAsync(ns, keystore.Metadata.Uid);
        Assert.Equal(2, events.Count);
        var repeated = Assert.Single(events, e => e.Reason == "MetadataMissing");
        Assert.Equal(("Warning", 3), (repeated.Type, repeated.Count));
        Assert.True(repeated.LastTimestamp >= repeated.FirstTimestamp);
        Assert.Equal(1, Assert.Single(events, e => e.Reason == "Stored").Count);
    }

    [Fact]
    public async Task After_the_window_a_repeat_is_a_new_event()
    {
        var ns = await cluster.NamespaceAsync();
        var truststore = await cluster.Client.CreateAsync(Objects.Truststore(ns, "api"));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var recorder = Recorder(time);
        var key = new ResourceKey(ns, "api");

        await recorder.RecordAsync(key, ResourceKind.Truststore, EventSeverity.Normal, "Stored", "Stored.", CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(11));
        await recorder.RecordAsync(key, ResourceKind.Truststore, EventSeverity.Normal, "Stored", "Stored.", CancellationToken.None);

        var events = await EventsOfAsync(ns, truststore.Metadata.Uid);
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal(1, e.Count));
    }

    [Fact]
    public async Task An_event_whose_earlier_copy_expired_is_created_again()
    {
        var ns = await cluster.NamespaceAsync();
        var certificate = await cluster.Client.CreateAsync(Objects.Certificate(ns, "api"));
        using var recorder = Recorder();
        var key = new ResourceKey(ns, "api");
        await recorder.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, "Issued", "Issued.", CancellationToken.None);
        var first = Assert.Single(await EventsOfAsync(ns, certificate.Metadata.Uid));

        // The API server drops Events after an hour; deleting it stands in for that.
        await cluster.Client.CoreV1.DeleteNamespacedEventAsync(first.Metadata.Name, ns);
        await recorder.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, "Issued", "Issued.", CancellationToken.None);

        var again = Assert.Single(await EventsOfAsync(ns, certificate.Metadata.Uid));
        Assert.Equal(1, again.Count);
    }

    [Fact]
    public async Task An_object_about_to_disappear_can_be_named_by_the_uid_the_caller_knows()
    {
        var ns = await cluster.NamespaceAsync();
        using var recorder = Recorder();

        await recorder.RecordAsync(ResourceKind.Certificate, new ResourceKey(ns, "gone"), "0f4e3e7a-uid", EventSeverity.Normal, "CleanedUp", "Cleaned up.", CancellationToken.None);

        var recorded = Assert.Single(await EventsOfAsync(ns, "0f4e3e7a-uid"));
        Assert.Equal("gone", recorded.InvolvedObject.Name);
    }

    [Fact]
    public async Task An_event_on_an_object_that_does_not_exist_is_still_recorded()
    {
        var ns = await cluster.NamespaceAsync();
        using var recorder = Recorder();

        await recorder.RecordAsync(new ResourceKey(ns, "gone"), ResourceKind.Keystore, EventSeverity.Normal, "Deleted", "Deleted.", CancellationToken.None);

        var recorded = Assert.Single((await cluster.Client.CoreV1.ListNamespacedEventAsync(ns)).Items);
        Assert.Equal(("gone", "Keystore"), (recorded.InvolvedObject.Name, recorded.InvolvedObject.Kind));
    }
}
