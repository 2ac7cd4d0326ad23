using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;

namespace Notary.Watcher.Tests;

/// <summary>The watcher's in-memory parts: work queue, backoff, metadata Secret index, options.</summary>
public sealed class BuildingBlockTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_key_changed_many_times_before_it_is_taken_is_queued_once()
    {
        var queue = new WorkQueue(TimeProvider.System);
        queue.Add("shop/api");
        queue.Add("shop/api");
        queue.Add("shop/web");
        queue.Add("shop/api");

        Assert.Equal("shop/api", await queue.TakeAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        Assert.Equal("shop/web", await queue.TakeAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        var more = queue.TakeAsync(CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(more.IsCompleted);
    }

    [Fact]
    public async Task A_key_changed_while_it_is_handled_comes_back_after_it_is_done_and_not_before()
    {
        var queue = new WorkQueue(TimeProvider.System);
        queue.Add("shop/api");
        var key = await queue.TakeAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);

        queue.Add(key);
        var again = queue.TakeAsync(CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(again.IsCompleted, "a key must not be handled by two workers at once");

        queue.Done(key);
        Assert.Equal("shop/api", await again.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_failed_key_comes_back_after_a_delay()
    {
        var queue = new WorkQueue(TimeProvider.System);
        queue.Add("shop/api");
        var key = await queue.TakeAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);

        var delay = queue.AddAfterFailure(key, CancellationToken.None);
        queue.Done(key);

        Assert.InRange(delay, TimeSpan.FromMilliseconds(125), TimeSpan.FromMilliseconds(250));
        Assert.Equal("shop/api", await queue.TakeAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public void A_key_refused_by_a_silo_that_is_down_backs_off_to_the_lower_cap_only()
    {
        var queue = new WorkQueue(TimeProvider.System);
        var cap = TimeSpan.FromSeconds(2);
        using var stop = new CancellationTokenSource();
        var delays = Enumerable.Range(0, 12).Select(_ => queue.AddAfterFailure("shop/api", stop.Token, cap)).ToList();
        stop.Cancel();

        // Twelve failures reach the 2-minute cap without the lower one (250 ms doubled 11 times is 8.5 min).
        Assert.All(delays, d => Assert.True(d <= cap, $"{d} is beyond the cap"));
        Assert.True(delays[^1] >= cap / 2, $"{delays[^1]}: the delay still grows up to the cap");
    }

    [Theory]
    [InlineData(0, 50, 100)]
    [InlineData(1, 100, 200)]
    [InlineData(3, 400, 800)]
    [InlineData(10, 5000, 10000)]
    [InlineData(1000, 5000, 10000)]
    public void Backoff_doubles_with_jitter_up_to_the_cap(int failures, int minMs, int maxMs)
    {
        for (var i = 0; i < 50; i++)
        {
            var delay = Backoff.Delay(failures, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));
            Assert.InRange(delay.TotalMilliseconds, minMs, maxMs);
        }
    }

    [Fact]
    public void Backoff_starts_over_after_a_reset()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));
        for (var i = 0; i < 10; i++)
        {
            backoff.Next();
        }

        backoff.Reset();
        Assert.InRange(backoff.Next().TotalMilliseconds, 50, 100);
    }

    [Fact]
    public void The_index_follows_which_Secrets_the_stores_name()
    {
        var index = new MetadataSecretIndex();
        index.Set(ResourceKind.Keystore, "shop/api", "shop/notary-metadata");
        index.Set(ResourceKind.Truststore, "shop/api", "shop/notary-metadata");
        Assert.True(index.IsReferenced("shop/notary-metadata"));
        Assert.False(index.IsReferenced("other/notary-metadata"));

        index.Set(ResourceKind.Keystore, "shop/api", "shop/api-metadata");
        Assert.True(index.IsReferenced("shop/notary-metadata"), "the truststore still names it");
        Assert.True(index.IsReferenced("shop/api-metadata"));

        index.Set(ResourceKind.Truststore, "shop/api", null);
        Assert.False(index.IsReferenced("shop/notary-metadata"));
        index.Set(ResourceKind.Keystore, "shop/api", null);
        Assert.False(index.IsReferenced("shop/api-metadata"));
    }

    [Fact]
    public void Without_POD_NAME_each_process_and_instance_has_its_own_identity()
    {
        if (Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 })
        {
            return;
        }

        var one = LeaderElectedWatcher.DefaultIdentity();
        var two = LeaderElectedWatcher.DefaultIdentity();

        Assert.NotEqual(one, two);
        Assert.StartsWith($"{Environment.MachineName}_{Environment.ProcessId}_", one, StringComparison.Ordinal);
        Assert.InRange(one.Length, 1, 253);
    }

    [Fact]
    public void Default_options_are_valid()
    {
        Assert.True(new NotaryWatcherOptionsValidator().Validate(null, new NotaryWatcherOptions()).Succeeded);
    }

    public static TheoryData<string, Action<NotaryWatcherOptions>, string> BadOptions => new()
    {
        { "lease name", o => o.LeaseName = "Not_A_Name", "LeaseName" },
        { "sub-second lease", o => o.LeaseDuration = TimeSpan.FromMilliseconds(500), "at least one second" },
        { "renew deadline not below the lease", o => o.RenewDeadline = TimeSpan.FromSeconds(15), "shorter than LeaseDuration" },
        { "retry period too close to the deadline", o => o.RetryPeriod = TimeSpan.FromSeconds(9), "1.2 × RetryPeriod" },
        { "no workers", o => o.Workers = 0, "Workers" },
        { "reconnect delays reversed", o => o.MaxReconnectDelay = TimeSpan.FromMilliseconds(10), "MinReconnectDelay" },
        { "resync too often", o => o.ResyncPeriod = TimeSpan.Zero, "ResyncPeriod" },
        { "empty identity", o => o.Identity = "", "Identity" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_options_are_refused_with_a_message_that_says_how_to_fix_them(string because, Action<NotaryWatcherOptions> change, string mentions)
    {
        var options = new NotaryWatcherOptions();
        change(options);

        var result = new NotaryWatcherOptionsValidator().Validate(null, options);

        Assert.True(result.Failed, because);
        Assert.Contains(result.Failures!, failure => failure.Contains(mentions, StringComparison.Ordinal) && failure.Contains("Notary:Watcher:", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_are_validated_when_the_host_starts()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Notary:Watcher:Workers"] = "0", ["Notary:Kubernetes:Namespace"] = "Bad Namespace" })
            .Build();
        using var provider = new ServiceCollection().AddNotaryWatcher(configuration).BuildServiceProvider();

        var watcher = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<NotaryWatcherOptions>>().Value);
        Assert.Contains("Workers", watcher.Message, StringComparison.Ordinal);
        var kubernetes = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<CustomResources.NotaryKubernetesOptions>>().Value);
        Assert.Contains("is not a namespace name", kubernetes.Message, StringComparison.Ordinal);
    }
}

/// <summary>How the custom-resource source reads one object of a list or watch.</summary>
public sealed class ReadingTests
{
    [Fact]
    public void An_object_the_model_cannot_read_is_reported_with_its_key_and_resourceVersion_instead_of_thrown()
    {
        using var document = System.Text.Json.JsonDocument.Parse("""
            {"apiVersion":"notary.dev/v1alpha1","kind":"Certificate",
             "metadata":{"name":"api","namespace":"shop","resourceVersion":"42","uid":"u1","generation":1},
             "spec":{"type":"Private","fqdn":"a.b","alt":"not-a-list"}}
            """);

        var item = CustomResourceSource<CustomResources.Models.Certificate>.Read(k8s.WatchEventType.Modified, document.RootElement);

        Assert.Null(item.Object);
        Assert.Equal(("shop/api", "42"), (item.Key, item.ResourceVersion));
        Assert.NotNull(item.Error);
    }

    [Fact]
    public void A_cached_object_shares_the_apiVersion_kind_and_finalizer_every_object_repeats()
    {
        using var document = System.Text.Json.JsonDocument.Parse("""
            {"apiVersion":"notary.dev/v1alpha1","kind":"Certificate",
             "metadata":{"name":"api","namespace":"shop","resourceVersion":"42","uid":"u1","generation":1,
                         "finalizers":["example.com/other","notary.dev/cleanup"]},
             "spec":{"type":"Private","fqdn":"a.b"}}
            """);

        var certificate = CustomResourceSource<CustomResources.Models.Certificate>.Read(k8s.WatchEventType.Added, document.RootElement).Object!;

        Assert.Same(CustomResources.Models.NotaryResources.ApiVersion, certificate.ApiVersion);
        Assert.Same(CustomResources.Models.Certificate.KubeKind, certificate.Kind);
        Assert.Equal(["example.com/other", "notary.dev/cleanup"], certificate.Metadata.Finalizers);
        Assert.Same(CustomResources.Models.NotaryResources.CleanupFinalizer, certificate.Metadata.Finalizers[1]);
    }

    [Fact]
    public void A_bookmark_carries_only_its_resourceVersion()
    {
        using var document = System.Text.Json.JsonDocument.Parse("""{"kind":"Certificate","apiVersion":"notary.dev/v1alpha1","metadata":{"resourceVersion":"77"}}""");

        var item = CustomResourceSource<CustomResources.Models.Certificate>.Read(k8s.WatchEventType.Bookmark, document.RootElement);

        Assert.Equal((k8s.WatchEventType.Bookmark, (string?)null, "77"), (item.Type, item.Key, item.ResourceVersion));
        Assert.Null(item.Object);
    }
}
