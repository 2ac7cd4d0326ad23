using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>
/// A truststore whose upstream certificates renew together is rebuilt once per roll phase, not
/// once per certificate (issue 20's renewal storm), and the make-before-break order still holds:
/// checked on the writes themselves, in the order they were stored.
/// </summary>
[Collection(LifecycleCollection.Name)]
[Trait("Category", "Slow")]
public sealed class CoalescingTests(LifecycleClusterFixture fx)
{
    private const string KeyPassword = "ks-secret-1";
    private const string TrustPassword = "ts-secret-1";
    private const int Upstreams = 8;

    private ICertificateGrain CertGrain(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private Task FireAsync(ResourceKey key, string reminder) =>
        CertGrain(key).AsReference<IRemindable>().ReceiveReminder(reminder, new TickStatus(fx.Time.GetUtcNow().UtcDateTime, TimeSpan.FromDays(7), fx.Time.GetUtcNow().UtcDateTime));

    private static List<string> Serials(StoreWrite write, string password) =>
        [.. X509CertificateLoader.LoadPkcs12Collection(write.Files[write.PrimaryFileName], password, X509KeyStorageFlags.EphemeralKeySet).Select(c => c.SerialNumber)];

    private static string Served(StoreWrite keystore) =>
        X509CertificateLoader.LoadPkcs12Collection(keystore.Files["keystore.p12"], KeyPassword, X509KeyStorageFlags.EphemeralKeySet).Single(c => c.HasPrivateKey).SerialNumber;

    [Fact]
    public async Task Upstreams_renewing_together_rebuild_the_truststore_once_per_phase_in_make_before_break_order()
    {
        var ns = "co-" + Guid.NewGuid().ToString("N")[..10];
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json(KeyPassword, TrustPassword));
        string F(string n) => $"{n}.{ns}.svc";
        var upstream = Enumerable.Range(0, Upstreams).Select(i => new ResourceKey(ns, $"u{i}")).ToArray();
        var first = new Dictionary<ResourceKey, CertificateStatus>();
        foreach (var key in upstream)
        {
            first[key] = await CertGrain(key).ApplyAsync(LifecycleTests.Cert(F(key.Name), "24h"), LifecycleTests.V(1));
            Assert.True(first[key].IsReady);
            Assert.True((await fx.Grains.GetGrain<IKeystoreGrain>(key.ToString()).ApplyAsync(new KeystoreSpec { Fqdn = F(key.Name), CertName = key.Name }, LifecycleTests.V(1))).IsReady);
        }

        var own = new ResourceKey(ns, "t");
        Assert.True((await CertGrain(own).ApplyAsync(LifecycleTests.Cert(F("t"), "17520h"), LifecycleTests.V(1))).IsReady);
        var truststore = new ResourceKey(ns, "t");
        var spec = new TruststoreSpec
        {
            Fqdn = F("t"),
            CertName = "t",
            Upstream = [.. upstream.Select(u => new TrustReference { Tag = u.Name, Fqdn = F(u.Name), Namespace = ns })],
        };
        Assert.True((await fx.Grains.GetGrain<ITruststoreGrain>(truststore.ToString()).ApplyAsync(spec, LifecycleTests.V(1))).IsReady);
        var writesBefore = fx.Store.AllWrites().Count;

        // Every upstream certificate renews at once (their lifecycle reminders fire together).
        // Deterministic, not a race against the 50 ms coalescing delay: the test holds every slot
        // coalesced rebuilds may take (direct writes, the keystores', keep theirs) until all eight
        // renewed, so the truststore's rebuild reads all eight when it gets its slot.
        var gate = fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<StoreWriteGate>();
        var heldSlots = new List<StoreWriteGate.Slot>();
        var renewed = new Dictionary<ResourceKey, CertificateStatus>();
        try
        {
            var coalescedSlots = Math.Max(1, fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<IOptions<StoreWriteOptions>>().Value.MaxConcurrentWrites - 1);
            for (var i = 0; i < coalescedSlots; i++)
            {
                heldSlots.Add(await gate.EnterCoalescedAsync().WaitAsync(TimeSpan.FromSeconds(30)));
            }

            fx.Time.SetUtcNow(first.Values.Max(s => s.RenewalTime!.Value) + TimeSpan.FromMinutes(1));
            await Task.WhenAll(upstream.Select(u => FireAsync(u, "lifecycle")));
            foreach (var key in upstream)
            {
                renewed[key] = (await CertGrain(key).GetStatusAsync())!;
                Assert.Equal(2, renewed[key].Revision);
            }
        }
        finally
        {
            heldSlots.ForEach(slot => slot.Dispose());
        }

        await fx.Status.WaitStoreAsync(ResourceKind.Truststore, truststore,
            s => s.IsReady && upstream.All(u => s.CertificateRevisions.GetValueOrDefault(u.ToString()) == 2), "the truststore holds every renewed certificate");
        var phaseOne = fx.Store.History(ResourceKind.Truststore, truststore).Count;
        Assert.Equal(1, fx.Store.AllWrites().Skip(writesBefore).Count(w => w.Kind == ResourceKind.Truststore && w.Resource == truststore));

        // The truststore's acknowledgement reaches each certificate one-way: wait until every one
        // counts its propagation delay (Issuing=Propagating) before the clock moves, or a late
        // acknowledgement would start that delay after the move and the roll below would be early.
        foreach (var key in upstream)
        {
            await fx.Status.WaitCertificateAsync(key, s => s.Condition(Conditions.Issuing)?.Reason == Reasons.Propagating, $"certificate {key} Issuing=Propagating");
        }

        // The propagation delay passes: every keystore switches; then the old certificates expire
        // (Overlap is unset: until expiry) and leave the truststore.
        fx.Time.Advance(TimeSpan.FromSeconds(91));
        await Task.WhenAll(upstream.Select(u => FireAsync(u, "roll")));
        foreach (var key in upstream)
        {
            await fx.Status.WaitStoreAsync(ResourceKind.Keystore, key, s => s.IsReady && s.CertificateRevisions.GetValueOrDefault(key.ToString()) == 2, $"keystore {key} serves revision 2");
        }

        fx.Time.SetUtcNow(first.Values.Max(s => s.NotAfter!.Value) + TimeSpan.FromMinutes(1));
        await Task.WhenAll(upstream.Select(u => FireAsync(u, "roll")));
        await fx.Status.WaitStoreAsync(ResourceKind.Truststore, truststore, s => s.IsReady && s.Entries.Count == Upstreams + 1, "the truststore holds the new certificates alone");

        // Far fewer writes than one per certificate and phase (2 x 8 = 16): one per phase, and at
        // most one more each for a notification that came after the first had been read.
        var writes = fx.Store.AllWrites().Skip(writesBefore).ToList();
        var truststoreWrites = writes.Where(w => w.Kind == ResourceKind.Truststore && w.Resource == truststore).ToList();
        Assert.InRange(fx.Store.History(ResourceKind.Truststore, truststore).Count - phaseOne, 1, 2);
        Assert.InRange(truststoreWrites.Count, 2, 4);

        // The final store: the new certificates of every upstream and its own, none of the old ones.
        var final = Serials(truststoreWrites[^1], TrustPassword);
        Assert.Equal(Upstreams + 1, final.Count);
        Assert.All(upstream, u => Assert.Contains(renewed[u].SerialNumber, final));
        Assert.All(upstream, u => Assert.DoesNotContain(first[u].SerialNumber, final));

        // Make-before-break, on the writes in the order they were stored: each keystore serves its
        // new certificate only after a truststore write holding it, and every truststore write
        // before that switch still holds its old certificate.
        foreach (var key in upstream)
        {
            var switched = writes.FindIndex(w => w.Kind == ResourceKind.Keystore && w.Resource == key && Served(w) == renewed[key].SerialNumber);
            Assert.True(switched >= 0, $"keystore {key} never served its new certificate");
            var held = writes.FindIndex(w => w.Kind == ResourceKind.Truststore && w.Resource == truststore && Serials(w, TrustPassword).Contains(renewed[key].SerialNumber!));
            Assert.InRange(held, 0, switched - 1);
            Assert.All(writes.Take(switched).Where(w => w.Kind == ResourceKind.Truststore && w.Resource == truststore),
                w => Assert.Contains(first[key].SerialNumber, Serials(w, TrustPassword)));
        }
    }
}
