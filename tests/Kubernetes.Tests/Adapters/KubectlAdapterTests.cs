using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Abs = Notary.Grains.Abstractions;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>What the adapters write, as real kubectl shows it: describe with Events, jsonpath, wait, printer columns.</summary>
[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class KubectlAdapterTests(ClusterFixture cluster)
{
    [Fact]
    public async Task Kubectl_describe_lists_the_events_on_the_certificate_with_their_counts()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CreateAsync(Objects.Certificate(ns, "api"));
        using var recorder = new KubernetesEventRecorder(cluster.Client, ClusterFixture.Options(), TimeProvider.System, ClusterFixture.Log<KubernetesEventRecorder>());
        var key = new ResourceKey(ns, "api");
        await recorder.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Normal, "Issued", "Issued serial 0a1b by the built-in CA.", CancellationToken.None);
        for (var i = 0; i < 3; i++)
        {
            await recorder.RecordAsync(key, ResourceKind.Certificate, EventSeverity.Warning, "RenewalFailed", "The issuer is unavailable; Notary retries.", CancellationToken.None);
        }

        var describe = await cluster.KubectlAsync("describe", "cert", "api", "-n", ns);

        Assert.Matches(@"Events:\s*\n\s+Type\s+Reason\s+Age\s+From\s+Message", describe);
        Assert.Matches(@"Normal\s+Issued\s+\S+\s+notary\S*\s.*Issued serial 0a1b by the built-in CA\.", describe);
        Assert.Matches(@"Warning\s+RenewalFailed\s+.*\(x3 over .*\)\s+notary\S*\s.*The issuer is unavailable; Notary retries\.", describe);
    }

    [Fact]
    public async Task Kubectl_reads_the_written_status_and_waits_for_Ready()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CreateAsync(Objects.Certificate(ns, "api"));
        var now = DateTimeOffset.UtcNow;
        await new KubernetesStatusWriter(cluster.Client, ClusterFixture.Options(), ClusterFixture.Log<KubernetesStatusWriter>())
            .WriteCertificateStatusAsync(new ResourceKey(ns, "api"), new Abs.CertificateStatus
            {
                Arn = "urn:notary:builtin:certificate/0a1b",
                SerialNumber = "0a1b",
                NotBefore = now,
                NotAfter = now.AddDays(90),
                RenewalTime = now.AddDays(60),
                Revision = 1,
                Conditions = [new StatusCondition(Conditions.Ready, Conditions.True, Reasons.Issued, "Issued serial 0a1b.", now, 1)],
                ObservedGeneration = 1,
            }, CancellationToken.None);

        await cluster.KubectlAsync("wait", "--for=condition=Ready", $"certificate/api", "-n", ns, "--timeout=10s");
        Assert.Equal("0a1b 1 urn:notary:builtin:certificate/0a1b", await cluster.KubectlAsync(
            "get", "cert", "api", "-n", ns, "-o", "jsonpath={.status.serialNumber} {.status.revision} {.status.arn}"));
        var table = await cluster.KubectlAsync("get", "cert", "-n", ns);
        Assert.Matches(@"api\s+Private\s+api\.shop\.svc\.cluster\.local\s+True\s", table);
    }
}
