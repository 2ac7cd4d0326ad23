using System.Net;
using k8s;
using k8s.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Kubernetes.Tests.Adapters;

/// <summary>
/// The grains' Event queue: against DevCluster for what reaches the API (order, correlation,
/// draining on stop), and with a sink the test holds or fails for the queue's own behaviour
/// (returning before the Event is recorded, waiting when full, retries), which no API server
/// can be made to do on cue.
/// </summary>
[Collection(AdapterCollection.Name)]
public sealed class QueuedEventRecorderTests(ClusterFixture cluster)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private KubernetesEventRecorder KubernetesRecorder() => new(
        cluster.Client,
        ClusterFixture.Options(o => o.EventCorrelationWindow = TimeSpan.FromMinutes(10)),
        TimeProvider.System,
        ClusterFixture.Log<KubernetesEventRecorder>());

    private static QueuedEventRecorder Queue(IEventRecorder sink) =>
        new(sink, ClusterFixture.Log<QueuedEventRecorder>(), TimeSpan.FromMilliseconds(10));

    private async Task<IList<Corev1Event>> EventsOfAsync(string ns, string uid) =>
        (await cluster.Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.uid={uid}")).Items;

    [Fact]
    public async Task Stopping_records_every_queued_event_with_repeats_counted_on_one()
    {
        var ns = await cluster.NamespaceAsync();
        var certificate = await cluster.Client.CreateAsync(Objects.Certificate(ns, "api"));
        using var sink = KubernetesRecorder();
        var queue = Queue(sink);
        var key = new ResourceKey(ns, "api");

        await queue.RecordAsync(key, ResourceKind.Certificate, certificate.Metadata.Uid, EventSeverity.Normal, "Issued", "Issued serial 01.", CancellationToken.None);
        for (var i = 0; i < 3; i++)
        {
            await queue.RecordAsync(key, ResourceKind.Certificate, certificate.Metadata.Uid, EventSeverity.Warning, "RenewalFailed", "The issuer refused.", CancellationToken.None);
        }

        await queue.StopAsync(CancellationToken.None);

        var events = await EventsOfAsync(ns, certificate.Metadata.Uid);
        Assert.Equal(2, events.Count);
        Assert.Equal(1, Assert.Single(events, e => e.Reason == "Issued").Count);
        var repeated = Assert.Single(events, e => e.Reason == "RenewalFailed");
        Assert.Equal(("Warning", 3), (repeated.Type, repeated.Count));
        Assert.Equal(0, queue.Pending);
    }

    [Fact]
    public async Task Queued_events_reach_the_api_while_running_and_the_uid_is_looked_up_when_not_given()
    {
        var ns = await cluster.NamespaceAsync();
        var keystore = await cluster.Client.CreateAsync(Objects.Keystore(ns, "api"));
        using var sink = KubernetesRecorder();
        await using var queue = Queue(sink);

        await queue.RecordAsync(new ResourceKey(ns, "api"), ResourceKind.Keystore, EventSeverity.Normal, "Stored", "Stored.", CancellationToken.None);

        var deadline = DateTime.UtcNow + Patience;
        IList<Corev1Event> events;
        while ((events = await EventsOfAsync(ns, keystore.Metadata.Uid)).Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var stored = Assert.Single(events);
        Assert.Equal(("Stored", "Keystore", "api"), (stored.Reason, stored.InvolvedObject.Kind, stored.InvolvedObject.Name));
    }

    [Fact]
    public async Task Recording_returns_before_the_event_is_recorded_and_events_are_recorded_in_the_order_queued()
    {
        var sink = new HeldSink();
        await using var queue = Queue(sink);

        var first = queue.RecordAsync(new ResourceKey("a", "one"), ResourceKind.Certificate, EventSeverity.Normal, "Issued", "1", CancellationToken.None);
        var second = queue.RecordAsync(new ResourceKey("a", "one"), ResourceKind.Certificate, EventSeverity.Normal, "Reissued", "2", CancellationToken.None);

        Assert.True(first.IsCompletedSuccessfully);
        Assert.True(second.IsCompletedSuccessfully);
        Assert.Empty(sink.Recorded);

        sink.Release();
        await queue.StopAsync(CancellationToken.None);
        Assert.Equal(["Issued", "Reissued"], sink.Recorded);
    }

    [Fact]
    public async Task A_full_queue_makes_the_caller_wait_instead_of_dropping_events()
    {
        var sink = new HeldSink();
        await using var queue = Queue(sink);
        var key = new ResourceKey("a", "one");

        // One Event held in the sink, then the queue's capacity.
        await queue.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, "E0", "m", CancellationToken.None);
        await sink.Entered.WaitAsync(Patience);
        for (var i = 1; i <= QueuedEventRecorder.Capacity; i++)
        {
            Assert.True(queue.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, $"E{i}", "m", CancellationToken.None).IsCompletedSuccessfully);
        }

        var waiting = queue.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, "last", "m", CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        sink.Release();
        await waiting.WaitAsync(Patience);
        await queue.StopAsync(CancellationToken.None);
        Assert.Equal(QueuedEventRecorder.Capacity + 2, sink.Recorded.Count);
        Assert.Equal("last", sink.Recorded[^1]);
    }

    [Fact]
    public async Task A_failure_that_may_pass_is_tried_again_and_one_that_will_not_is_dropped_without_holding_the_next()
    {
        var sink = new HeldSink();
        sink.Release();
        sink.FailNext("Flaky", new HttpRequestException("connection refused"));
        sink.FailNext("Refused", new k8s.Autorest.HttpOperationException("Unprocessable")
        {
            Response = new k8s.Autorest.HttpResponseMessageWrapper(new HttpResponseMessage(HttpStatusCode.UnprocessableEntity), ""),
        });
        await using var queue = Queue(sink);
        var key = new ResourceKey("a", "one");

        await queue.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, "Flaky", "m", CancellationToken.None);
        await queue.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, "Refused", "m", CancellationToken.None);
        await queue.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, "After", "m", CancellationToken.None);
        await queue.StopAsync(CancellationToken.None);

        Assert.Equal(["Flaky", "After"], sink.Recorded);
        Assert.Equal(2, sink.Attempts["Flaky"]);
        Assert.Equal(1, sink.Attempts["Refused"]);
    }

    [Fact]
    public async Task After_stopping_an_event_is_recorded_before_the_call_returns()
    {
        var sink = new HeldSink();
        sink.Release();
        await using var queue = Queue(sink);
        await queue.StopAsync(CancellationToken.None);

        // The queue is closed: the Event is recorded inline.
        await queue.RecordAsync(new ResourceKey("a", "one"), ResourceKind.Certificate, EventSeverity.Normal, "Deleted", "m", CancellationToken.None);

        Assert.Equal(["Deleted"], sink.Recorded);
    }

    /// <summary>Records reasons once released; can fail chosen reasons once each.</summary>
    private sealed class HeldSink : IEventRecorder
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Dictionary<string, Exception> _failures = [];
        private readonly List<string> _recorded = [];

        public Task Entered => _entered.Task;

        public Dictionary<string, int> Attempts { get; } = [];

        public IReadOnlyList<string> Recorded
        {
            get
            {
                lock (_recorded)
                {
                    return [.. _recorded];
                }
            }
        }

        public void Release() => _release.TrySetResult();

        public void FailNext(string reason, Exception failure) => _failures[reason] = failure;

        public Task RecordAsync(ResourceKey resource, ResourceKind kind, EventSeverity severity, string reason, string message, CancellationToken cancellationToken) =>
            RecordAsync(resource, kind, null, severity, reason, message, cancellationToken);

        public async Task RecordAsync(ResourceKey resource, ResourceKind kind, string? uid, EventSeverity severity, string reason, string message, CancellationToken cancellationToken)
        {
            _entered.TrySetResult();
            await _release.Task.WaitAsync(cancellationToken);
            lock (_recorded)
            {
                Attempts[reason] = Attempts.GetValueOrDefault(reason) + 1;
                if (_failures.Remove(reason, out var failure))
                {
                    throw failure;
                }

                _recorded.Add(reason);
            }
        }
    }
}
