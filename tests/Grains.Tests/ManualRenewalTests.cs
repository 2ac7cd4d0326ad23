using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;
using Orleans.Core.Internal;

namespace Notary.Grains.Tests;

/// <summary>
/// Renew now (annotation notary.dev/renew, forwarded as <see cref="ICertificateGrain.RenewAsync"/>):
/// long before its renewal time the certificate is re-issued with the renewal's make-before-break
/// order, once per token (a resync or a new activation with the same token re-issues nothing), and
/// what cannot be renewed is refused once with a condition.
/// </summary>
[Collection(LifecycleCollection.Name)]
[Trait("Category", "Slow")]
public sealed class ManualRenewalTests(LifecycleClusterFixture fx)
{
    private const string KeyPassword = "ks-secret-1";
    private const string TrustPassword = "ts-secret-1";
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(90);

    private ICertificateGrain CertGrain(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private static CertificateSpec Cert(string fqdn) =>
        new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256, Duration = "240h" };

    private Task FireAsync(ResourceKey key, string reminder) =>
        CertGrain(key).AsReference<IRemindable>().ReceiveReminder(reminder, new TickStatus(fx.Time.GetUtcNow().UtcDateTime, TimeSpan.FromDays(7), fx.Time.GetUtcNow().UtcDateTime));

    /// <summary>"svc" with its keystore, and the truststores of "a" and "b", which trust it.</summary>
    private async Task<(ResourceKey Svc, CertificateStatus First, ResourceKey[] Truststores)> SetUpAsync()
    {
        var ns = "mr-" + Guid.NewGuid().ToString("N")[..10];
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json(KeyPassword, TrustPassword));
        string F(string n) => $"{n}.{ns}.svc";
        var svc = new ResourceKey(ns, "svc");
        var first = await CertGrain(svc).ApplyAsync(Cert(F("svc")), LifecycleTests.V(1));
        Assert.True(first.IsReady, first.Condition(Conditions.Ready)?.Message);
        Assert.True((await fx.Grains.GetGrain<IKeystoreGrain>(svc.ToString()).ApplyAsync(new KeystoreSpec { Fqdn = F("svc"), CertName = "svc" }, LifecycleTests.V(1))).IsReady);
        var truststores = new[] { new ResourceKey(ns, "a"), new ResourceKey(ns, "b") };
        foreach (var ts in truststores)
        {
            Assert.True((await CertGrain(ts).ApplyAsync(Cert(F(ts.Name)), LifecycleTests.V(1))).IsReady);
            var status = await fx.Grains.GetGrain<ITruststoreGrain>(ts.ToString()).ApplyAsync(
                new TruststoreSpec { Fqdn = F(ts.Name), CertName = ts.Name, Upstream = [new TrustReference { Tag = "svc", Fqdn = F("svc"), Namespace = ns }] }, LifecycleTests.V(1));
            Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        }

        return (svc, first, truststores);
    }

    private static List<string> Serials(StoreWrite write, string password) =>
        [.. X509CertificateLoader.LoadPkcs12Collection(write.Files[write.PrimaryFileName], password, X509KeyStorageFlags.EphemeralKeySet).Select(c => c.SerialNumber)];

    private string ServedSerial(ResourceKey keystore) =>
        X509CertificateLoader.LoadPkcs12Collection(fx.Store.Get(ResourceKind.Keystore, keystore)!.Files["keystore.p12"], KeyPassword, X509KeyStorageFlags.EphemeralKeySet)
            .Single(c => c.HasPrivateKey).SerialNumber;

    [Fact]
    public async Task A_requested_renewal_rolls_make_before_break_and_acts_once_per_token()
    {
        var (svc, first, truststores) = await SetUpAsync();
        Assert.True(first.RenewalTime > fx.Time.GetUtcNow() + TimeSpan.FromDays(5));

        var requestedAt = fx.Time.GetUtcNow();
        var renewed = await CertGrain(svc).RenewAsync("2026-12-06T00:00:00Z");
        Assert.Equal(first.Revision + 1, renewed.Revision);
        Assert.Equal(first.SerialNumber, renewed.PreviousSerialNumber);
        Assert.Equal(new ManualRenewal("2026-12-06T00:00:00Z", fx.Time.GetUtcNow(), ManualRenewalOutcomes.Reissued), renewed.LastManualRenewal);
        var requested = Assert.Single(fx.Events.For(svc), e => e.Reason == Reasons.RenewRequested);
        Assert.Equal(EventSeverity.Normal, requested.Severity);
        Assert.Contains(fx.Events.For(svc), e => e.Reason == "Renewed" && e.Message.Contains("a renewal was requested (notary.dev/renew=2026-12-06T00:00:00Z)", StringComparison.Ordinal));
        // The published status said it was manually triggered before the roll took over the condition.
        Assert.Contains(fx.Status.CertificateHistory(svc), st => st.Condition(Conditions.Issuing) is { Status: Conditions.True, Reason: Reasons.ManuallyTriggered });

        // The renewal's roll: every dependent truststore first, the keystore after the propagation delay.
        var propagating = await fx.Status.WaitCertificateAsync(svc, st => st.Condition(Conditions.Issuing)?.Reason == Reasons.Propagating, "Issuing=Propagating");
        var started = fx.Time.GetUtcNow();
        Assert.Equal(first.SerialNumber, ServedSerial(svc));
        fx.Time.SetUtcNow(started + Delay);
        await FireAsync(svc, "roll");
        await fx.Status.WaitStoreAsync(ResourceKind.Keystore, svc, st => st.IsReady && st.CertificateRevisions.GetValueOrDefault(svc.ToString()) == renewed.Revision, "the keystore switched");
        Assert.Equal(renewed.SerialNumber, ServedSerial(svc));
        var ksNew = fx.Store.History(ResourceKind.Keystore, svc).First(h => Serials(h.Write, KeyPassword).Contains(renewed.SerialNumber!));
        foreach (var ts in truststores)
        {
            var tsNew = fx.Store.History(ResourceKind.Truststore, ts).First(h => Serials(h.Write, TrustPassword).Contains(renewed.SerialNumber!));
            Assert.True(ksNew.At >= tsNew.At + Delay, $"keystore switched at {ksNew.At:O}, truststore {ts} written at {tsNew.At:O}");
            Assert.Contains(first.SerialNumber, Serials(tsNew.Write, TrustPassword));
        }

        // The same token again (a resync, a new watcher term, a new activation): nothing.
        Assert.Equal(renewed.Revision, (await CertGrain(svc).RenewAsync("2026-12-06T00:00:00Z")).Revision);
        await CertGrain(svc).AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        var again = await CertGrain(svc).RenewAsync("2026-12-06T00:00:00Z");
        Assert.Equal(renewed.Revision, again.Revision);
        Assert.Equal("2026-12-06T00:00:00Z", again.LastManualRenewal?.Token);
        Assert.Single(fx.Events.For(svc), e => e.Reason == Reasons.RenewRequested);

        // A new token within Rotation:MinManualRenewInterval (5 min) of the last re-issue: not
        // started, the Issuing condition says from when, one Warning Event however many tokens.
        var early = await CertGrain(svc).RenewAsync("second");
        Assert.Equal(renewed.Revision, early.Revision);
        Assert.Equal(ManualRenewalOutcomes.TooSoon, early.LastManualRenewal?.Outcome);
        var tooSoon = early.Condition(Conditions.Issuing);
        Assert.Equal((Conditions.False, Reasons.RenewTooSoon), (tooSoon?.Status, tooSoon?.Reason));
        Assert.Contains($"{requestedAt + TimeSpan.FromMinutes(5):O}", tooSoon!.Message, StringComparison.Ordinal);
        Assert.Equal(renewed.Revision, (await CertGrain(svc).RenewAsync("third")).Revision);
        var warning = Assert.Single(fx.Events.For(svc), e => e.Reason == Reasons.RenewTooSoon);
        Assert.Equal(EventSeverity.Warning, warning.Severity);

        // A later token, after the interval, is a new request.
        fx.Time.SetUtcNow(requestedAt + TimeSpan.FromMinutes(5));
        Assert.Equal(renewed.Revision + 1, (await CertGrain(svc).RenewAsync("fourth")).Revision);
    }

    [Fact]
    public async Task A_new_token_during_a_roll_is_coalesced_into_it_and_the_new_certificate_is_kept()
    {
        var (svc, first, _) = await SetUpAsync();
        var renewed = await CertGrain(svc).RenewAsync("r1");
        Assert.Equal(first.Revision + 1, renewed.Revision);
        await fx.Status.WaitCertificateAsync(svc, st => st.Condition(Conditions.Issuing)?.Reason == Reasons.Propagating, "Issuing=Propagating");

        // The roll's certificate is the one asked for; re-issuing would replace it unserved and
        // restart the roll (a loop of `kubectl annotate` would never end).
        var during = await CertGrain(svc).RenewAsync("r2");
        Assert.Equal((renewed.Revision, renewed.SerialNumber), (during.Revision, during.SerialNumber));
        Assert.Equal(new ManualRenewal("r2", fx.Time.GetUtcNow(), ManualRenewalOutcomes.AlreadyIssuing), during.LastManualRenewal);
        Assert.Equal(first.SerialNumber, ServedSerial(svc));
    }

    [Fact]
    public async Task A_certificate_created_with_the_annotation_is_issued_once()
    {
        var ns = "mr-" + Guid.NewGuid().ToString("N")[..10];
        var key = new ResourceKey(ns, "gitops");
        // The watcher forwards the request before the spec: the first issuance answers it.
        await CertGrain(key).RenewAsync("from-git");
        var issued = await CertGrain(key).ApplyAsync(Cert($"gitops.{ns}.svc"), LifecycleTests.V(1));
        Assert.True(issued.IsReady, issued.Condition(Conditions.Ready)?.Message);
        Assert.Equal(new ManualRenewal("from-git", fx.Time.GetUtcNow(), ManualRenewalOutcomes.AlreadyIssuing), issued.LastManualRenewal);

        // Forwarded again (a resync, the next watcher term): still the one certificate.
        var again = await CertGrain(key).RenewAsync("from-git");
        Assert.Equal((issued.Revision, issued.SerialNumber), (again.Revision, again.SerialNumber));
        Assert.DoesNotContain(fx.Events.For(key), e => e.Reason == "Renewed");
    }

    [Fact]
    public async Task A_long_token_is_stored_capped_and_still_acted_on_once()
    {
        var (svc, first, _) = await SetUpAsync();
        var token = "x" + new string('y', 200_000);
        var renewed = await CertGrain(svc).RenewAsync(token);
        Assert.Equal(first.Revision + 1, renewed.Revision);
        Assert.InRange(renewed.LastManualRenewal!.Token.Length, 1, 63);
        Assert.StartsWith("xyy", renewed.LastManualRenewal.Token, StringComparison.Ordinal);
        Assert.All(fx.Status.CertificateHistory(svc), st => Assert.True((st.LastManualRenewal?.Token.Length ?? 0) <= 63));
        Assert.All(fx.Events.For(svc), e => Assert.True(e.Message.Length < 2000, e.Message));

        fx.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(renewed.Revision, (await CertGrain(svc).RenewAsync(token)).Revision);
    }

    [Fact]
    public async Task A_quarantined_certificate_refuses_the_renewal_once_with_a_condition()
    {
        var (svc, first, _) = await SetUpAsync();
        await CertGrain(svc).HoldQuarantineAsync($"{svc.Namespace}/leak", hold: true, "leaked");

        var refused = await CertGrain(svc).RenewAsync("t1");
        Assert.Equal(first.Revision, refused.Revision);
        var issuing = refused.Condition(Conditions.Issuing);
        Assert.Equal((Conditions.False, Reasons.RenewRefused), (issuing?.Status, issuing?.Reason));
        Assert.Contains($"{svc.Namespace}/leak", issuing!.Message, StringComparison.Ordinal);
        Assert.Equal(ManualRenewalOutcomes.Refused, refused.LastManualRenewal?.Outcome);

        // Asked again with the same token (a resync): no second attempt, no second Event.
        await CertGrain(svc).RenewAsync("t1");
        var warning = Assert.Single(fx.Events.For(svc), e => e.Reason == Reasons.RenewRefused);
        Assert.Equal(EventSeverity.Warning, warning.Severity);
        Assert.Equal(first.Revision, (await CertGrain(svc).GetStatusAsync())!.Revision);
    }
}
