using Notary.Grains.Abstractions;

namespace Notary.Grains.Tests;

/// <summary>
/// The issuer registry: issuer grains register on apply and unregister on delete, so that after
/// its first list the watcher (GrainForwarder.IssuersListedAsync, done here the same way) deletes
/// an issuer deleted while no watcher ran, and the Certificates naming it stop being issued from it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IssuerRegistryTests(ClusterFixture fixture)
{
    private static ResourceVersionInfo Origin() => new("uid-1", 1);

    private IIssuerRegistryGrain Registry => fixture.Grains.GetGrain<IIssuerRegistryGrain>(IIssuerRegistryGrain.ClusterKey);

    /// <summary>What the watcher's GrainForwarder does with the list: deletes each registered issuer of that kind not in it.</summary>
    private async Task IssuersListedAsync(string kind, HashSet<string> existing)
    {
        foreach (var key in await Registry.ListAsync(kind))
        {
            if (!existing.Contains(key))
            {
                await fixture.Grains.GetGrain<IIssuerGrain>(key).DeleteAsync();
            }
        }
    }

    [Fact]
    public async Task Applied_issuers_are_registered_by_kind_and_a_deleted_one_is_not()
    {
        var ns = ClusterFixture.NewNamespace();
        var cluster = "reg-" + ns;
        await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "a")).ApplyAsync(new IssuerSpec { Builtin = true }, Origin());
        await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "b")).ApplyAsync(new IssuerSpec { Builtin = true }, Origin());
        await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Cluster(cluster)).ApplyAsync(new IssuerSpec { Builtin = true }, Origin());

        await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "b")).DeleteAsync();

        var issuers = await Registry.ListAsync(IssuerKinds.Issuer);
        Assert.Contains(IssuerKeys.Namespaced(ns, "a"), issuers);
        Assert.DoesNotContain(IssuerKeys.Namespaced(ns, "b"), issuers);
        Assert.DoesNotContain(IssuerKeys.Cluster(cluster), issuers);
        Assert.Contains(IssuerKeys.Cluster(cluster), await Registry.ListAsync(IssuerKinds.ClusterIssuer));
    }

    [Fact]
    public async Task An_issuer_missing_from_the_watchers_list_is_deleted_and_its_certificate_waits_IssuerNotReady()
    {
        var ns = ClusterFixture.NewNamespace();
        var keptKey = IssuerKeys.Namespaced(ns, "kept");
        var goneKey = IssuerKeys.Namespaced(ns, "gone");
        await fixture.Grains.GetGrain<IIssuerGrain>(keptKey).ApplyAsync(new IssuerSpec { Builtin = true }, Origin());
        var gone = fixture.Grains.GetGrain<IIssuerGrain>(goneKey);
        await gone.ApplyAsync(new IssuerSpec { Builtin = true }, Origin());
        var resource = new ResourceKey(ns, "api");
        var certificate = fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString());
        var spec = new CertificateSpec { Type = "Private", Fqdn = $"api.{ns}.svc", KeyAlgorithm = "ECDSA", KeySize = 256, IssuerRef = new IssuerRef("gone", IssuerKinds.Issuer) };
        Assert.True((await certificate.ApplyAsync(spec, Origin())).IsReady);

        // The Issuer "gone" was deleted while no watcher ran: the next watcher's list has only "kept"
        // (and every other test's issuers, which the registry also lists).
        var existing = (await Registry.ListAsync(IssuerKinds.Issuer)).Where(k => k != goneKey).ToHashSet(StringComparer.Ordinal);
        await IssuersListedAsync(IssuerKinds.Issuer, existing);

        Assert.Null(await gone.GetStatusAsync());
        Assert.NotNull(await fixture.Grains.GetGrain<IIssuerGrain>(keptKey).GetStatusAsync());
        Assert.DoesNotContain(goneKey, await Registry.ListAsync(IssuerKinds.Issuer));

        // Its Certificate, changed, waits for the issuer instead of being issued from it.
        var waiting = await certificate.ApplyAsync(spec with { Fqdn = $"api2.{ns}.svc" }, new ResourceVersionInfo("uid-1", 2));
        Assert.Equal(Reasons.IssuerNotReady, waiting.Condition(Conditions.Issuing)?.Reason ?? waiting.Condition(Conditions.Ready)!.Reason);
    }
}
