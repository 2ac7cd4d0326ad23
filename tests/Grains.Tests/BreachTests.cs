using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>Breaches through the grains: dry run, rotate, quarantine and lift, idempotency, fan-out with a broken dependent.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BreachTests(ClusterFixture fx)
{
    private const string TrustPassword = "ts-secret-1";

    private static ResourceVersionInfo V(long generation) => new("uid-1", generation);

    private static CertificateSpec Cert(string fqdn) => new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256 };

    /// <summary>
    /// A service "pay" with a keystore, and <paramref name="clients"/> services that trust it
    /// (each with its own certificate and truststore), one Deployment per client mounting its
    /// truststore Secret, and one mounting pay's keystore.
    /// </summary>
    private async Task<(string Ns, ResourceKey Pay)> ServicesAsync(int clients)
    {
        var ns = ClusterFixture.NewNamespace();
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("ks-secret-1", TrustPassword));
        string F(string n) => $"{n}.{ns}.svc.cluster.local";
        var pay = new ResourceKey(ns, "pay");
        Assert.True((await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).ApplyAsync(Cert(F("pay")), V(1))).IsReady);
        Assert.True((await fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/pay-ks").ApplyAsync(new KeystoreSpec { Fqdn = F("pay"), CertName = "pay" }, V(1))).IsReady);
        fx.Workloads.Add(new WorkloadRef(ns, "Deployment", "pay"), "pay-ks");
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async i =>
        {
            var name = $"c{i}";
            await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/{name}").ApplyAsync(Cert(F(name)), V(1));
            var status = await fx.Grains.GetGrain<ITruststoreGrain>($"{ns}/{name}-ts").ApplyAsync(
                new TruststoreSpec { Fqdn = F(name), CertName = name, Upstream = [new TrustReference { Tag = "pay", Fqdn = F("pay"), Namespace = ns }] }, V(1));
            Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
            fx.Workloads.Add(new WorkloadRef(ns, "Deployment", name), $"{name}-ts", "unrelated-secret");
        }));
        return (ns, pay);
    }

    /// <summary>The grain of the Breach object this request stands for: one per certificate and mode in these tests.</summary>
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

    [Fact]
    public async Task A_dry_run_lists_the_impact_and_changes_nothing()
    {
        var (ns, pay) = await ServicesAsync(2);
        var before = (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!;
        var request = new BreachRequest(pay, BreachMode.Rotate, "key leaked (dry)", DryRun: true, "tester");

        var report = await Breach(request).StartAsync(request);

        Assert.Equal(BreachPhase.DryRun, report.Phase);
        Assert.Equal(
            ["Certificate pay", "Deployment c0", "Deployment c1", "Deployment pay", "Keystore pay-ks", "Truststore c0-ts", "Truststore c1-ts"],
            report.Items.Select(i => $"{i.Kind} {i.Name}").Order(StringComparer.Ordinal));
        Assert.All(report.Items, i => Assert.Equal(BreachItemStatus.Pending, i.Status));
        Assert.Equal(before.SerialNumber, (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!.SerialNumber);
        Assert.Empty(fx.Workloads.Restarts(ns));
        Assert.Null(await Breach(request).GetAsync());
    }

    [Fact]
    public async Task Rotate_reissues_rebuilds_every_store_restarts_workloads_and_a_repeat_changes_nothing()
    {
        var (ns, pay) = await ServicesAsync(3);
        var old = (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!;
        var request = new BreachRequest(pay, BreachMode.Rotate, "private key found in a public repository", DryRun: false, "incident-bot");

        var started = await Breach(request).StartAsync(request);
        var report = await FinishedAsync(Breach(request));

        Assert.Equal(BreachPhase.Completed, report.Phase);
        Assert.All(report.Items, i => Assert.Equal(BreachItemStatus.Completed, i.Status));
        var rotated = (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!;
        Assert.Equal(old.Revision + 1, rotated.Revision);
        for (var i = 0; i < 3; i++)
        {
            var serials = TrustedSerials(ns, $"c{i}-ts");
            Assert.Contains(rotated.SerialNumber, serials);
            Assert.DoesNotContain(old.SerialNumber, serials);
        }

        var keystore = X509CertificateLoader.LoadPkcs12Collection(fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "pay-ks"))!.Files["keystore.p12"], "ks-secret-1", X509KeyStorageFlags.EphemeralKeySet);
        Assert.Equal(rotated.SerialNumber, Assert.Single(keystore, c => c.HasPrivateKey).SerialNumber);
        Assert.Equal(["c0", "c1", "c2", "pay"], fx.Workloads.Restarts(ns).Select(r => r.Workload.Name).Order(StringComparer.Ordinal));
        Assert.Contains(fx.Events.For(pay), e => e.Reason == "BreachCompleted");

        // The same report again: the same breach, no second rotation, no second restart.
        var again = await Breach(request).StartAsync(request);
        Assert.Equal(started.Id, again.Id);
        Assert.Equal(rotated.Revision, (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!.Revision);
        Assert.Equal(4, fx.Workloads.Restarts(ns).Count);
    }

    [Fact]
    public async Task Rotate_of_the_names_already_issued_is_not_blocked_by_a_policy_tightened_since()
    {
        var (ns, pay) = await ServicesAsync(1);
        var old = (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!;
        var policies = fx.Grains.GetGrain<ICertificatePolicyGrain>(ICertificatePolicyGrain.ClusterKey);
        var policy = $"acm-only-{ns}";
        // Tightened after issuance: the namespace may only use acm from now on.
        await policies.ApplyAsync(policy, new CertificatePolicySpec
        {
            NamespaceSelector = new LabelSelector { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns } },
            Issuers = ["acm"],
        }, new ResourceVersionInfo(policy, 1));
        try
        {
            var request = new BreachRequest(pay, BreachMode.Rotate, "key leaked after the policy tightened", DryRun: false, "incident-bot");
            await Breach(request).StartAsync(request);
            var report = await FinishedAsync(Breach(request));

            Assert.Equal(BreachPhase.Completed, report.Phase);
            var rotated = (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!;
            Assert.Equal(old.Revision + 1, rotated.Revision);
            Assert.True(rotated.IsReady);
            var serials = TrustedSerials(ns, "c0-ts");
            Assert.Contains(rotated.SerialNumber, serials);
            Assert.DoesNotContain(old.SerialNumber, serials);
        }
        finally
        {
            await policies.DeleteAsync(policy);
        }
    }

    [Fact]
    public async Task A_restart_the_rate_limit_defers_is_reported_with_when_it_happens()
    {
        var (ns, pay) = await ServicesAsync(2);
        var until = new DateTimeOffset(2031, 5, 6, 7, 9, 9, TimeSpan.Zero);
        fx.Workloads.Deferred[new WorkloadRef(ns, "Deployment", "c1")] = until;
        var request = new BreachRequest(pay, BreachMode.Rotate, "key leaked (restart deferred)", DryRun: false, "incident-bot");

        await Breach(request).StartAsync(request);
        var report = await FinishedAsync(Breach(request));

        Assert.Equal(BreachPhase.Completed, report.Phase);
        var deferred = Assert.Single(report.Items, i => i.Kind == "Deployment" && i.Name == "c1");
        Assert.Equal(BreachItemStatus.Completed, deferred.Status);
        Assert.StartsWith("restart scheduled at 2031-05-06T07:09:09Z", deferred.Reason, StringComparison.Ordinal);
        var now = Assert.Single(report.Items, i => i.Kind == "Deployment" && i.Name == "c0");
        Assert.Equal((BreachItemStatus.Completed, (string?)null), (now.Status, now.Reason));
        Assert.Equal(["c0", "pay"], fx.Workloads.Restarts(ns).Select(r => r.Workload.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Quarantine_takes_the_certificate_out_of_every_truststore_and_lifting_puts_it_back()
    {
        var (ns, pay) = await ServicesAsync(2);
        var serial = (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!.SerialNumber;
        var request = new BreachRequest(pay, BreachMode.Quarantine, "suspicious traffic", DryRun: false, "incident-bot");

        await Breach(request).StartAsync(request);
        var report = await FinishedAsync(Breach(request));

        Assert.Equal(BreachPhase.Completed, report.Phase);
        Assert.DoesNotContain(report.Items, i => i.Kind == "Keystore");
        var status = (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!;
        Assert.Equal(Conditions.True, status.Condition(Conditions.Compromised)?.Status);
        Assert.Equal(serial, status.SerialNumber);
        Assert.DoesNotContain(serial, TrustedSerials(ns, "c0-ts"));
        Assert.DoesNotContain(serial, TrustedSerials(ns, "c1-ts"));
        Assert.Equal(["c0", "c1"], fx.Workloads.Restarts(ns).Select(r => r.Workload.Name).Order(StringComparer.Ordinal));

        var done = await Breach(request).DeleteAsync(string.Empty);
        Assert.NotNull(done);
        Assert.Equal((BreachPhase.Lifted, true), (done.Phase, done.IsFinished));
        Assert.Null(await Breach(request).GetAsync());
        Assert.Contains(serial, TrustedSerials(ns, "c0-ts"));
        Assert.Contains(serial, TrustedSerials(ns, "c1-ts"));
        Assert.Equal(Conditions.False, (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!.Condition(Conditions.Compromised)?.Status);
    }

    /// <summary>What the alert "a breach failed" and the dashboard's breach progress read (issue 19).</summary>
    [Fact]
    public async Task A_failed_breach_is_counted_once_its_items_are_reported_and_its_series_leave_with_it()
    {
        var (ns, pay) = await ServicesAsync(3);
        var broken = new ResourceKey(ns, "c1-ts");
        var failedBefore = fx.Metrics.Finished(BreachMode.Rotate, BreachPhase.Failed);
        var writesBefore = fx.Metrics.Writes(ResourceKind.Truststore, new ResourceKey(ns, "c0-ts"));
        Assert.True(writesBefore >= 1, "the first build of a truststore is a write");
        fx.Store.FailFor(broken, new SecretStoreFailedException("AccessDeniedException: not authorized to write c1-ts"));
        var request = new BreachRequest(pay, BreachMode.Rotate, "metrics", DryRun: false, "incident-bot");
        var grain = Breach(request);
        var key = ResourceKey.Parse(grain.GetPrimaryKeyString());
        try
        {
            await grain.StartAsync(request);
            var report = await FinishedAsync(grain);
            Assert.Equal(BreachPhase.Failed, report.Phase);
        }
        finally
        {
            fx.Store.Recover(broken);
        }

        Assert.Equal(failedBefore + 1, fx.Metrics.Finished(BreachMode.Rotate, BreachPhase.Failed));
        var items = fx.Metrics.Breach(key);
        Assert.NotNull(items);
        Assert.Equal(2, items.Count(i => i.Status == BreachItemStatus.Failed)); // c1-ts and the Deployment that mounts it
        Assert.DoesNotContain(items, i => i.Status is BreachItemStatus.Pending or BreachItemStatus.InProgress);
        Assert.True(fx.Metrics.Writes(ResourceKind.Truststore, new ResourceKey(ns, "c0-ts")) > writesBefore, "the rebuild is a write");

        // Asked again (a repeated forward): the finish is not counted twice.
        await grain.StartAsync(request);
        Assert.Equal(failedBefore + 1, fx.Metrics.Finished(BreachMode.Rotate, BreachPhase.Failed));

        await grain.DeleteAsync(uid: "");
        Assert.Null(fx.Metrics.Breach(key));
    }

    [Fact]
    public async Task Two_hundred_dependents_are_rebuilt_in_parallel_and_one_broken_one_fails_alone_with_its_reason()
    {
        var (ns, pay) = await ServicesAsync(200);
        var broken = new ResourceKey(ns, "c17-ts");
        fx.Store.FailFor(broken, new SecretStoreFailedException("AccessDeniedException: not authorized to write c17-ts"));
        try
        {
            var request = new BreachRequest(pay, BreachMode.Rotate, "fan-out", DryRun: false, "incident-bot");
            await Breach(request).StartAsync(request);
            var report = await FinishedAsync(Breach(request));

            Assert.Equal(BreachPhase.Failed, report.Phase);
            var failed = Assert.Single(report.Items, i => i.Status == BreachItemStatus.Failed && i.Kind == "Truststore");
            Assert.Equal("c17-ts", failed.Name);
            Assert.Contains("AccessDeniedException", failed.Reason, StringComparison.Ordinal);
            Assert.Equal(200, report.Items.Count(i => i.Kind == "Truststore"));
            Assert.Equal(199, report.Items.Count(i => i.Kind == "Truststore" && i.Status == BreachItemStatus.Completed));
            // Its workload is not restarted onto old contents; every other one is.
            Assert.Equal(BreachItemStatus.Failed, Assert.Single(report.Items, i => i.Kind == "Deployment" && i.Name == "c17").Status);
            Assert.Equal(200, fx.Workloads.Restarts(ns).Count);
        }
        finally
        {
            fx.Store.Recover(broken);
        }
    }

    [Fact]
    public async Task A_store_too_busy_to_answer_the_rebuild_call_in_time_is_asked_again_not_reported_failed()
    {
        var (ns, pay) = await ServicesAsync(3);
        // What a store busy with a large fan-out looks like to the breach: its call times out.
        fx.Faults.FailNext("ICertificateSubscriber.RebuildAsync", times: 2);
        try
        {
            var request = new BreachRequest(pay, BreachMode.Rotate, "busy stores", DryRun: false, "incident-bot");
            await Breach(request).StartAsync(request);
            var report = await FinishedAsync(Breach(request));

            Assert.Equal(BreachPhase.Completed, report.Phase);
            Assert.All(report.Items, i => Assert.Equal(BreachItemStatus.Completed, i.Status));
            var rotated = (await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).GetStatusAsync())!;
            Assert.All(Enumerable.Range(0, 3), i => Assert.Contains(rotated.SerialNumber, TrustedSerials(ns, $"c{i}-ts")));
        }
        finally
        {
            fx.Faults.Clear();
        }
    }

    [Fact]
    public async Task A_store_rebuilt_with_new_certificates_asks_to_reload_the_opted_in_workloads_only_then()
    {
        var (ns, pay) = await ServicesAsync(1);
        Assert.Empty(fx.Workloads.Requests(ns));

        await fx.Grains.GetGrain<ICertificateGrain>(pay.ToString()).ApplyAsync(Cert($"pay.{ns}.svc.cluster.local") with { Alt = ["pay.internal"] }, V(2));
        await fx.Status.WaitStoreAsync(ResourceKind.Truststore, new ResourceKey(ns, "c0-ts"), s => s.CertificateRevisions.GetValueOrDefault(pay.ToString()) == 2, "rebuilt from revision 2");
        await fx.Status.WaitStoreAsync(ResourceKind.Keystore, new ResourceKey(ns, "pay-ks"), s => s.CertificateRevisions.GetValueOrDefault(pay.ToString()) == 2, "rebuilt from revision 2");

        var requests = await fx.Workloads.WaitRequestsAsync(ns, r => r.Any(x => x.Secrets.SequenceEqual(["pay-ks"])) && r.Any(x => x.Secrets.SequenceEqual(["c0-ts"])), "the keystore's and the truststore's");
        Assert.Contains(requests, r => r.OnlyOptedIn && r.Secrets.SequenceEqual(["pay-ks"]));
        Assert.Contains(requests, r => r.OnlyOptedIn && r.Secrets.SequenceEqual(["c0-ts"]));
        Assert.All(requests, r => Assert.True(r.OnlyOptedIn));
    }
}
