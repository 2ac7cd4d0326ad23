using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Notary.Grains.Abstractions;
using Notary.Grains.Tests.Fakes;
using Orleans.Storage;

namespace Notary.Grains.Tests;

/// <summary>
/// A quarantine holds because its Breach exists: every forward holds again (whatever the grains
/// remember), a record that is not the spec's own is not adopted, and a lift that fails keeps the
/// breach (its finalizer) until a retry succeeds.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BreachHoldTests(ClusterFixture fx)
{
    private const string TrustPassword = "ts-secret-1";

    private static ResourceVersionInfo V(long generation) => new("uid-1", generation);

    private static CertificateSpec Cert(string fqdn) => new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256 };

    private static string F(string ns, string name) => $"{name}.{ns}.svc.cluster.local";

    private ICertificateGrain CertGrain(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private IBreachGrain Breach(BreachRequest request) =>
        fx.Grains.GetGrain<IBreachGrain>($"{request.Certificate}-{request.Mode}".ToLowerInvariant());

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

    private List<string> TrustedSerials(string ns, string truststore) =>
        [.. X509CertificateLoader.LoadPkcs12Collection(fx.Store.Get(ResourceKind.Truststore, new ResourceKey(ns, truststore))!.Files["truststore.p12"], TrustPassword, X509KeyStorageFlags.EphemeralKeySet).Select(c => c.SerialNumber)];

    /// <summary>What a lost Redis does to one grain: deactivated, its stored state gone.</summary>
    private async Task LoseStateAsync<T>(IGrain grain, string stateName)
        where T : new()
    {
        await fx.Cluster.DeactivateAsync(grain);
        var storage = fx.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);
        var state = new GrainState<T>();
        await storage.ReadStateAsync(stateName, grain.GetGrainId(), state);
        await storage.ClearStateAsync(stateName, grain.GetGrainId(), state);
    }

    private string Onboard()
    {
        var ns = ClusterFixture.NewNamespace();
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("ks-secret-1", TrustPassword));
        return ns;
    }

    private async Task<string> ClientTrustingPayAsync(string ns, string client)
    {
        await CertGrain(new ResourceKey(ns, client)).ApplyAsync(Cert(F(ns, client)), V(1));
        var status = await fx.Grains.GetGrain<ITruststoreGrain>($"{ns}/{client}-ts").ApplyAsync(
            new TruststoreSpec { Fqdn = F(ns, client), CertName = client, Upstream = [new TrustReference { Tag = "pay", Fqdn = F(ns, "pay"), Namespace = ns }] }, V(1));
        Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        return $"{client}-ts";
    }

    [Fact]
    public async Task A_quarantine_forwarded_with_no_status_before_its_certificate_holds_it_from_its_first_issue()
    {
        var ns = Onboard();
        var pay = new ResourceKey(ns, "pay");
        // After a state loss: the Breach has no status yet and its Certificate is not forwarded yet.
        var request = new BreachRequest(pay, BreachMode.Quarantine, "leaked", DryRun: false, "tester", Uid: "uid-a");

        var report = await Breach(request).StartAsync(request);

        Assert.NotEqual(BreachPhase.Failed, report.Phase);
        Assert.Equal("held; the certificate is not issued yet", report.Items[0].Reason);
        Assert.Equal([Breach(request).GetPrimaryKeyString()], await CertGrain(pay).GetQuarantinesAsync());

        var issued = await CertGrain(pay).ApplyAsync(Cert(F(ns, "pay")), V(1));
        Assert.True(issued.IsReady);
        Assert.Equal(Conditions.True, issued.Condition(Conditions.Compromised)?.Status);
        var truststore = await ClientTrustingPayAsync(ns, "c0");
        Assert.DoesNotContain(issued.SerialNumber, TrustedSerials(ns, truststore));
    }

    [Fact]
    public async Task The_next_forward_holds_again_a_certificate_whose_grain_lost_its_state()
    {
        var ns = Onboard();
        var pay = new ResourceKey(ns, "pay");
        Assert.True((await CertGrain(pay).ApplyAsync(Cert(F(ns, "pay")), V(1))).IsReady);
        var request = new BreachRequest(pay, BreachMode.Quarantine, "leaked", DryRun: false, "tester");
        await Breach(request).StartAsync(request);
        Assert.Equal(BreachPhase.Completed, (await FinishedAsync(Breach(request))).Phase);

        await LoseStateAsync<CertificateState>(CertGrain(pay), "certificate");
        Assert.Empty(await CertGrain(pay).GetQuarantinesAsync());

        // The resync forwards the Breach again; the breach grain kept its state (Completed).
        await Breach(request).StartAsync(request);

        Assert.Equal([Breach(request).GetPrimaryKeyString()], await CertGrain(pay).GetQuarantinesAsync());
        var reissued = await CertGrain(pay).ApplyAsync(Cert(F(ns, "pay")), V(1));
        var truststore = await ClientTrustingPayAsync(ns, "c0");
        Assert.DoesNotContain(reissued.SerialNumber, TrustedSerials(ns, truststore));
    }

    [Fact]
    public async Task A_record_of_another_mode_or_a_dry_run_is_not_adopted_and_the_quarantine_holds()
    {
        var ns = Onboard();
        var pay = new ResourceKey(ns, "pay");
        Assert.True((await CertGrain(pay).ApplyAsync(Cert(F(ns, "pay")), V(1))).IsReady);
        var dryRun = new BreachReport
        {
            Id = "x", Certificate = pay, Mode = BreachMode.Quarantine, Reason = "leaked", Phase = BreachPhase.DryRun, Created = DateTimeOffset.UtcNow,
        };
        var request = new BreachRequest(pay, BreachMode.Quarantine, "leaked", DryRun: false, "tester", Uid: "uid-d", Recorded: dryRun);

        var report = await Breach(request).StartAsync(request);

        Assert.NotEqual(BreachPhase.DryRun, report.Phase);
        Assert.Equal(BreachPhase.Completed, (await FinishedAsync(Breach(request))).Phase);
        Assert.Equal(Conditions.True, (await CertGrain(pay).GetStatusAsync())!.Condition(Conditions.Compromised)?.Status);

        var other = new ResourceKey(ns, "other");
        var rotated = dryRun with { Certificate = other, Mode = BreachMode.Rotate, Phase = BreachPhase.Completed, Finished = DateTimeOffset.UtcNow };
        var second = new BreachRequest(other, BreachMode.Quarantine, "leaked", DryRun: false, "tester", Uid: "uid-e", Recorded: rotated);
        var adopted = await Breach(second).StartAsync(second);
        Assert.Equal(BreachMode.Quarantine, adopted.Mode);
        Assert.Equal([Breach(second).GetPrimaryKeyString()], await CertGrain(other).GetQuarantinesAsync());
    }

    [Fact]
    public async Task A_lift_whose_step_fails_keeps_the_breach_and_succeeds_on_retry()
    {
        var ns = Onboard();
        var pay = new ResourceKey(ns, "pay");
        var serial = (await CertGrain(pay).ApplyAsync(Cert(F(ns, "pay")), V(1))).SerialNumber;
        var truststore = await ClientTrustingPayAsync(ns, "c0");
        var request = new BreachRequest(pay, BreachMode.Quarantine, "leaked", DryRun: false, "tester", Uid: "uid-l");
        await Breach(request).StartAsync(request);
        Assert.Equal(BreachPhase.Completed, (await FinishedAsync(Breach(request))).Phase);
        Assert.DoesNotContain(serial, TrustedSerials(ns, truststore));

        fx.Faults.FailNext("ICertificateGrain.HoldQuarantineAsync");
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => Breach(request).DeleteAsync("uid-l", request));
        }
        finally
        {
            fx.Faults.Clear();
        }

        Assert.NotNull(await Breach(request).GetAsync());
        Assert.NotEmpty(await CertGrain(pay).GetQuarantinesAsync());

        var done = await Breach(request).DeleteAsync("uid-l", request);
        Assert.Equal((BreachPhase.Lifted, true), (done!.Phase, done.IsFinished));
        Assert.Null(await Breach(request).GetAsync());
        Assert.Empty(await CertGrain(pay).GetQuarantinesAsync());
        Assert.Contains(serial, TrustedSerials(ns, truststore));
    }

    [Fact]
    public async Task A_breach_grain_that_lost_its_state_lifts_from_the_spec_the_watcher_passes()
    {
        var ns = Onboard();
        var pay = new ResourceKey(ns, "pay");
        Assert.True((await CertGrain(pay).ApplyAsync(Cert(F(ns, "pay")), V(1))).IsReady);
        var request = new BreachRequest(pay, BreachMode.Quarantine, "leaked", DryRun: false, "tester", Uid: "uid-s");
        await Breach(request).StartAsync(request);
        Assert.Equal(BreachPhase.Completed, (await FinishedAsync(Breach(request))).Phase);

        await LoseStateAsync<BreachState>(Breach(request), "breach");
        Assert.Null(await Breach(request).DeleteAsync("uid-s", request));

        Assert.Empty(await CertGrain(pay).GetQuarantinesAsync());
        Assert.Equal(Conditions.False, (await CertGrain(pay).GetStatusAsync())!.Condition(Conditions.Compromised)?.Status);
    }
}
