using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>Transient failures in the middle of work: nothing is lost, and the work completes on retry.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class FailureTests(ClusterFixture fx) : IDisposable
{
    private static ResourceVersionInfo V(long generation) => new("uid-1", generation);

    private static CertificateSpec Cert(string fqdn) => new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256 };

    public void Dispose()
    {
        fx.Faults.Clear();
        fx.Store.Fail = false;
    }

    [Fact]
    public async Task A_spec_change_whose_first_apply_failed_is_applied_by_the_retry()
    {
        var ns = ClusterFixture.NewNamespace();
        var grain = fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api");
        var first = await grain.ApplyAsync(Cert($"api.{ns}.svc.cluster.local"), V(1));
        var changed = Cert($"api2.{ns}.svc.cluster.local");

        fx.Faults.FailNext("ICertificateTagGrain.RegisterAsync");
        await Assert.ThrowsAnyAsync<Exception>(() => grain.ApplyAsync(changed, V(2)));

        // The watcher retries the same generation: it must not be taken for already applied.
        var second = await grain.ApplyAsync(changed, V(2));
        Assert.True(second.IsReady);
        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        Assert.Equal(2, second.Revision);
        Assert.Equal($"api2.{ns}.svc.cluster.local", (await grain.GetSnapshotAsync()).Fqdn);
    }

    [Fact]
    public async Task A_store_rebuild_that_fails_midway_fails_the_apply_and_retries_on_its_own()
    {
        var ns = ClusterFixture.NewNamespace();
        var fqdn = $"api.{ns}.svc.cluster.local";
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        fx.Metadata.Set(ns, "other-metadata", InMemoryMetadataSource.Json("password-3", "password-4"));
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api").ApplyAsync(Cert(fqdn), V(1));
        var ks = fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/api");
        Assert.True((await ks.ApplyAsync(new KeystoreSpec { Fqdn = fqdn, CertName = "api" }, V(1))).IsReady);
        var good = fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api"));

        // The apply fails with the cause, so the watcher forwards it again with its own backoff: a
        // status would be taken as done, and the grain's retry alone can go with its activation.
        fx.Faults.FailNext("IMetadataSecretGrain.SubscribeAsync");
        await Assert.ThrowsAsync<TimeoutException>(() => ks.ApplyAsync(new KeystoreSpec { Fqdn = fqdn, CertName = "api", Format = "JKS", MetadataSecret = "other-metadata" }, V(2)));
        var failed = fx.Status.Store(ResourceKind.Keystore, new ResourceKey(ns, "api"))!;
        Assert.Equal(Reasons.ReconcileFailed, failed.Condition(Conditions.Ready)!.Reason);
        Assert.DoesNotContain("injected", failed.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.Same(good, fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api")));

        var ready = await fx.Status.WaitStoreAsync(ResourceKind.Keystore, new ResourceKey(ns, "api"), s => s.IsReady && s.ObservedGeneration == 2, "retried to Ready");
        Assert.Equal("keystore.jks", fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api"))!.PrimaryFileName);
        Assert.Equal(Reasons.Stored, ready.Condition(Conditions.Ready)!.Reason);
    }

    [Fact]
    public async Task A_store_that_could_not_be_written_is_written_once_the_store_is_back()
    {
        var ns = ClusterFixture.NewNamespace();
        var fqdn = $"api.{ns}.svc.cluster.local";
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api").ApplyAsync(Cert(fqdn), V(1));
        fx.Store.Fail = true;
        var failed = await fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/api").ApplyAsync(new KeystoreSpec { Fqdn = fqdn, CertName = "api" }, V(1));
        Assert.Equal(Reasons.StoreFailed, failed.Condition(Conditions.Ready)!.Reason);
        Assert.Contains("IOException", failed.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("unavailable (test)", failed.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);

        fx.Store.Fail = false;
        await fx.Status.WaitReadyAsync(ResourceKind.Keystore, new ResourceKey(ns, "api"));
        Assert.NotNull(fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api")));
    }

    [Fact]
    public async Task A_store_failure_with_a_worded_cause_shows_it_and_is_retried_until_it_passes()
    {
        var ns = ClusterFixture.NewNamespace();
        var fqdn = $"api.{ns}.svc.cluster.local";
        var key = new ResourceKey(ns, "api-ks");
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api").ApplyAsync(Cert(fqdn), V(1));
        fx.Store.FailFor(key, new SecretStoreFailedException("Secrets Manager PutSecretValue failed: AccessDeniedException: User is not authorized to perform secretsmanager:PutSecretValue."));

        var failed = await fx.Grains.GetGrain<IKeystoreGrain>(key.ToString()).ApplyAsync(new KeystoreSpec { Fqdn = fqdn, CertName = "api" }, V(1));
        Assert.Equal(Reasons.StoreFailed, failed.Condition(Conditions.Ready)!.Reason);
        Assert.Contains("AccessDeniedException: User is not authorized", failed.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.Contains(fx.Events.For(key), e => e.Severity == EventSeverity.Warning && e.Message.Contains("AccessDeniedException", StringComparison.Ordinal));

        // The operator fixes the policy: the store is written with no new apply.
        fx.Store.Recover(key);
        await fx.Status.WaitReadyAsync(ResourceKind.Keystore, key);
        Assert.NotNull(fx.Store.Get(ResourceKind.Keystore, key));
    }
}
