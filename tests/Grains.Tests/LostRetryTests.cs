using Microsoft.Extensions.DependencyInjection;
using Notary.Grains.Abstractions;
using Notary.Grains.Tests.Fakes;
using Orleans.Core.Internal;
using static Notary.Grains.Tests.LifecycleTests;

namespace Notary.Grains.Tests;

/// <summary>
/// A store whose retry timer went with its activation. Orleans drops activations that have a
/// timer pending: when a silo dies, every activation whose directory entry it held (a third of
/// them with three silos), and idle ones. Nothing else calls such a store again: the watcher
/// had its answer and a certificate's notification came and went. Against the fake clock, so a
/// timer that survived would be visible (it fires only when the test moves the clock).
/// </summary>
[Collection(LifecycleCollection.Name)]
[Trait("Category", "Slow")]
public sealed class LostRetryTests(LifecycleClusterFixture fx) : IDisposable
{
    public void Dispose()
    {
        fx.Faults.Clear();
        fx.Stepping.Validated = true;
        fx.Stepping.RetryAfter = TimeSpan.Zero;
    }

    [Fact]
    public async Task A_rebuild_after_a_notification_that_failed_and_lost_its_activation_is_retried_by_its_reminder()
    {
        var (key, spec, origin) = await ReadyKeystoreAsync();
        var keystore = fx.Grains.GetGrain<IKeystoreGrain>(key.ToString());

        // The certificate is re-issued; the keystore's rebuild, started by the (one-way)
        // notification, fails on a grain call, as when the certificate's silo is down.
        fx.Faults.FailNext("ICertificateGrain.GetIssuedMaterialAsync");
        await fx.Grains.GetGrain<ICertificateGrain>(key.ToString()).ReissueAsync("test");
        await fx.Status.WaitReasonAsync(ResourceKind.Keystore, key, Reasons.ReconcileFailed);
        Assert.Contains(await RemindersAsync(keystore), r => r == StoreGrain<KeystoreSpec>.RetryReminder);

        await DropActivationAsync(keystore, keystore.GetStatusAsync);
        fx.Time.Advance(StoreGrain<KeystoreSpec>.RetryReminderPeriod + TimeSpan.FromSeconds(1));
        var ready = await fx.Status.WaitStoreAsync(ResourceKind.Keystore, key, s => s.IsReady && s.CertificateRevisions[key.ToString()] == 2, "rebuilt from revision 2 with no new apply");
        Assert.Equal(Reasons.Stored, ready.Condition(Conditions.Ready)!.Reason);

        // Recovered: the reminder goes, so nothing fires every minute for a healthy store.
        await NoRemindersAsync(keystore);
        Assert.True((await keystore.ApplyAsync(spec, origin)).IsReady);
    }

    [Fact]
    public async Task A_store_whose_write_failed_is_written_after_its_activation_is_dropped_even_if_a_later_retry_failed_before_writing()
    {
        var (key, spec, origin) = await ReadyKeystoreAsync();
        var keystore = fx.Grains.GetGrain<IKeystoreGrain>(key.ToString());

        // Its Secret was deleted by hand; writing it again fails.
        fx.Store.FailFor(key, new IOException("secret store unavailable (test)"));
        await keystore.OnStoredSecretDeletedAsync();
        await fx.Status.WaitReasonAsync(ResourceKind.Keystore, key, Reasons.StoreFailed);
        fx.Store.Recover(key);

        // The retry fails before it gets to the write: the store still has to be written.
        fx.Faults.FailNext("ICertificateGrain.GetSnapshotAsync");
        fx.Time.Advance(StoreGrain<KeystoreSpec>.FirstRetryDelay);
        await fx.Status.WaitReasonAsync(ResourceKind.Keystore, key, Reasons.ReconcileFailed);
        var attempts = fx.Store.AttemptsOf(key).Count;

        // A new activation (the old one dropped with what it knew) applied again by the watcher.
        await DropActivationAsync(keystore, keystore.GetStatusAsync);
        Assert.True((await keystore.ApplyAsync(spec, origin)).IsReady);
        Assert.Equal(attempts + 1, fx.Store.AttemptsOf(key).Count);
        Assert.NotNull(fx.Store.Get(ResourceKind.Keystore, key));
    }

    [Fact]
    public async Task A_metadata_Secret_that_could_not_be_read_is_read_again()
    {
        var key = NewKey();
        await fx.Grains.GetGrain<ICertificateGrain>(key.ToString()).ApplyAsync(Cert($"{key.Name}.{key.Namespace}.svc", "2160h"), V(1));
        fx.Metadata.Set(key.Namespace, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        fx.Metadata.FailNext(key.Namespace, "notary-metadata", new HttpRequestException("the API server did not answer (test)"));

        var keystore = fx.Grains.GetGrain<IKeystoreGrain>(key.ToString());
        var failed = await keystore.ApplyAsync(new KeystoreSpec { Fqdn = $"{key.Name}.{key.Namespace}.svc", CertName = key.Name }, V(1));
        Assert.Equal(Reasons.MetadataUnavailable, failed.Condition(Conditions.Ready)!.Reason);

        // The Secret did not change, so nothing notifies the store: it retries by itself.
        fx.Time.Advance(StoreGrain<KeystoreSpec>.FirstRetryDelay);
        await fx.Status.WaitReadyAsync(ResourceKind.Keystore, key);
        Assert.NotNull(fx.Store.Get(ResourceKind.Keystore, key));
    }

    [Fact]
    public async Task A_first_issuance_that_failed_and_lost_its_activation_is_retried_by_its_reminder()
    {
        var key = NewKey();
        var certificate = fx.Grains.GetGrain<ICertificateGrain>(key.ToString());
        fx.Issuer.FailFor(key);
        try
        {
            var failed = await certificate.ApplyAsync(Cert($"{key.Name}.{key.Namespace}.svc", "2160h"), V(1));
            Assert.Equal(Reasons.IssueFailed, failed.Condition(Conditions.Ready)!.Reason);
            Assert.Contains(await RemindersAsync(certificate), r => r == CertificateGrain.ContinueReminder);

            await DropActivationAsync(certificate, certificate.GetStatusAsync);
        }
        finally
        {
            fx.Issuer.Recover(key);
        }

        fx.Time.Advance(CertificateGrain.ContinueReminderPeriod + TimeSpan.FromSeconds(1));
        var issued = await fx.Status.WaitCertificateAsync(key, s => s.IsReady, "issued with no new apply");
        Assert.Equal(1, issued.Revision);
        await NoRemindersAsync(certificate, CertificateGrain.ContinueReminder);
    }

    [Fact]
    public async Task A_store_whose_metadata_could_not_be_read_once_is_Ready_again_without_being_written_again()
    {
        var (key, spec, origin) = await ReadyKeystoreAsync();
        var keystore = fx.Grains.GetGrain<IKeystoreGrain>(key.ToString());
        Assert.Single(fx.Store.AttemptsOf(key));
        var written = fx.Store.Get(ResourceKind.Keystore, key)!;

        // A resync whose read of the (unchanged) metadata Secret fails.
        fx.Metadata.FailNext(key.Namespace, "notary-metadata", new HttpRequestException("the API server did not answer (test)"));
        var failed = await keystore.ApplyAsync(spec, origin);
        Assert.Equal(Reasons.MetadataUnavailable, failed.Condition(Conditions.Ready)!.Reason);

        // The retry finds the metadata and certificates as stored: Ready, and the Secret as it was
        // (a rewrite would re-encode it with new random salts, changing it for nothing).
        fx.Time.Advance(StoreGrain<KeystoreSpec>.FirstRetryDelay);
        var ready = await fx.Status.WaitReadyAsync(ResourceKind.Keystore, key);
        Assert.Equal(Reasons.Stored, ready.Condition(Conditions.Ready)!.Reason);
        Assert.Single(fx.Store.AttemptsOf(key));
        Assert.Same(written, fx.Store.Get(ResourceKind.Keystore, key));
        await NoRemindersAsync(keystore);
    }

    [Fact]
    public async Task Deleting_a_store_with_no_retry_outstanding_does_not_read_the_reminder_table()
    {
        var (key, _, _) = await ReadyKeystoreAsync();
        var keystore = fx.Grains.GetGrain<IKeystoreGrain>(key.ToString());
        var grainId = ((GrainReference)keystore).GrainId;
        Assert.Empty(await RemindersAsync(keystore));
        var reads = fx.Reminders.ReadsOf(grainId);

        await keystore.DeleteAsync();

        Assert.Null(await keystore.GetStatusAsync());
        Assert.Null(fx.Store.Get(ResourceKind.Keystore, key));
        Assert.Equal(reads, fx.Reminders.ReadsOf(grainId));
    }

    [Fact]
    public async Task Deleting_a_store_with_a_retry_outstanding_unregisters_its_reminder()
    {
        var (key, _, _) = await ReadyKeystoreAsync();
        var keystore = fx.Grains.GetGrain<IKeystoreGrain>(key.ToString());
        // Failing until Dispose clears it: a retry that succeeded before the wait below (its
        // timer is 1 s of real time) would leave nothing outstanding to delete.
        fx.Faults.FailNext("ICertificateGrain.GetSnapshotAsync", times: 1_000_000);
        await keystore.RebuildAsync();
        await fx.Status.WaitReasonAsync(ResourceKind.Keystore, key, Reasons.ReconcileFailed);
        Assert.Contains(StoreGrain<KeystoreSpec>.RetryReminder, await RemindersAsync(keystore));

        await keystore.DeleteAsync();

        Assert.DoesNotContain(StoreGrain<KeystoreSpec>.RetryReminder, await RemindersAsync(keystore));
    }

    [Fact]
    public async Task An_issuance_in_progress_whose_spec_became_invalid_does_not_keep_its_continuation_reminder()
    {
        // ACM polls validation minutes apart: the continuation timer is still pending when the
        // reminder ticks.
        var certificate = await PendingThenChangedAsync(TimeSpan.FromMinutes(5), spec => spec with { KeySize = 123 }, Reasons.InvalidSpec);

        // Nothing can continue until a new apply fixes the spec: the reminder goes at its tick.
        fx.Time.Advance(CertificateGrain.ContinueReminderPeriod + TimeSpan.FromSeconds(1));
        await NoRemindersAsync(certificate, CertificateGrain.ContinueReminder);
    }

    [Fact]
    public async Task A_continuation_whose_issuer_went_away_unregisters_its_reminder_when_its_timer_fires()
    {
        var certificate = await PendingThenChangedAsync(TimeSpan.FromSeconds(5), spec => spec with { Issuer = "gone" }, Reasons.UnknownIssuer);

        // The timer comes first (5 s, the reminder a minute): it unregisters the reminder itself.
        fx.Time.Advance(fx.Stepping.RetryAfter);
        await NoRemindersAsync(certificate, CertificateGrain.ContinueReminder);
    }

    /// <summary>
    /// A certificate pending validation at the stepping issuer (its next step due in
    /// <paramref name="retryAfter"/>, its continuation reminder registered), then applied with a
    /// spec that cannot be issued. <see cref="Dispose"/> validates again.
    /// </summary>
    private async Task<ICertificateGrain> PendingThenChangedAsync(TimeSpan retryAfter, Func<CertificateSpec, CertificateSpec> change, string reason)
    {
        var key = NewKey();
        var certificate = fx.Grains.GetGrain<ICertificateGrain>(key.ToString());
        var spec = Cert($"{key.Name}.{key.Namespace}.svc", "2160h") with { Issuer = "stepping" };
        var origin = V(1);
        fx.Stepping.Validated = false;
        fx.Stepping.RetryAfter = retryAfter;
        var pending = await certificate.ApplyAsync(spec, origin);
        Assert.Equal(Reasons.PendingValidation, pending.Condition(Conditions.Ready)!.Reason);
        Assert.Contains(CertificateGrain.ContinueReminder, await RemindersAsync(certificate));

        var changed = await certificate.ApplyAsync(change(spec), origin with { Generation = 2 });
        Assert.Equal(reason, changed.Condition(Conditions.Ready)!.Reason);
        return certificate;
    }

    private async Task<(ResourceKey Key, KeystoreSpec Spec, ResourceVersionInfo Origin)> ReadyKeystoreAsync()
    {
        var key = NewKey();
        var fqdn = $"{key.Name}.{key.Namespace}.svc";
        fx.Metadata.Set(key.Namespace, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        await fx.Grains.GetGrain<ICertificateGrain>(key.ToString()).ApplyAsync(Cert(fqdn, "2160h"), V(1));
        var spec = new KeystoreSpec { Fqdn = fqdn, CertName = key.Name };
        var origin = V(1);
        Assert.True((await fx.Grains.GetGrain<IKeystoreGrain>(key.ToString()).ApplyAsync(spec, origin)).IsReady);
        return (key, spec, origin);
    }

    /// <summary>
    /// What Orleans does to an activation when the silo holding its directory entry dies. The call
    /// that follows is answered by a new activation, once the old one (and its timers) is gone.
    /// </summary>
    private static async Task DropActivationAsync(IAddressable grain, Func<Task> call)
    {
        await grain.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        await call();
    }

    private async Task<IReadOnlyList<string>> RemindersAsync(IAddressable grain)
    {
        var table = fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        return [.. (await table.ReadRows(((GrainReference)grain).GrainId)).Reminders.Select(r => r.ReminderName)];
    }

    /// <summary>Waits until the grain has no reminder of that name: it unregisters it right after publishing its status.</summary>
    private async Task NoRemindersAsync(IAddressable grain, string name = StoreGrain<KeystoreSpec>.RetryReminder)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await RemindersAsync(grain)).Contains(name) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.DoesNotContain(name, await RemindersAsync(grain));
    }
}
