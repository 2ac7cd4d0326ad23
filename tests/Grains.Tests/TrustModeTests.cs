using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Notary.Grains.Abstractions;
using Notary.Grains.Tests.Fakes;
using Orleans.Storage;

namespace Notary.Grains.Tests;

/// <summary>
/// Trust modes and quarantines through the grains, judged by OpenSSL on the truststore's ca.crt
/// with partial-chain verification (a pinned leaf is an anchor of its own): a listed peer
/// verifies, a peer from the same CA that the store does not list does not.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class TrustModeTests(ClusterFixture fx)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static ResourceVersionInfo V(long generation) => new("uid-1", generation);

    private static CertificateSpec Cert(string fqdn) => new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256 };

    private static string F(string name, string ns) => $"{name}.{ns}.svc.cluster.local";

    private ICertificateGrain CertGrain(string ns, string name) => fx.Grains.GetGrain<ICertificateGrain>($"{ns}/{name}");

    private ITruststoreGrain TsGrain(string ns, string name) => fx.Grains.GetGrain<ITruststoreGrain>($"{ns}/{name}");

    private string Onboard()
    {
        var ns = ClusterFixture.NewNamespace();
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("ks-secret-1", "ts-secret-1"));
        return ns;
    }

    private async Task<string> LeafAsync(string ns, string name)
    {
        Assert.True((await CertGrain(ns, name).ApplyAsync(Cert(F(name, ns)), V(1))).IsReady);
        return (await CertGrain(ns, name).GetSnapshotAsync()).Material!.CertificatePem;
    }

    private static TruststoreSpec Trusting(string ns, string name, string? trust, params string[] upstream) => new()
    {
        Fqdn = F(name, ns),
        CertName = name,
        Upstream = [.. upstream.Select(u => new TrustReference { Tag = u, Fqdn = F(u, ns), Namespace = ns })],
        Trust = trust,
    };

    [Fact]
    public async Task Pinned_by_default_issuers_on_request_and_pinned_again_with_the_condition_following()
    {
        var ns = Onboard();
        await LeafAsync(ns, "me");
        var up = await LeafAsync(ns, "up");
        var stranger = await LeafAsync(ns, "stranger");
        var key = new ResourceKey(ns, "me");

        var pinned = await TsGrain(ns, "me").ApplyAsync(Trusting(ns, "me", null, "up"), V(1));
        Assert.True(pinned.IsReady, pinned.Condition(Conditions.Ready)?.Message);
        Assert.Equal([$"me.{ns}", $"up.{ns}"], pinned.Entries);
        Assert.Null(pinned.Condition(Conditions.TrustsIssuers));
        Assert.Equal(2, CaCrtCount(key));
        Assert.True(await VerifiesAsync(key, up));
        Assert.False(await VerifiesAsync(key, stranger));

        var issuers = await TsGrain(ns, "me").ApplyAsync(Trusting(ns, "me", "Issuers", "up"), V(2));
        Assert.True(issuers.IsReady);
        Assert.Equal(3, issuers.Entries.Count);
        Assert.StartsWith("ca-", issuers.Entries[2], StringComparison.Ordinal);
        Assert.Equal(3, CaCrtCount(key));
        var condition = issuers.Condition(Conditions.TrustsIssuers)!;
        Assert.Equal(Conditions.True, condition.Status);
        Assert.Equal(Reasons.IssuersMode, condition.Reason);
        Assert.Contains($"every certificate issued by \"{IssuerOf(up)}\" is trusted", condition.Message, StringComparison.Ordinal);
        Assert.True(await VerifiesAsync(key, stranger));

        var back = await TsGrain(ns, "me").ApplyAsync(Trusting(ns, "me", "Pinned", "up"), V(3));
        Assert.Equal([$"me.{ns}", $"up.{ns}"], back.Entries);
        Assert.Null(back.Condition(Conditions.TrustsIssuers));
        Assert.False(await VerifiesAsync(key, stranger));
        Assert.True(await VerifiesAsync(key, up));
    }

    [Fact]
    public async Task A_truststore_stored_before_trust_modes_is_rebuilt_without_ca_entries_although_no_revision_changed()
    {
        var ns = Onboard();
        await LeafAsync(ns, "me");
        await LeafAsync(ns, "up");
        var stranger = await LeafAsync(ns, "stranger");
        var key = new ResourceKey(ns, "me");
        var grain = TsGrain(ns, "me");
        var old = Trusting(ns, "me", null, "up");
        Assert.Equal(3, (await grain.ApplyAsync(old with { Trust = "Issuers" }, V(1))).Entries.Count);

        // What an older Notary persisted: the same spec without spec.trust, no recorded mode, and
        // a store with the CA in it.
        await fx.Cluster.DeactivateAsync(grain);
        var storage = fx.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);
        var state = new GrainState<StoreState<TruststoreSpec>>();
        await storage.ReadStateAsync("truststore", grain.GetGrainId(), state);
        Assert.Equal("Issuers", state.State!.BuiltKey);
        state.State.BuiltKey = null;
        state.State.Spec = old;
        state.State.Conditions.RemoveAll(c => c.Type == Conditions.TrustsIssuers);
        await storage.WriteStateAsync("truststore", grain.GetGrainId(), state);
        Assert.True(await VerifiesAsync(key, stranger));
        var puts = fx.Store.Puts;

        // The resync of the same generation and spec: nothing changed but the mode it was built with.
        var status = await grain.ApplyAsync(old, V(1));

        Assert.True(fx.Store.Puts > puts);
        Assert.Equal([$"me.{ns}", $"up.{ns}"], status.Entries);
        Assert.False(await VerifiesAsync(key, stranger));
    }

    [Fact]
    public async Task A_quarantined_certificate_is_refused_by_every_rebuilt_truststore_and_accepted_after_the_lift()
    {
        var ns = Onboard();
        var pay = await LeafAsync(ns, "pay");
        var clients = new[] { "c0", "c1" };
        foreach (var client in clients)
        {
            await LeafAsync(ns, client);
            Assert.True((await TsGrain(ns, client).ApplyAsync(Trusting(ns, client, null, "pay"), V(1))).IsReady);
            Assert.True(await VerifiesAsync(new ResourceKey(ns, client), pay));
        }

        var request = new BreachRequest(new ResourceKey(ns, "pay"), BreachMode.Quarantine, "suspicious traffic", DryRun: false, "tester");
        var breach = fx.Grains.GetGrain<IBreachGrain>($"{ns}/pay-quarantine");
        await breach.StartAsync(request);
        Assert.Equal(BreachPhase.Completed, (await FinishedAsync(breach)).Phase);
        foreach (var client in clients)
        {
            Assert.False(await VerifiesAsync(new ResourceKey(ns, client), pay), $"{client} still trusts the quarantined certificate");
        }

        Assert.Equal(BreachPhase.Lifted, (await breach.DeleteAsync(string.Empty))!.Phase);
        foreach (var client in clients)
        {
            Assert.True(await VerifiesAsync(new ResourceKey(ns, client), pay), $"{client} does not trust the certificate after the lift");
        }
    }

    [Fact]
    public async Task Two_quarantines_of_one_certificate_are_counted_lifting_one_keeps_it_out_lifting_both_brings_it_back()
    {
        var ns = Onboard();
        var pay = await LeafAsync(ns, "pay");
        await LeafAsync(ns, "c0");
        var client = new ResourceKey(ns, "c0");
        Assert.True((await TsGrain(ns, "c0").ApplyAsync(Trusting(ns, "c0", null, "pay"), V(1))).IsReady);
        Assert.True(await VerifiesAsync(client, pay));

        var first = fx.Grains.GetGrain<IBreachGrain>($"{ns}/first");
        var second = fx.Grains.GetGrain<IBreachGrain>($"{ns}/second");
        await first.StartAsync(new BreachRequest(new ResourceKey(ns, "pay"), BreachMode.Quarantine, "leaked in a paste", DryRun: false, "tester", Uid: "u1"));
        Assert.Equal(BreachPhase.Completed, (await FinishedAsync(first)).Phase);
        await second.StartAsync(new BreachRequest(new ResourceKey(ns, "pay"), BreachMode.Quarantine, "leaked again", DryRun: false, "tester", Uid: "u2"));
        Assert.Equal(BreachPhase.Completed, (await FinishedAsync(second)).Phase);
        Assert.Equal([$"{ns}/first", $"{ns}/second"], await CertGrain(ns, "pay").GetQuarantinesAsync());
        Assert.False(await VerifiesAsync(client, pay));

        // The first lifted: the second still holds it out, and its store is not rebuilt with it.
        Assert.Equal(BreachPhase.Lifted, (await first.DeleteAsync("u1"))!.Phase);
        Assert.Equal([$"{ns}/second"], await CertGrain(ns, "pay").GetQuarantinesAsync());
        Assert.False(await VerifiesAsync(client, pay), "one lifted quarantine of two put the certificate back");
        Assert.Equal(Conditions.True, (await CertGrain(ns, "pay").GetStatusAsync())!.Condition(Conditions.Compromised)?.Status);

        // The last lifted: it is back.
        Assert.Equal(BreachPhase.Lifted, (await second.DeleteAsync("u2"))!.Phase);
        Assert.Empty(await CertGrain(ns, "pay").GetQuarantinesAsync());
        Assert.True(await VerifiesAsync(client, pay), "the certificate did not return after the last quarantine was lifted");
        Assert.Null(await first.GetAsync());
        Assert.Null(await second.GetAsync());
    }

    [Fact]
    public async Task A_grain_that_lost_its_state_adopts_the_recorded_breach_a_finished_rotate_is_not_run_again_a_quarantine_holds_again()
    {
        var ns = Onboard();
        var pay = await LeafAsync(ns, "pay");
        await LeafAsync(ns, "c0");
        var client = new ResourceKey(ns, "c0");
        Assert.True((await TsGrain(ns, "c0").ApplyAsync(Trusting(ns, "c0", null, "pay"), V(1))).IsReady);
        var revision = (await CertGrain(ns, "pay").GetSnapshotAsync()).Revision;
        var finished = new BreachReport
        {
            Id = $"{ns}.x", Certificate = new ResourceKey(ns, "pay"), Mode = BreachMode.Rotate, Reason = "leaked", Phase = BreachPhase.Completed,
            Created = DateTimeOffset.UtcNow.AddHours(-1), Finished = DateTimeOffset.UtcNow.AddMinutes(-50),
            Items = [new BreachItem("Certificate", ns, "pay", BreachItemStatus.Completed)],
        };

        // What the watcher forwards after Redis was wiped: the Breach with the status the API server kept.
        var rotate = fx.Grains.GetGrain<IBreachGrain>($"{ns}/rotated");
        var adopted = await rotate.StartAsync(new BreachRequest(new ResourceKey(ns, "pay"), BreachMode.Rotate, "leaked", DryRun: false, string.Empty, Uid: "r1", Recorded: finished));
        Assert.Equal((BreachPhase.Completed, true), (adopted.Phase, adopted.IsFinished));
        Assert.Equal(revision, (await CertGrain(ns, "pay").GetSnapshotAsync()).Revision);

        var quarantine = fx.Grains.GetGrain<IBreachGrain>($"{ns}/quarantined");
        await quarantine.StartAsync(new BreachRequest(new ResourceKey(ns, "pay"), BreachMode.Quarantine, "leaked", DryRun: false, string.Empty, Uid: "q1",
            Recorded: finished with { Mode = BreachMode.Quarantine }));
        Assert.Equal([$"{ns}/quarantined"], await CertGrain(ns, "pay").GetQuarantinesAsync());
        await fx.Status.WaitStoreAsync(ResourceKind.Truststore, client, s => !s.Entries.Contains($"pay.{ns}"), "the adopted quarantine takes the certificate out");
        Assert.False(await VerifiesAsync(client, pay));
        Assert.Equal(revision, (await CertGrain(ns, "pay").GetSnapshotAsync()).Revision);
    }

    [Fact]
    public async Task A_truststore_stuck_on_an_ambiguous_reference_still_drops_a_quarantined_certificate_and_takes_it_back_on_the_lift()
    {
        var (ns, key, pay) = await StuckAsync();
        Assert.True(await VerifiesAsync(key, pay));

        await CertGrain(ns, "pay").HoldQuarantineAsync($"{ns}/b1", true, "leaked");

        var dropped = await fx.Status.WaitStoreAsync(ResourceKind.Truststore, key, s => !s.Entries.Contains($"pay.{ns}"), "the quarantined certificate leaves the stuck store");
        Assert.Equal([$"me.{ns}"], dropped.Entries);
        Assert.Equal(Reasons.AmbiguousReference, dropped.Condition(Conditions.Ready)!.Reason);
        Assert.Contains($"rebuilt without the quarantined {ns}/pay", dropped.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.False(await VerifiesAsync(key, pay));

        await CertGrain(ns, "pay").HoldQuarantineAsync($"{ns}/b1", false, "lifted");

        var back = await fx.Status.WaitStoreAsync(ResourceKind.Truststore, key, s => s.Entries.Contains($"pay.{ns}"), "the certificate returns to the stuck store");
        Assert.Equal(Reasons.AmbiguousReference, back.Condition(Conditions.Ready)!.Reason);
        Assert.True(await VerifiesAsync(key, pay));
    }

    [Fact]
    public async Task A_truststore_stuck_on_an_ambiguous_reference_still_follows_a_rotate_of_a_peer_it_holds()
    {
        var (ns, key, old) = await StuckAsync();
        var before = (await TsGrain(ns, "me").GetStatusAsync())!.CertificateRevisions[$"{ns}/pay"];

        // A breach rotates pay: the stuck store must not keep trusting the old key.
        await CertGrain(ns, "pay").ReissueAsync("leaked");
        var rotated = (await CertGrain(ns, "pay").GetSnapshotAsync()).Material!.CertificatePem;
        var after = await fx.Status.WaitStoreAsync(ResourceKind.Truststore, key, s => s.CertificateRevisions[$"{ns}/pay"] > before, "the stuck store takes pay's rotated certificate");
        Assert.Equal(Reasons.AmbiguousReference, after.Condition(Conditions.Ready)!.Reason);
        Assert.False(await VerifiesAsync(key, old));
        Assert.True(await VerifiesAsync(key, rotated));
    }

    [Theory]
    [InlineData(BreachMode.Quarantine)]
    [InlineData(BreachMode.Rotate)]
    public async Task In_issuers_mode_the_breach_report_says_the_ca_still_vouches_for_the_old_certificate(BreachMode mode)
    {
        var ns = Onboard();
        var pay = await LeafAsync(ns, "pay");
        await LeafAsync(ns, "wide");
        await LeafAsync(ns, "narrow");
        Assert.True((await TsGrain(ns, "wide").ApplyAsync(Trusting(ns, "wide", "Issuers", "pay"), V(1))).IsReady);
        Assert.True((await TsGrain(ns, "narrow").ApplyAsync(Trusting(ns, "narrow", null, "pay"), V(1))).IsReady);

        var request = new BreachRequest(new ResourceKey(ns, "pay"), mode, "key leaked", DryRun: false, "tester");
        var breach = fx.Grains.GetGrain<IBreachGrain>($"{ns}/pay-{mode}".ToLowerInvariant());
        await breach.StartAsync(request);
        var report = await FinishedAsync(breach);

        Assert.Equal(BreachPhase.Failed, report.Phase);
        var wide = Assert.Single(report.Items, i => i.Name == "wide");
        Assert.Equal(BreachItemStatus.Failed, wide.Status);
        Assert.Contains($"trusts the CA \"{IssuerOf(pay)}\", which still vouches for the old certificate of {ns}/pay", wide.Reason, StringComparison.Ordinal);
        Assert.Equal(BreachItemStatus.Completed, Assert.Single(report.Items, i => i.Name == "narrow").Status);
        // The pinned store refuses the old certificate; the Issuers one still accepts it, as reported.
        Assert.False(await VerifiesAsync(new ResourceKey(ns, "narrow"), pay));
        Assert.True(await VerifiesAsync(new ResourceKey(ns, "wide"), pay));
    }

    /// <summary>The certificates in the stored ca.crt: the same as the store's entries.</summary>
    private int CaCrtCount(ResourceKey truststore)
    {
        var pem = Encoding.ASCII.GetString(fx.Store.Get(ResourceKind.Truststore, truststore)!.Files["ca.crt"]);
        return pem.Split("-----BEGIN CERTIFICATE-----").Length - 1;
    }

    private static string IssuerOf(string pem)
    {
        using var certificate = X509Certificate2.CreateFromPem(pem);
        return certificate.Issuer;
    }

    private static async Task<BreachReport> FinishedAsync(IBreachGrain breach)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var report = await breach.GetAsync();
            if (report is { IsFinished: true })
            {
                return report;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    /// <summary>
    /// openssl verify -partial_chain with the truststore's stored ca.crt as the trust store: true
    /// when the leaf verifies (as a TLS client certificate), as a peer's TLS stack would judge it.
    /// </summary>
    /// <summary>
    /// A truststore "me" built trusting "pay", whose second generation adds a reference without a
    /// namespace to a name two namespaces have: stuck on AmbiguousReference. Returns pay's leaf.
    /// </summary>
    private async Task<(string Ns, ResourceKey Key, string Pay)> StuckAsync()
    {
        var ns = Onboard();
        var pay = await LeafAsync(ns, "pay");
        await LeafAsync(ns, "me");
        var key = new ResourceKey(ns, "me");
        Assert.True((await TsGrain(ns, "me").ApplyAsync(Trusting(ns, "me", null, "pay"), V(1))).IsReady);
        var dup = "dup-" + Guid.NewGuid().ToString("N")[..8];
        var (a, b) = (ClusterFixture.NewNamespace(), ClusterFixture.NewNamespace());
        await CertGrain(a, dup).ApplyAsync(Cert(F(dup, a)), V(1));
        await CertGrain(b, dup).ApplyAsync(Cert(F(dup, b)), V(1));
        var spec = Trusting(ns, "me", null, "pay");
        var stuck = await TsGrain(ns, "me").ApplyAsync(spec with { Upstream = [.. spec.Upstream, new TrustReference { Tag = dup, Fqdn = F(dup, a) }] }, V(2));
        Assert.Equal(Reasons.AmbiguousReference, stuck.Condition(Conditions.Ready)!.Reason);
        return (ns, key, pay);
    }

    private async Task<bool> VerifiesAsync(ResourceKey truststore, string leafPem)
    {
        var stored = fx.Store.Get(ResourceKind.Truststore, truststore) ?? throw new InvalidOperationException($"no truststore {truststore} stored");
        var dir = Directory.CreateTempSubdirectory("notary-verify-");
        try
        {
            var caFile = Path.Combine(dir.FullName, "ca.crt");
            var leafFile = Path.Combine(dir.FullName, "leaf.pem");
            await File.WriteAllBytesAsync(caFile, stored.Files["ca.crt"]);
            await File.WriteAllTextAsync(leafFile, leafPem, Encoding.ASCII);
            using var process = Process.Start(new ProcessStartInfo("openssl", ["verify", "-partial_chain", "-purpose", "sslclient", "-CAfile", caFile, leafFile])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            using var timeout = new CancellationTokenSource(Wait);
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            var text = await output + await error;
            Assert.True(process.ExitCode == 0 || text.Contains("unable to get local issuer certificate", StringComparison.Ordinal), $"openssl failed for another reason: {text}");
            return process.ExitCode == 0;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
