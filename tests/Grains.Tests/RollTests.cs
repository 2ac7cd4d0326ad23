using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;

namespace Notary.Grains.Tests;

/// <summary>
/// Make-before-break renewal against the fake clock (default Rotation options: PropagationDelay
/// 90 s, MaxWait 24 h, Overlap until expiry): a renewed certificate goes into every dependent
/// truststore beside the current one before its keystore switches to it. Every store write is
/// recorded with the fake time, so the order is checked on what was written, not on counts.
/// </summary>
[Collection(LifecycleCollection.Name)]
[Trait("Category", "Slow")]
public sealed class RollTests(LifecycleClusterFixture fx)
{
    private const string KeyPassword = "ks-secret-1";
    private const string TrustPassword = "ts-secret-1";
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(90);

    private sealed record Setup(string Ns, ResourceKey Svc, CertificateStatus First, ResourceKey Keystore, ResourceKey[] Truststores)
    {
        public string SvcKey => Svc.ToString();
    }

    private ICertificateGrain CertGrain(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private static CertificateSpec Cert(string fqdn, string duration, string? renewBefore = null, string? issuer = null) =>
        new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256, Duration = duration, RenewBefore = renewBefore, Issuer = issuer };

    private Task FireAsync(ResourceKey key, string reminder) =>
        CertGrain(key).AsReference<IRemindable>().ReceiveReminder(reminder, new TickStatus(fx.Time.GetUtcNow().UtcDateTime, TimeSpan.FromDays(7), fx.Time.GetUtcNow().UtcDateTime));

    /// <summary>
    /// Certificate "svc" (the one that renews) with its keystore, and two truststores of other
    /// services ("a", "b") that list it upstream. <paramref name="brokenB"/>: b's metadata Secret
    /// does not exist after its first write, so b cannot be written again.
    /// </summary>
    /// <remarks>
    /// Moving the fake clock by months costs Orleans (whose clock it is too) tens of seconds:
    /// only the one-year test does; the others use day-long certificates.
    /// </remarks>
    private async Task<Setup> SetUpAsync(string duration = "24h", string? renewBefore = null, bool brokenB = false, string? issuer = null)
    {
        var ns = "r-" + Guid.NewGuid().ToString("N")[..10];
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json(KeyPassword, TrustPassword));
        fx.Metadata.Set(ns, "b-metadata", InMemoryMetadataSource.Json(KeyPassword, TrustPassword));
        string F(string n) => $"{n}.{ns}.svc";
        var svc = new ResourceKey(ns, "svc");
        var first = await CertGrain(svc).ApplyAsync(Cert(F("svc"), duration, renewBefore, issuer), LifecycleTests.V(1));
        Assert.True(first.IsReady, first.Condition(Conditions.Ready)?.Message);
        foreach (var other in new[] { "a", "b" })
        {
            Assert.True((await CertGrain(new ResourceKey(ns, other)).ApplyAsync(Cert(F(other), "17520h"), LifecycleTests.V(1))).IsReady);
        }

        var ks = new ResourceKey(ns, "svc");
        Assert.True((await fx.Grains.GetGrain<IKeystoreGrain>(ks.ToString()).ApplyAsync(new KeystoreSpec { Fqdn = F("svc"), CertName = "svc" }, LifecycleTests.V(1))).IsReady);
        // The client's keystore, for the handshakes.
        Assert.True((await fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/a").ApplyAsync(new KeystoreSpec { Fqdn = F("a"), CertName = "a" }, LifecycleTests.V(1))).IsReady);
        var up = new TrustReference { Tag = "svc", Fqdn = F("svc"), Namespace = ns };
        var truststores = new[] { new ResourceKey(ns, "a"), new ResourceKey(ns, "b") };
        foreach (var ts in truststores)
        {
            var status = await fx.Grains.GetGrain<ITruststoreGrain>(ts.ToString()).ApplyAsync(
                new TruststoreSpec { Fqdn = F(ts.Name), CertName = ts.Name, Upstream = [up], MetadataSecret = ts.Name == "b" ? "b-metadata" : null }, LifecycleTests.V(1));
            Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        }

        if (brokenB)
        {
            fx.Metadata.Remove(ns, "b-metadata");
        }

        return new Setup(ns, svc, first, ks, truststores);
    }

    private Task<CertificateStatus> RenewAsync(Setup s) => RenewAtAsync(s, s.First.RenewalTime!.Value + TimeSpan.FromMinutes(1));

    private async Task<CertificateStatus> RenewAtAsync(Setup s, DateTimeOffset at)
    {
        fx.Time.SetUtcNow(at);
        await FireAsync(s.Svc, "lifecycle");
        var renewed = (await CertGrain(s.Svc).GetStatusAsync())!;
        Assert.Equal(s.First.Revision + 1, renewed.Revision);
        return renewed;
    }

    private static List<string> Serials(StoreWrite write, string password) =>
        [.. X509CertificateLoader.LoadPkcs12Collection(write.Files[write.PrimaryFileName], password, X509KeyStorageFlags.EphemeralKeySet).Select(c => c.SerialNumber)];

    private List<string> TrustedSerials(ResourceKey truststore) => Serials(fx.Store.Get(ResourceKind.Truststore, truststore)!, TrustPassword);

    private string ServedSerial(ResourceKey keystore) =>
        X509CertificateLoader.LoadPkcs12Collection(fx.Store.Get(ResourceKind.Keystore, keystore)!.Files["keystore.p12"], KeyPassword, X509KeyStorageFlags.EphemeralKeySet)
            .Single(c => c.HasPrivateKey).SerialNumber;

    private Task<StoreStatus> WaitTruststoreHoldsAsync(Setup s, ResourceKey ts, long revision) =>
        fx.Status.WaitStoreAsync(ResourceKind.Truststore, ts, st => st.IsReady && st.CertificateRevisions.GetValueOrDefault(s.SvcKey) == revision, $"truststore {ts} holds revision {revision}");

    private Task<StoreStatus> WaitKeystoreServesAsync(Setup s, long revision) =>
        fx.Status.WaitStoreAsync(ResourceKind.Keystore, s.Keystore, st => st.IsReady && st.CertificateRevisions.GetValueOrDefault(s.SvcKey) == revision, $"keystore serves revision {revision}");

    private Task<CertificateStatus> WaitPhaseAsync(Setup s, string phase) =>
        fx.Status.WaitCertificateAsync(s.Svc, st => st.Condition(Conditions.Issuing) is { Status: Conditions.True } c && c.Reason == phase, $"Issuing={phase}");

    [Fact]
    public async Task A_renewal_reaches_every_dependent_truststore_before_the_keystore_switches_after_the_propagation_delay()
    {
        // A one-year certificate: its renewal is four months ahead, the clock is moved there.
        var s = await SetUpAsync(duration: "8760h", issuer: "stepping");
        var renewed = await RenewAsync(s);
        var started = fx.Time.GetUtcNow();
        Assert.Equal(s.First.SerialNumber, renewed.PreviousSerialNumber);
        Assert.Equal(Conditions.True, renewed.Condition(Conditions.Issuing)?.Status);

        foreach (var ts in s.Truststores)
        {
            var status = await WaitTruststoreHoldsAsync(s, ts, 2);
            Assert.Contains(renewed.SerialNumber, TrustedSerials(ts));
            Assert.Contains(s.First.SerialNumber, TrustedSerials(ts));
            Assert.Contains($"svc.{s.Ns}", status.Entries);
            Assert.Contains(status.Entries, e => e.StartsWith($"svc.{s.Ns}-", StringComparison.Ordinal));
        }

        // Every truststore holds it: the keystore waits the propagation delay, not a moment less.
        var propagating = await WaitPhaseAsync(s, Reasons.Propagating);
        Assert.Contains(renewed.SerialNumber!, propagating.Condition(Conditions.Issuing)!.Message, StringComparison.Ordinal);
        Assert.Equal(s.First.SerialNumber, ServedSerial(s.Keystore));
        fx.Time.SetUtcNow(started + Delay - TimeSpan.FromSeconds(1));
        await FireAsync(s.Svc, "roll");
        Assert.Equal(1, fx.Status.Store(ResourceKind.Keystore, s.Keystore)!.CertificateRevisions[s.SvcKey]);
        Assert.Equal(s.First.SerialNumber, ServedSerial(s.Keystore));

        fx.Time.SetUtcNow(started + Delay);
        await FireAsync(s.Svc, "roll");
        await WaitKeystoreServesAsync(s, 2);
        Assert.Equal(renewed.SerialNumber, ServedSerial(s.Keystore));
        var after = (await CertGrain(s.Svc).GetStatusAsync())!;
        Assert.Null(after.Condition(Conditions.Issuing));
        Assert.Equal(s.First.SerialNumber, after.PreviousSerialNumber);
        Assert.Contains(fx.Events.For(s.Svc), e => e.Reason == "KeystoreSwitched" && e.Severity == EventSeverity.Normal);
        Assert.DoesNotContain(fx.Events.For(s.Svc), e => e.Reason == Reasons.TruststoresLeftBehind);

        // The order, on what was written: the first keystore version with the new certificate
        // came at least the propagation delay after the last truststore got it.
        var ksNew = fx.Store.History(ResourceKind.Keystore, s.Keystore).First(h => Serials(h.Write, KeyPassword).Contains(renewed.SerialNumber!));
        foreach (var ts in s.Truststores)
        {
            var history = fx.Store.History(ResourceKind.Truststore, ts);
            var tsNew = history.First(h => Serials(h.Write, TrustPassword).Contains(renewed.SerialNumber!));
            Assert.True(ksNew.At >= tsNew.At + Delay, $"keystore switched at {ksNew.At:O}, truststore {ts} written at {tsNew.At:O}");
            // The switch changes nothing a truststore holds: it is not written again for it.
            Assert.Single(history, h => Serials(h.Write, TrustPassword).Contains(renewed.SerialNumber!));
        }

        // As pods see it: every keystore version, while published, completes a real Java handshake
        // with every version of each dependent truststore a pod may still read (published, or
        // replaced less than the propagation delay before).
        await AssertHandshakesAsync(s, fx.Time.GetUtcNow());

        // The previous certificate stays trusted until it expires, and only then is it retired.
        Assert.DoesNotContain(fx.Stepping.Retired, r => r.Arn == s.First.Arn);
        fx.Time.SetUtcNow(s.First.NotAfter!.Value);
        await FireAsync(s.Svc, "roll");
        foreach (var ts in s.Truststores)
        {
            await fx.Store.Changed.WaitAsync(() => fx.Store.Get(ResourceKind.Truststore, ts), w => !Serials(w, TrustPassword).Contains(s.First.SerialNumber!), TimeSpan.FromSeconds(30), $"{ts} without the previous certificate");
            Assert.Contains(renewed.SerialNumber, TrustedSerials(ts));
        }

        Assert.Contains((s.First.Arn!, RetireReason.Replaced), fx.Stepping.Retired);
        Assert.Null((await CertGrain(s.Svc).GetStatusAsync())!.PreviousSerialNumber);
    }

    private async Task AssertHandshakesAsync(Setup s, DateTimeOffset end)
    {
        var dir = Directory.CreateTempSubdirectory("notary-roll-").FullName;
        try
        {
            var client = fx.Store.Get(ResourceKind.Keystore, new ResourceKey(s.Ns, "a"))!;
            string File(StoreWrite write, int version)
            {
                var path = Path.Combine(dir, $"{write.Resource.Name}-{write.Kind}-{version}.p12");
                System.IO.File.WriteAllBytes(path, write.Files[write.PrimaryFileName]);
                return path;
            }

            var clientKs = File(client, 0);
            // The server (svc) trusts the client with a's truststore, which holds a's own
            // certificate as a trusted entry: Java then checks no validity dates of it, which the
            // fake clock (months ahead of Java's) would fail.
            var serverTrust = File(fx.Store.Get(ResourceKind.Truststore, s.Truststores[0])!, 1000);
            var keystores = fx.Store.History(ResourceKind.Keystore, s.Keystore);
            var lines = new List<string>();
            foreach (var ts in s.Truststores)
            {
                var truststores = fx.Store.History(ResourceKind.Truststore, ts);
                for (var i = 0; i < keystores.Count; i++)
                {
                    var from = keystores[i].At!.Value;
                    var until = i + 1 < keystores.Count ? keystores[i + 1].At!.Value : end;
                    for (var j = 0; j < truststores.Count; j++)
                    {
                        var readUntil = (j + 1 < truststores.Count ? truststores[j + 1].At!.Value : end) + Delay;
                        if (truststores[j].At!.Value < until && from < readUntil)
                        {
                            // Server: svc with that keystore version; the client verifies it
                            // with that version of the dependent truststore.
                            var trust = File(truststores[j].Write, j);
                            lines.Add(string.Join('\t', $"{ts.Name}:ks{i}-ts{j}", File(keystores[i].Write, i), KeyPassword, serverTrust, TrustPassword, clientKs, KeyPassword, trust, TrustPassword, $"svc.{s.Ns}.svc"));
                        }
                    }
                }
            }

            Assert.True(lines.Count >= 4, $"only {lines.Count} pairs");
            await StoreVersions.AssertJavaHandshakesAsync(lines, dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_truststore_that_cannot_be_written_holds_the_keystore_until_MaxWait_then_a_Warning_names_it()
    {
        var s = await SetUpAsync(duration: "240h", renewBefore: "72h", brokenB: true);
        var renewed = await RenewAsync(s);
        var started = fx.Time.GetUtcNow();
        await WaitTruststoreHoldsAsync(s, s.Truststores[0], 2);
        var waiting = await fx.Status.WaitCertificateAsync(s.Svc, st => st.Condition(Conditions.Issuing)?.Message.Contains("1 of 2", StringComparison.Ordinal) == true, "a acknowledged");
        Assert.Equal(Reasons.WaitingForTruststores, waiting.Condition(Conditions.Issuing)!.Reason);
        Assert.Contains($"{s.Ns}/b", waiting.Condition(Conditions.Issuing)!.Message, StringComparison.Ordinal);

        fx.Time.SetUtcNow(started + TimeSpan.FromHours(24) - TimeSpan.FromMinutes(1));
        await FireAsync(s.Svc, "roll");
        Assert.Equal(s.First.SerialNumber, ServedSerial(s.Keystore));

        fx.Time.SetUtcNow(started + TimeSpan.FromHours(24));
        await FireAsync(s.Svc, "roll");
        await WaitKeystoreServesAsync(s, 2);
        Assert.Equal(renewed.SerialNumber, ServedSerial(s.Keystore));
        var warning = Assert.Single(fx.Events.For(s.Svc), e => e.Reason == Reasons.TruststoresLeftBehind);
        Assert.Equal(EventSeverity.Warning, warning.Severity);
        Assert.Contains($"{s.Ns}/b", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain($"{s.Ns}/a", warning.Message, StringComparison.Ordinal);
        Assert.Contains("MaxWait", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_wait_never_runs_past_the_old_certificates_expiry()
    {
        // Renewed 10 minutes before expiry with a truststore that cannot be written: the keystore
        // switches at the old expiry less the propagation delay, not after MaxWait (24 h).
        var s = await SetUpAsync(duration: "2h", renewBefore: "10m", brokenB: true);
        await RenewAsync(s);
        var deadline = s.First.NotAfter!.Value - Delay;
        fx.Time.SetUtcNow(deadline - TimeSpan.FromSeconds(1));
        await FireAsync(s.Svc, "roll");
        Assert.Equal(s.First.SerialNumber, ServedSerial(s.Keystore));

        fx.Time.SetUtcNow(deadline);
        await FireAsync(s.Svc, "roll");
        await WaitKeystoreServesAsync(s, 2);
        Assert.Contains(fx.Events.For(s.Svc), e => e.Reason == Reasons.TruststoresLeftBehind && e.Message.Contains("expires at", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_grain_restarted_mid_roll_resumes_it_from_its_state()
    {
        var s = await SetUpAsync();
        var renewed = await RenewAsync(s);
        var started = fx.Time.GetUtcNow();
        await WaitPhaseAsync(s, Reasons.Propagating);

        await CertGrain(s.Svc).AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        fx.Time.SetUtcNow(started + Delay);
        await FireAsync(s.Svc, "roll");
        await WaitKeystoreServesAsync(s, 2);
        Assert.Equal(renewed.SerialNumber, ServedSerial(s.Keystore));
    }

    [Fact]
    public async Task A_rotate_switches_the_keystore_at_once_and_trusts_no_older_certificate()
    {
        var s = await SetUpAsync();
        var renewed = await RenewAsync(s);
        await WaitTruststoreHoldsAsync(s, s.Truststores[0], 2);

        var rotated = await CertGrain(s.Svc).ReissueAsync("a breach was reported");
        Assert.Equal(3, rotated.Revision);
        Assert.Null(rotated.PreviousSerialNumber);
        Assert.Null(rotated.Condition(Conditions.Issuing));
        await WaitKeystoreServesAsync(s, 3);
        Assert.Equal(rotated.SerialNumber, ServedSerial(s.Keystore));
        foreach (var ts in s.Truststores)
        {
            await WaitTruststoreHoldsAsync(s, ts, 3);
            var serials = TrustedSerials(ts);
            Assert.Contains(rotated.SerialNumber, serials);
            Assert.DoesNotContain(renewed.SerialNumber, serials);
            Assert.DoesNotContain(s.First.SerialNumber, serials);
        }
    }

    [Fact]
    public async Task A_re_issue_during_a_roll_coalesces_its_keystore_never_serves_the_skipped_certificate()
    {
        var s = await SetUpAsync();
        var renewed = await RenewAsync(s);
        await WaitPhaseAsync(s, Reasons.Propagating);

        // A spec change during the roll re-issues: the roll goes on with the newest certificate.
        var spec = Cert($"svc.{s.Ns}.svc", "24h") with { Alt = ["svc.internal"] };
        var third = await CertGrain(s.Svc).ApplyAsync(spec, LifecycleTests.V(2));
        Assert.Equal(3, third.Revision);
        Assert.Equal(s.First.SerialNumber, third.PreviousSerialNumber);
        var restarted = fx.Time.GetUtcNow();
        foreach (var ts in s.Truststores)
        {
            await WaitTruststoreHoldsAsync(s, ts, 3);
            var serials = TrustedSerials(ts);
            Assert.Contains(third.SerialNumber, serials);
            Assert.Contains(s.First.SerialNumber, serials);
            Assert.DoesNotContain(renewed.SerialNumber, serials);
        }

        await WaitPhaseAsync(s, Reasons.Propagating);
        fx.Time.SetUtcNow(restarted + Delay);
        await FireAsync(s.Svc, "roll");
        await WaitKeystoreServesAsync(s, 3);
        Assert.Equal(third.SerialNumber, ServedSerial(s.Keystore));
        Assert.DoesNotContain(fx.Store.History(ResourceKind.Keystore, s.Keystore), h => Serials(h.Write, KeyPassword).Contains(renewed.SerialNumber!));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_resync_or_a_lifecycle_tick_moves_a_roll_on_whose_reminder_never_fired(bool lifecycleTick)
    {
        // The roll reminder is lost (a failed registration, a silo lost after the save): the next
        // resync of the applied spec, or the next lifecycle tick, switches the keystore when due.
        var s = await SetUpAsync();
        var renewed = await RenewAsync(s);
        var started = fx.Time.GetUtcNow();
        await WaitPhaseAsync(s, Reasons.Propagating);
        // Not isolated from the roll reminder: Orleans' reminder service runs on the fake clock
        // too and may fire it as well (a reminder cannot be dropped from outside the silo's
        // scheduler here); this proves the resync/lifecycle path switches, not that it alone does.
        fx.Time.SetUtcNow(started + Delay);
        if (lifecycleTick)
        {
            await FireAsync(s.Svc, "lifecycle");
        }
        else
        {
            await CertGrain(s.Svc).ApplyAsync(Cert($"svc.{s.Ns}.svc", "24h"), LifecycleTests.V(1));
        }

        await WaitKeystoreServesAsync(s, 2);
        Assert.Equal(renewed.SerialNumber, ServedSerial(s.Keystore));
    }

    [Fact]
    public async Task A_roll_whose_last_pending_truststore_is_deleted_switches_after_the_propagation_delay_not_MaxWait()
    {
        var s = await SetUpAsync(brokenB: true);
        var renewed = await RenewAsync(s);
        await WaitTruststoreHoldsAsync(s, s.Truststores[0], 2);
        await fx.Status.WaitCertificateAsync(s.Svc, st => st.Condition(Conditions.Issuing)?.Message.Contains("1 of 2", StringComparison.Ordinal) == true, "a acknowledged");

        // b (which cannot be written) goes away: nothing is pending, the delay counts from now.
        fx.Time.Advance(TimeSpan.FromMinutes(5));
        var gone = fx.Time.GetUtcNow();
        await fx.Grains.GetGrain<ITruststoreGrain>(s.Truststores[1].ToString()).DeleteAsync();
        await WaitPhaseAsync(s, Reasons.Propagating);
        fx.Time.SetUtcNow(gone + Delay);
        await FireAsync(s.Svc, "roll");
        await WaitKeystoreServesAsync(s, 2);
        Assert.Equal(renewed.SerialNumber, ServedSerial(s.Keystore));
        Assert.DoesNotContain(fx.Events.For(s.Svc), e => e.Reason == Reasons.TruststoresLeftBehind);
    }

    [Fact]
    public async Task A_roll_reminder_left_behind_by_a_delete_unregisters_itself_when_it_fires()
    {
        var s = await SetUpAsync();
        await RenewAsync(s);
        await CertGrain(s.Svc).DeleteAsync();

        // As if unregistering it at the delete had failed (the state forgot the registration).
        var table = fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var grainId = ((GrainReference)CertGrain(s.Svc)).GrainId;
        await table.UpsertRow(new ReminderEntry { GrainId = grainId, ReminderName = "roll", StartAt = fx.Time.GetUtcNow().UtcDateTime.AddMinutes(1), Period = TimeSpan.FromDays(7) });
        Assert.Contains((await table.ReadRows(grainId)).Reminders, r => r.ReminderName == "roll");

        await FireAsync(s.Svc, "roll");
        Assert.DoesNotContain((await table.ReadRows(grainId)).Reminders, r => r.ReminderName == "roll");
    }
}
