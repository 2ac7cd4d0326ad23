using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>
/// References without a namespace are bound to the Certificate they first resolve to: a
/// same-named Certificate created later elsewhere is ignored (one Warning Event), and the binding
/// moves only when the bound Certificate is deleted.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BoundReferenceTests(ClusterFixture fx)
{
    private static CertificateSpec Cert(string fqdn) => new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256 };

    private static string F(string name, string ns) => $"{name}.{ns}.svc.cluster.local";

    private ICertificateGrain CertGrain(string ns, string name) => fx.Grains.GetGrain<ICertificateGrain>($"{ns}/{name}");

    [Fact]
    public async Task A_same_named_certificate_created_later_is_ignored_with_one_warning_and_the_binding_moves_only_when_the_bound_one_is_deleted()
    {
        var ns = ClusterFixture.NewNamespace();
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("ks-secret-1", "ts-secret-1"));
        var tag = "ledger-" + Guid.NewGuid().ToString("N")[..8];
        var (home, impostor, third) = (ClusterFixture.NewNamespace(), ClusterFixture.NewNamespace(), ClusterFixture.NewNamespace());
        var key = new ResourceKey(ns, "orders");
        // Not an in-cluster service name: the name policy lets every namespace claim it, so the
        // impostors below are issued and only the binding keeps them out.
        var tagFqdn = $"{tag}.ledger.example";
        await CertGrain(ns, "orders").ApplyAsync(Cert(F("orders", ns)), new("uid-orders", 1));
        await CertGrain(home, tag).ApplyAsync(Cert(tagFqdn), new("uid-home", 1));
        var spec = new TruststoreSpec { Fqdn = F("orders", ns), CertName = "orders", Upstream = [new TrustReference { Tag = tag, Fqdn = tagFqdn }] };
        var truststore = fx.Grains.GetGrain<ITruststoreGrain>(key.ToString());

        var bound = await truststore.ApplyAsync(spec, new("uid-ts", 1));
        Assert.True(bound.IsReady, bound.Condition(Conditions.Ready)?.Message);
        Assert.Equal([new BoundReference(tag, home, "uid-home")], bound.References);
        Assert.Equal([$"orders.{ns}", $"{tag}.{home}"], bound.Entries);

        // The impostor even claims the bound Certificate's fqdn: it is ignored, not ambiguous.
        await CertGrain(impostor, tag).ApplyAsync(Cert(tagFqdn), new("uid-impostor", 1));
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (Warnings(key).Count == 0)
            {
                await Task.Delay(20, timeout.Token);
            }
        }

        var warning = Assert.Single(Warnings(key));
        Assert.Equal(
            $"Certificate {impostor}/{tag} is ignored: references to \"{tag}\" without a namespace are bound to {home}/{tag} while it exists (status.references).",
            warning.Message);
        var still = (await truststore.RebuildAsync())!;
        await truststore.RebuildAsync();
        Assert.True(still.IsReady);
        Assert.Equal([new BoundReference(tag, home, "uid-home")], still.References);
        Assert.Equal([$"orders.{ns}", $"{tag}.{home}"], still.Entries);
        Assert.Single(Warnings(key));

        // With two candidates left, deleting the bound one makes the reference ambiguous, as an
        // unbound one would be.
        await CertGrain(third, tag).ApplyAsync(Cert(tagFqdn), new("uid-third", 1));
        await CertGrain(home, tag).DeleteAsync();
        var ambiguous = await fx.Status.WaitReasonAsync(ResourceKind.Truststore, key, Reasons.AmbiguousReference);
        Assert.Empty(ambiguous.References);

        // One candidate left: the reference binds to it.
        await CertGrain(third, tag).DeleteAsync();
        var moved = await fx.Status.WaitStoreAsync(ResourceKind.Truststore, key, s => s.IsReady && s.References.Count == 1, "the reference binds to the one Certificate left");
        Assert.Equal([new BoundReference(tag, impostor, "uid-impostor")], moved.References);
        Assert.Equal([$"orders.{ns}", $"{tag}.{impostor}"], moved.Entries);
    }

    private List<RecordedEvent> Warnings(ResourceKey key) =>
        [.. fx.Events.For(key).Where(e => e.Kind == ResourceKind.Truststore && e.Severity == EventSeverity.Warning && e.Reason == Reasons.ReferenceBound)];
}
