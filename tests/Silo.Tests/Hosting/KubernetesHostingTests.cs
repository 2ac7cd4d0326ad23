using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting.Kubernetes;

namespace Notary.Silo.Tests.Hosting;

/// <summary>
/// Orleans' Kubernetes hosting in a pod with Redis (built, not started: there is no pod here). The
/// chart grants it get, list and watch on pods, so the host must never need the rest: it keeps
/// DeleteDefunctSiloPods off, and refuses to start when the pod's ids (ORLEANS_SERVICE_ID,
/// ORLEANS_CLUSTER_ID, from the pod's labels) differ from Notary's, which would make Orleans patch
/// the pod's labels.
/// </summary>
public sealed class KubernetesHostingTests
{
    private static Dictionary<string, string?> InPod(string? serviceId = "notary", string? clusterId = "prod") => new()
    {
        ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1",
        ["POD_IP"] = "10.1.2.3",
        ["Notary:Cluster:Provider"] = "redis",
        ["Notary:Cluster:Redis:ConnectionString"] = "127.0.0.1:1",
        ["Notary:Cluster:ServiceId"] = "notary",
        ["Notary:Cluster:ClusterId"] = "prod",
        ["ORLEANS_SERVICE_ID"] = serviceId,
        ["ORLEANS_CLUSTER_ID"] = clusterId,
    };

    private static async Task<T> WithHostAsync<T>(Dictionary<string, string?> configuration, Func<WebApplication, T> read)
    {
        await using var app = NotaryHost.Build(new NotaryHostSettings
        {
            Kubernetes = new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" },
            Configuration = configuration,
        });
        return read(app);
    }

    /// <summary>The validator's answer: null when the options pass, else every failure.</summary>
    private static string? Failures(WebApplication app)
    {
        try
        {
            _ = app.Services.GetRequiredService<IOptions<NotaryClusterOptions>>().Value;
            return null;
        }
        catch (OptionsValidationException ex)
        {
            return string.Join("\n", ex.Failures);
        }
    }

    /// <summary>KubernetesHostingOptions as the host's configure steps leave them (not through IOptions, whose validator reads POD_NAME from the process environment).</summary>
    private static KubernetesHostingOptions? Hosting(WebApplication app)
    {
        var steps = app.Services.GetServices<IConfigureOptions<KubernetesHostingOptions>>().ToList();
        if (steps.Count == 0)
        {
            return null;
        }

        var options = new KubernetesHostingOptions();
        foreach (var step in steps)
        {
            step.Configure(options);
        }

        return options;
    }

    [Fact]
    public async Task In_a_pod_with_redis_the_hosting_is_on_and_never_deletes_pods()
    {
        var (failures, hosting) = await WithHostAsync(InPod(), app => (Failures(app), Hosting(app)));
        Assert.Null(failures);
        Assert.NotNull(hosting);
        Assert.False(hosting.DeleteDefunctSiloPods);
    }

    [Fact]
    public async Task Outside_a_pod_or_without_redis_there_is_no_hosting_and_the_pod_ids_are_not_asked_for()
    {
        var local = InPod(serviceId: null, clusterId: null);
        local.Remove("KUBERNETES_SERVICE_HOST");
        Assert.Null(await WithHostAsync(local, Hosting));
        Assert.Null(await WithHostAsync(local, Failures));

        var memory = InPod(serviceId: null, clusterId: null);
        memory["Notary:Cluster:Provider"] = "localhost";
        Assert.Null(await WithHostAsync(memory, Hosting));
        Assert.Null(await WithHostAsync(memory, Failures));
    }

    [Fact]
    public async Task Pod_ids_that_differ_from_Notarys_or_are_missing_stop_the_start_naming_both_values()
    {
        var differ = await WithHostAsync(InPod(clusterId: "staging"), Failures);
        Assert.NotNull(differ);
        Assert.Contains("ORLEANS_CLUSTER_ID \"staging\" (the pod's orleans/clusterId label) differs from Notary:Cluster:ClusterId \"prod\"", differ, StringComparison.Ordinal);
        Assert.DoesNotContain("ORLEANS_SERVICE_ID", differ, StringComparison.Ordinal);

        var missing = await WithHostAsync(InPod(serviceId: null), Failures);
        Assert.NotNull(missing);
        Assert.Contains("ORLEANS_SERVICE_ID is not set", missing, StringComparison.Ordinal);
        Assert.Contains("metadata.labels['orleans/serviceId']", missing, StringComparison.Ordinal);
    }
}
