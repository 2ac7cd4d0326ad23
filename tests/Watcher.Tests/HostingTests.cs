using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Notary.Adapters.Kubernetes;
using Notary.Grains.Abstractions.Ports;
using Notary.Watcher.Tests.Support;

namespace Notary.Watcher.Tests;

/// <summary>AddNotaryWatcher in a generic host: the adapters resolve, the watcher leads and forwards, bad options stop the start.</summary>
[Collection(WatcherCollection.Name)]
[Trait("Category", "Slow")]
public sealed class HostingTests(WatcherCluster cluster)
{
    private IHost Build(RecordingSink sink, Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton<IKubernetes>(_ => new k8s.Kubernetes(cluster.Server.ClientConfiguration()));
        builder.Services.AddSingleton<IResourceEventSink>(sink);
        builder.Services.AddNotaryWatcher(builder.Configuration);
        builder.Services.AddNotaryKubernetes(builder.Configuration).AddNotaryKubernetesSecretStore();
        return builder.Build();
    }

    [Fact]
    public async Task The_watcher_runs_as_a_hosted_service_with_the_adapters_registered()
    {
        var ns = await cluster.NamespaceAsync();
        var sink = new RecordingSink();
        using var host = Build(sink, new()
        {
            ["Notary:Watcher:LeaseName"] = "hosted-" + Guid.NewGuid().ToString("N")[..8],
            ["Notary:Watcher:LeaseDuration"] = "00:00:03",
            ["Notary:Watcher:RenewDeadline"] = "00:00:02",
            ["Notary:Watcher:RetryPeriod"] = "00:00:00.5",
        });

        await host.StartAsync();
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "api"));
        await sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/api"), "the hosted watcher to forward");

        Assert.True(host.Services.GetRequiredService<LeaderElectedWatcher>().IsLeading);
        Assert.IsType<KubernetesStatusWriter>(host.Services.GetRequiredService<IStatusWriter>());
        Assert.IsType<KubernetesEventRecorder>(host.Services.GetRequiredService<IEventRecorder>());
        Assert.IsType<KubernetesSecretStore>(host.Services.GetRequiredService<ISecretStore>());
        Assert.IsType<KubernetesMetadataSource>(host.Services.GetRequiredService<IServiceMetadataSource>());
        Assert.IsType<KubernetesCertificateAuthoritySource>(host.Services.GetRequiredService<ICertificateAuthoritySource>());
        await host.StopAsync();
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_from_starting_with_a_message_that_says_how_to_fix_them()
    {
        using var host = Build(new RecordingSink(), new() { ["Notary:Watcher:RenewDeadline"] = "00:01:00" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Notary:Watcher:RenewDeadline", error.Message, StringComparison.Ordinal);
        Assert.Contains("must be shorter than LeaseDuration", error.Message, StringComparison.Ordinal);
    }
}
