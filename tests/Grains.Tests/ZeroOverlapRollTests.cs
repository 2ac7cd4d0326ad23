using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>The lifecycle cluster with <c>Rotation:PropagationDelay</c> and <c>Rotation:Overlap</c> zero (the renewal-storm benchmark's settings).</summary>
public sealed class ZeroOverlapClusterFixture : LifecycleClusterFixture
{
    protected override void ConfigureRotation(RotationOptions options)
    {
        options.PropagationDelay = TimeSpan.Zero;
        options.Overlap = TimeSpan.Zero;
    }
}

[CollectionDefinition(Name)]
public sealed class ZeroOverlapCollection : ICollectionFixture<ZeroOverlapClusterFixture>
{
    public const string Name = "zero-overlap";
}

/// <summary>
/// Make-before-break with Overlap 0: the previous certificate leaves truststores only once every
/// keystore serves the new one (the overlap counts from the keystore's confirmed write, not from
/// the switch decision), and a keystore that cannot be written holds it no longer than
/// Rotation:MaxWait. The order is checked on the store writes themselves, as they were stored.
/// </summary>
[Collection(ZeroOverlapCollection.Name)]
[Trait("Category", "Slow")]
public sealed class ZeroOverlapRollTests(ZeroOverlapClusterFixture fx)
{
    private const string KeyPassword = "ks-secret-1";
    private const string TrustPassword = "ts-secret-1";

    private ICertificateGrain CertGrain(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private Task FireAsync(ResourceKey key, string reminder) =>
        CertGrain(key).AsReference<IRemindable>().ReceiveReminder(reminder, new TickStatus(fx.Time.GetUtcNow().UtcDateTime, TimeSpan.FromDays(7), fx.Time.GetUtcNow().UtcDateTime));

    private static List<string> Serials(StoreWrite write) =>
        [.. X509CertificateLoader.LoadPkcs12Collection(write.Files[write.PrimaryFileName], TrustPassword, X509KeyStorageFlags.EphemeralKeySet).Select(c => c.SerialNumber)];

    private static string Served(StoreWrite keystore) =>
        X509CertificateLoader.LoadPkcs12Collection(keystore.Files["keystore.p12"], KeyPassword, X509KeyStorageFlags.EphemeralKeySet).Single(c => c.HasPrivateKey).SerialNumber;

    private sealed record Mesh(string Ns, ResourceKey Svc, ResourceKey Keystore, ResourceKey Truststore, CertificateStatus First);

    /// <summary>Service a (certificate, keystore a-ks) and a peer p whose truststore p-ts trusts a.</summary>
    private async Task<Mesh> SetUpAsync(string duration, string? renewBefore)
    {
        var ns = "zo-" + Guid.NewGuid().ToString("N")[..10];
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json(KeyPassword, TrustPassword));
        string F(string n) => $"{n}.{ns}.svc";
        var svc = new ResourceKey(ns, "a");
        var first = await CertGrain(svc).ApplyAsync(LifecycleTests.Cert(F("a"), duration, renewBefore), LifecycleTests.V(1));
        Assert.True(first.IsReady);
        var keystore = new ResourceKey(ns, "a-ks");
        Assert.True((await fx.Grains.GetGrain<IKeystoreGrain>(keystore.ToString()).ApplyAsync(new KeystoreSpec { Fqdn = F("a"), CertName = "a" }, LifecycleTests.V(1))).IsReady);
        Assert.True((await CertGrain(new ResourceKey(ns, "p")).ApplyAsync(LifecycleTests.Cert(F("p"), "17520h"), LifecycleTests.V(1))).IsReady);
        var truststore = new ResourceKey(ns, "p-ts");
        var spec = new TruststoreSpec { Fqdn = F("p"), CertName = "p", Upstream = [new TrustReference { Tag = "a", Fqdn = F("a"), Namespace = ns }] };
        Assert.True((await fx.Grains.GetGrain<ITruststoreGrain>(truststore.ToString()).ApplyAsync(spec, LifecycleTests.V(1))).IsReady);
        return new Mesh(ns, svc, keystore, truststore, first);
    }

    /// <summary>
    /// Renews a while its keystore cannot be written, and waits until the certificate switched
    /// (Overlap and PropagationDelay zero: at once once the truststore holds the new certificate)
    /// and the keystore's write failed.
    /// </summary>
    private async Task<CertificateStatus> RenewWithKeystoreFailingAsync(Mesh m)
    {
        fx.Store.FailFor(m.Keystore, new SecretStoreFailedException("keystore write held back (test)"));
        fx.Time.SetUtcNow(m.First.RenewalTime!.Value + TimeSpan.FromMinutes(1));
        await FireAsync(m.Svc, "lifecycle");
        var renewed = await fx.Status.WaitCertificateAsync(m.Svc, s => s.Revision == 2 && s.Condition(Conditions.Issuing) is null, "the keystore switch of revision 2");
        await fx.Status.WaitStoreAsync(ResourceKind.Keystore, m.Keystore, s => s.Condition(Conditions.Ready)?.Reason == Reasons.StoreFailed, "the keystore's failed write");
        return renewed;
    }

    private async Task<StoreWrite> TruststoreNowAsync(Mesh m)
    {
        // A reconcile now writes whatever the truststore should hold at this moment.
        await fx.Grains.GetGrain<ITruststoreGrain>(m.Truststore.ToString()).RebuildAsync();
        return fx.Store.Get(ResourceKind.Truststore, m.Truststore)!;
    }

    [Fact]
    public async Task With_Overlap_zero_the_old_certificate_leaves_truststores_only_after_the_keystore_serves_the_new_one()
    {
        var m = await SetUpAsync("24h", null);
        var writesBefore = fx.Store.AllWrites().Count;
        var renewed = await RenewWithKeystoreFailingAsync(m);

        // Switched, but the keystore's write has not landed: the service still presents the old
        // certificate, so its peers keep trusting it (before the fix it was dropped here).
        var meanwhile = Serials(await TruststoreNowAsync(m));
        Assert.Contains(m.First.SerialNumber, meanwhile);
        Assert.Contains(renewed.SerialNumber, meanwhile);

        // The keystore's write lands: only then does the old certificate leave.
        fx.Store.Recover(m.Keystore);
        await fx.Grains.GetGrain<IKeystoreGrain>(m.Keystore.ToString()).RebuildAsync();
        await fx.Status.WaitStoreAsync(ResourceKind.Truststore, m.Truststore, s => s.IsReady && s.Entries.Count == 2, "the truststore without the old certificate");

        var writes = fx.Store.AllWrites().Skip(writesBefore).ToList();
        var switched = writes.FindIndex(w => w.Kind == ResourceKind.Keystore && w.Resource == m.Keystore && Served(w) == renewed.SerialNumber);
        Assert.True(switched >= 0, "the keystore never served the new certificate");
        var truststoreWrites = writes.Select((w, i) => (w, i)).Where(x => x.w.Kind == ResourceKind.Truststore && x.w.Resource == m.Truststore).ToList();
        Assert.All(truststoreWrites.Where(x => x.i < switched), x => Assert.Contains(m.First.SerialNumber, Serials(x.w)));
        var dropped = truststoreWrites.First(x => !Serials(x.w).Contains(m.First.SerialNumber!));
        Assert.True(dropped.i > switched, $"the truststore dropped the old certificate at write {dropped.i}, before the keystore served the new one at write {switched}");
        Assert.Contains(renewed.SerialNumber, Serials(dropped.w));
        Assert.Null((await CertGrain(m.Svc).GetStatusAsync())!.PreviousSerialNumber);
    }

    [Fact]
    public async Task A_keystore_that_cannot_be_written_keeps_the_old_certificate_trusted_until_MaxWait_after_the_switch()
    {
        var m = await SetUpAsync("240h", "72h");
        await RenewWithKeystoreFailingAsync(m);
        var switchedAt = fx.Time.GetUtcNow();
        Assert.Contains("every keystore serves the new one", fx.Events.For(m.Svc).Last(e => e.Reason == "KeystoreSwitched").Message, StringComparison.Ordinal);

        fx.Time.SetUtcNow(switchedAt + TimeSpan.FromHours(24) - TimeSpan.FromMinutes(1));
        await FireAsync(m.Svc, "roll");
        Assert.Contains(m.First.SerialNumber, Serials(await TruststoreNowAsync(m)));

        // Rotation:MaxWait (24 h) after the switch the overlap counts anyway (zero): it leaves.
        fx.Time.SetUtcNow(switchedAt + TimeSpan.FromHours(24));
        await FireAsync(m.Svc, "roll");
        await fx.Status.WaitStoreAsync(ResourceKind.Truststore, m.Truststore, s => s.IsReady && s.Entries.Count == 2, "the truststore without the old certificate");
        Assert.DoesNotContain(m.First.SerialNumber, Serials(fx.Store.Get(ResourceKind.Truststore, m.Truststore)!));
        fx.Store.Recover(m.Keystore);
    }
}
