using System.Diagnostics;
using Notary.Grains.Abstractions;

namespace Notary.Grains.Tests;

/// <summary>
/// What a certificate costs while resident: the tag index lets go of its activation once the only
/// certificate of that name registered, and the reporter remembers what it wrote by fingerprint
/// (so a resync of an unchanged certificate still writes nothing, and a change still writes).
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class ResidentActivationTests(ClusterFixture fx)
{
    private static ResourceVersionInfo V(long generation) => new("uid-1", generation);

    private static CertificateSpec Cert(string fqdn) => new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256 };

    private ICertificateGrain CertGrain(string ns, string name) => fx.Grains.GetGrain<ICertificateGrain>($"{ns}/{name}");

    private async Task<bool> IsActiveAsync(IAddressable grain)
    {
        var id = grain.GetGrainId();
        var active = await fx.Grains.GetGrain<IManagementGrain>(0).GetActiveGrains(id.Type);
        return active.Contains(id);
    }

    [Fact]
    public async Task The_tag_index_of_a_name_one_certificate_has_leaves_memory_and_still_resolves()
    {
        var ns = ClusterFixture.NewNamespace();
        var name = "only-" + ns;
        var fqdn = $"{name}.{ns}.svc.cluster.local";
        await CertGrain(ns, name).ApplyAsync(Cert(fqdn), V(1));
        var tag = fx.Grains.GetGrain<ICertificateTagGrain>(name);

        var clock = Stopwatch.StartNew();
        while (await IsActiveAsync(tag))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "The tag grain of a name only one certificate has is still active 30 s after it registered.");
            await Task.Delay(50);
        }

        // Its state answers: a truststore without a namespace finds the certificate.
        var watcher = new SubscriberRef(ResourceKind.Truststore, $"{ns}/watcher");
        Assert.Equal([new TagRegistration(ns, fqdn, "uid-1")], await tag.ResolveAndWatchAsync(watcher));
    }

    [Fact]
    public async Task The_tag_index_of_a_name_several_certificates_share_stays_for_them()
    {
        var name = "shared-" + Guid.NewGuid().ToString("N")[..8];
        var (a, b) = (ClusterFixture.NewNamespace(), ClusterFixture.NewNamespace());
        await CertGrain(a, name).ApplyAsync(Cert($"{name}.{a}.svc.cluster.local"), V(1));
        await CertGrain(b, name).ApplyAsync(Cert($"{name}.{b}.svc.cluster.local"), V(1));
        var tag = fx.Grains.GetGrain<ICertificateTagGrain>(name);

        // No idle collection runs in a test's time (CollectionAge is minutes), so only a
        // deactivation the grain asked for could have removed it.
        Assert.True(await IsActiveAsync(tag));
        var registered = await tag.ResolveAndWatchAsync(new SubscriberRef(ResourceKind.Truststore, $"{a}/watcher"));
        Assert.Equal(new[] { a, b }.Order(StringComparer.Ordinal), registered.Select(r => r.Namespace).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_certificate_status_is_written_again_only_when_it_changed()
    {
        var ns = ClusterFixture.NewNamespace();
        var key = new ResourceKey(ns, "api");
        var spec = Cert($"api.{ns}.svc.cluster.local");
        var issued = await CertGrain(ns, "api").ApplyAsync(spec, V(1));
        var writes = fx.Status.CertificateWrites(key);
        Assert.True(writes > 0);

        // A resync of what was applied: the same status, not written again.
        await CertGrain(ns, "api").ApplyAsync(spec, V(1));
        Assert.Equal(writes, fx.Status.CertificateWrites(key));

        // Only renewBefore changes: the renewal time and the observed generation move, so it is written.
        var moved = await CertGrain(ns, "api").ApplyAsync(spec with { RenewBefore = "1h" }, V(2));
        Assert.Equal(issued.SerialNumber, moved.SerialNumber);
        Assert.Equal(writes + 1, fx.Status.CertificateWrites(key));
        Assert.Equal(2, fx.Status.Certificate(key)!.ObservedGeneration);

        // A rotation: a new serial, written.
        var rotated = await CertGrain(ns, "api").ReissueAsync("test");
        Assert.NotEqual(issued.SerialNumber, rotated.SerialNumber);
        Assert.Equal(writes + 2, fx.Status.CertificateWrites(key));
        Assert.Equal(rotated.SerialNumber, fx.Status.Certificate(key)!.SerialNumber);
    }
}
