using System.Runtime.CompilerServices;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Notary.CustomResources.Models;
using Notary.Watcher.Tests.Support;

namespace Notary.Watcher.Tests;

/// <summary>
/// A CertificatePolicy deleted while no watcher saw it (leader failover, outage) must not stay in
/// the policy grain: after each full list the watcher sends every policy that exists (uid by
/// name), and the grain deletes the others.
/// </summary>
public sealed class PolicyPruneTests
{
    private sealed class ListedOnce(params CertificatePolicy[] policies) : IResourceSource<CertificatePolicy>
    {
        public string Name => "certificatepolicies.notary.dev";

        public Task<ResourceList<CertificatePolicy>> ListAsync(CancellationToken cancellationToken) =>
            Task.FromResult(new ResourceList<CertificatePolicy>(
                [.. policies.Select(p => new WatchItem<CertificatePolicy>(WatchEventType.Added, p, "/" + p.Metadata.Name, p.Metadata.ResourceVersion, null))], "10"));

        public async IAsyncEnumerable<WatchItem<CertificatePolicy>> WatchAsync(string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }
    }

    private static CertificatePolicy Policy(string name, string uid, DateTime? deleting = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Uid = uid, ResourceVersion = "5", Generation = 1, DeletionTimestamp = deleting },
        Spec = new() { DnsNames = ["*.example.com"] },
    };

    [Fact]
    public async Task After_the_first_list_every_existing_policy_is_sent_with_its_uid_and_a_failed_send_is_retried()
    {
        var sink = new RecordingSink();
        sink.FailNext("*", 1);
        var options = new NotaryWatcherOptions { Workers = 2 };
        var source = new ListedOnce(Policy("keep", "uid-keep"), Policy("also", "uid-also"), Policy("going", "uid-going", DateTime.UtcNow));
        var controller = new Controller<CertificatePolicy>(
            new Informer<CertificatePolicy>(source, options, TimeProvider.System, NullLogger.Instance),
            new CertificatePolicyReconciler(sink, NullLogger.Instance), options, TimeProvider.System, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);
        try
        {
            var deliveries = await sink.WaitAsync(d => d.Any(x => x.Action == Support.Action.PoliciesListed), "the existing policies to be sent");

            var existing = Assert.IsType<Dictionary<string, string>>(Assert.Single(deliveries, x => x.Action == Support.Action.PoliciesListed).Spec);
            // A policy being deleted does not exist for the name policy.
            Assert.Equal(new Dictionary<string, string> { ["keep"] = "uid-keep", ["also"] = "uid-also" }, existing);
            // The first send failed (FailNext): delivered at all means retried, not left to the 10-minute resync.
        }
        finally
        {
            await stop.CancelAsync();
            await run;
        }
    }
}
