using System.Diagnostics;
using Notary.Grains.Abstractions;
using Orleans.Core.Internal;

namespace Notary.Grains.Tests;

/// <summary>
/// The built-in root's issuer grain records every default-path certificate: it writes those
/// records behind (at most once a second of real time, see IssuerGrain.WriteBehind.cs) rather
/// than its whole map at each issuance, and a record lost with a silo comes back at the
/// watcher's resync from the certificate's own chain.
/// </summary>
[Collection(CaRotationCollection.Name)]
public sealed class BuiltinRootWriteBehindTests(CaRotationClusterFixture fx)
{
    private IIssuerGrain Root => fx.Grains.GetGrain<IIssuerGrain>(IssuerKeys.BuiltinRoot);

    private GrainId RootId => ((GrainReference)Root).GrainId;

    private ICertificateGrain Cert(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private static CertificateSpec Spec(ResourceKey key) => new() { Type = "Private", Fqdn = $"{key.Name}.{key.Namespace}.svc", KeyAlgorithm = "ECDSA", KeySize = 256, Duration = "720h" };

    private async Task<IssuerState> StoredAsync()
    {
        var stored = new GrainState<IssuerState>();
        await fx.Storage.Inner.ReadStateAsync("issuer", RootId, stored);
        return stored.State ?? throw new InvalidOperationException("nothing stored for the built-in root");
    }

    /// <summary>Waits (real time: the write-behind does not follow the fake clock) until storage holds what <paramref name="done"/> asks.</summary>
    private async Task<IssuerState> WaitStoredAsync(Func<IssuerState, bool> done, string what)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var stored = await StoredAsync();
            if (done(stored))
            {
                return stored;
            }

            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(15), $"storage never held {what}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Many_issuances_cause_far_fewer_state_writes_and_every_record_is_written_within_seconds()
    {
        const int count = 100;
        var ns = "wb-" + Guid.NewGuid().ToString("N")[..10];
        var keys = Enumerable.Range(0, count).Select(i => new ResourceKey(ns, $"c{i}")).ToList();
        // The fixture is shared: a rotation of the root in another test moves these too.
        keys.ForEach(k => BuiltinRootRotationTests.Created[k] = true);
        await Root.GetStatusAsync();
        var before = fx.Storage.Writes(RootId);
        var elapsed = Stopwatch.StartNew();
        var statuses = await Task.WhenAll(keys.Select(k => Cert(k).ApplyAsync(Spec(k), LifecycleTests.V(1))));
        var seconds = elapsed.Elapsed.TotalSeconds;
        Assert.All(statuses, s => Assert.True(s.IsReady, s.Condition(Conditions.Ready)?.Message));

        // One write a second at most (plus the first, at once): before, one per issuance.
        var writes = fx.Storage.Writes(RootId) - before;
        Assert.True(writes <= seconds + 2 && writes < count / 4, $"{writes} state writes of the built-in root for {count} issuances in {seconds:F1} s");

        // The fake clock stays put: the last records are written by real time, not at deactivation.
        var stored = await WaitStoredAsync(s => keys.All(k => s.Issued.ContainsKey(k.ToString())), $"all {count} records");
        var root = (await Root.GetStatusAsync())!.CaFingerprint;
        Assert.NotNull(root);
        Assert.All(keys, k => Assert.Equal(root, stored.Issued[k.ToString()]));
    }

    [Fact]
    public async Task A_record_lost_from_storage_is_recorded_again_at_the_next_resync_from_the_certificates_chain()
    {
        var ns = "wb-" + Guid.NewGuid().ToString("N")[..10];
        var lost = new ResourceKey(ns, "lost");
        BuiltinRootRotationTests.Created[lost] = true;
        var origin = LifecycleTests.V(1);
        var status = await Cert(lost).ApplyAsync(Spec(lost), origin);
        Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        var root = (await Root.GetStatusAsync())!.CaFingerprint!;
        await WaitStoredAsync(s => s.Issued.ContainsKey(lost.ToString()), "the record");

        // A silo died before the record was written: the next activation finds storage without it.
        await Root.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        var stored = new GrainState<IssuerState>();
        await fx.Storage.Inner.ReadStateAsync("issuer", RootId, stored);
        Assert.True(stored.State!.Issued.Remove(lost.ToString()));
        await fx.Storage.Inner.WriteStateAsync("issuer", RootId, stored);
        Assert.DoesNotContain(lost.ToString(), (await StoredAsync()).Issued.Keys);

        // The watcher's resync applies the same spec again: the certificate adopts itself.
        var resynced = await Cert(lost).ApplyAsync(Spec(lost), origin);
        Assert.Equal(status.SerialNumber, resynced.SerialNumber);
        var after = await WaitStoredAsync(s => s.Issued.ContainsKey(lost.ToString()), "the record adopted again");
        Assert.Equal(root, after.Issued[lost.ToString()]);
    }
    [Fact]
    public async Task A_certificate_deleted_or_moved_to_an_issuer_leaves_the_built_in_roots_records()
    {
        var ns = "wb-" + Guid.NewGuid().ToString("N")[..10];
        var deleted = new ResourceKey(ns, "deleted");
        var moved = new ResourceKey(ns, "moved");
        var kept = new ResourceKey(ns, "kept");
        foreach (var key in new[] { deleted, moved, kept })
        {
            BuiltinRootRotationTests.Created[key] = true;
            var status = await Cert(key).ApplyAsync(Spec(key), LifecycleTests.V(1));
            Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        }

        await WaitStoredAsync(s => s.Issued.ContainsKey(deleted.ToString()) && s.Issued.ContainsKey(moved.ToString()) && s.Issued.ContainsKey(kept.ToString()), "the three records");

        // Deleted, and moved to a ClusterIssuer (that need not exist for it to leave the root).
        await Cert(deleted).DeleteAsync();
        BuiltinRootRotationTests.Created.TryRemove(deleted, out _);
        await Cert(moved).ApplyAsync(Spec(moved) with { IssuerRef = new IssuerRef("elsewhere-" + ns, IssuerKinds.ClusterIssuer) }, LifecycleTests.V(2));

        // Written behind like the records themselves: storage loses both within seconds and keeps the third.
        var stored = await WaitStoredAsync(s => !s.Issued.ContainsKey(deleted.ToString()) && !s.Issued.ContainsKey(moved.ToString()), "the two records removed");
        Assert.Contains(kept.ToString(), stored.Issued.Keys);
    }
}
