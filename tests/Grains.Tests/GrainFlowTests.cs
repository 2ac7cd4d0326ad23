using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>The grain flows (issue, subscribe, rebuild, renew, delete) through a real in-process Orleans cluster.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class GrainFlowTests(ClusterFixture fx)
{
    private const string KeyPassword = "ks-secret-1";
    private const string TrustPassword = "ts-secret-1";

    private static ResourceVersionInfo V(long generation, string uid = "uid-1") => new(uid, generation);

    private static CertificateSpec Cert(string fqdn, params string[] alt) => new() { Type = "Private", Fqdn = fqdn, Alt = alt, KeyAlgorithm = "ECDSA", KeySize = 256 };

    private string Onboard(string ns, string secret = "notary-metadata", string? keyStoreName = null, string? trustStoreName = null)
    {
        fx.Metadata.Set(ns, secret, InMemoryMetadataSource.Json(KeyPassword, TrustPassword, keyStoreName, trustStoreName));
        return ns;
    }

    private ICertificateGrain CertGrain(string ns, string name) => fx.Grains.GetGrain<ICertificateGrain>($"{ns}/{name}");

    private IKeystoreGrain KsGrain(string ns, string name) => fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/{name}");

    private ITruststoreGrain TsGrain(string ns, string name) => fx.Grains.GetGrain<ITruststoreGrain>($"{ns}/{name}");

    private static X509Certificate2Collection ReadPkcs12(byte[] bytes, string password) =>
        X509CertificateLoader.LoadPkcs12Collection(bytes, password, X509KeyStorageFlags.EphemeralKeySet);

    [Fact]
    public async Task Certificate_is_issued_with_serial_validity_revision_and_renewal_time()
    {
        var ns = ClusterFixture.NewNamespace();
        var status = await CertGrain(ns, "api").ApplyAsync(Cert($"api.{ns}.svc.cluster.local") with { Duration = "720h" }, V(1));

        Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        Assert.Equal(1, status.Revision);
        Assert.Equal(1, status.ObservedGeneration);
        Assert.False(string.IsNullOrEmpty(status.SerialNumber));
        Assert.StartsWith("urn:notary:builtin:", status.Arn, StringComparison.Ordinal);
        var lifetime = status.NotAfter!.Value - status.NotBefore!.Value;
        Assert.InRange(lifetime, TimeSpan.FromHours(720), TimeSpan.FromHours(720) + TimeSpan.FromMinutes(10));
        Assert.Equal(status.NotAfter.Value - (lifetime / 3), status.RenewalTime);
        Assert.Equal(status.SerialNumber, fx.Status.Certificate(new ResourceKey(ns, "api"))?.SerialNumber);
        Assert.Contains(fx.Events.For(new ResourceKey(ns, "api")), e => e.Reason == "Issued" && e.Severity == EventSeverity.Normal);
    }

    [Fact]
    public async Task Keystore_holds_key_and_chain_under_the_certificate_name_with_the_metadata_password()
    {
        var ns = Onboard(ClusterFixture.NewNamespace(), keyStoreName: "server.p12");
        var fqdn = $"api.{ns}.svc.cluster.local";
        var cert = await CertGrain(ns, "api").ApplyAsync(Cert(fqdn), V(1));
        var status = await KsGrain(ns, "api-ks").ApplyAsync(new KeystoreSpec { Fqdn = fqdn, CertName = "api" }, V(1));

        Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        Assert.Equal($"k8s://{ns}/secrets/api-ks", status.Location);
        Assert.Equal(cert.Revision, status.CertificateRevisions[$"{ns}/api"]);
        var stored = fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api-ks"))!;
        Assert.Equal("server.p12", stored.PrimaryFileName);
        Assert.Equal(["ca.crt", "server.p12", "tls.crt", "tls.key"], stored.Files.Keys.Order(StringComparer.Ordinal));
        var certs = ReadPkcs12(stored.Files["server.p12"], KeyPassword);
        var leaf = Assert.Single(certs, c => c.HasPrivateKey);
        Assert.Equal(cert.SerialNumber, leaf.SerialNumber);
        Assert.Equal(2, certs.Count);
        Assert.Contains("BEGIN PRIVATE KEY", Bytes.Utf8(stored.Files["tls.key"]), StringComparison.Ordinal);
        Assert.Equal(2, Bytes.Utf8(stored.Files["tls.crt"]).Split("BEGIN CERTIFICATE").Length - 1);
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => ReadPkcs12(stored.Files["server.p12"], "wrong-password"));
    }

    [Fact]
    public async Task Jks_format_writes_a_java_keystore_under_the_default_name()
    {
        var ns = Onboard(ClusterFixture.NewNamespace());
        var fqdn = $"api.{ns}.svc.cluster.local";
        await CertGrain(ns, "api").ApplyAsync(Cert(fqdn), V(1));
        var status = await KsGrain(ns, "ks").ApplyAsync(new KeystoreSpec { Fqdn = fqdn, CertName = "api", Format = "JKS" }, V(1));

        Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        var stored = fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "ks"))!;
        Assert.Equal("keystore.jks", stored.PrimaryFileName);
        Assert.Equal([0xFE, 0xED, 0xFE, 0xED], stored.Files["keystore.jks"][..4]);
    }

    [Fact]
    public async Task Reissued_certificate_rebuilds_its_keystore_and_every_subscribed_truststore()
    {
        var ns = Onboard(ClusterFixture.NewNamespace());
        string F(string n) => $"{n}.{ns}.svc.cluster.local";
        var b = "b-" + ns; // unique across namespaces: truststore c looks it up without a namespace
        await CertGrain(ns, "a").ApplyAsync(Cert(F("a")), V(1));
        var b1 = await CertGrain(ns, b).ApplyAsync(Cert(F(b)), V(1));
        await CertGrain(ns, "c").ApplyAsync(Cert(F("c")), V(1));
        await KsGrain(ns, b).ApplyAsync(new KeystoreSpec { Fqdn = F(b), CertName = b }, V(1));
        var up = new TrustReference { Tag = b, Fqdn = F(b), Namespace = ns };
        var down = new TrustReference { Tag = b, Fqdn = F(b) };
        var tsA = await TsGrain(ns, "a").ApplyAsync(new TruststoreSpec { Fqdn = F("a"), CertName = "a", Upstream = [up] }, V(1));
        Assert.True(tsA.IsReady, tsA.Condition(Conditions.Ready)?.Message);
        Assert.True((await TsGrain(ns, "c").ApplyAsync(new TruststoreSpec { Fqdn = F("c"), CertName = "c", Downstream = [down] }, V(1))).IsReady);

        // A change that affects the certificate (a new alt name) re-issues it.
        var b2 = await CertGrain(ns, b).ApplyAsync(Cert(F(b), "b.example.internal"), V(2));
        Assert.Equal(2, b2.Revision);
        Assert.NotEqual(b1.SerialNumber, b2.SerialNumber);

        var key = $"{ns}/{b}";
        await fx.Status.WaitStoreAsync(ResourceKind.Keystore, new ResourceKey(ns, b), s => s.IsReady && s.CertificateRevisions[key] == 2, "keystore rebuilt from revision 2");
        foreach (var ts in new[] { "a", "c" })
        {
            var status = await fx.Status.WaitStoreAsync(ResourceKind.Truststore, new ResourceKey(ns, ts), s => s.IsReady && s.CertificateRevisions[key] == 2, "truststore rebuilt from revision 2");
            var stored = fx.Store.Get(ResourceKind.Truststore, new ResourceKey(ns, ts))!;
            var serials = ReadPkcs12(stored.Files["truststore.p12"], TrustPassword).Select(c => c.SerialNumber).ToList();
            Assert.Contains(b2.SerialNumber, serials);
            // Make-before-break: the previous certificate stays trusted beside it until it expires.
            Assert.Contains(b1.SerialNumber, serials);
            Assert.Contains($"{b}.{ns}", status.Entries);
        }

        var ks = ReadPkcs12(fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, b))!.Files["keystore.p12"], KeyPassword);
        Assert.Equal(b2.SerialNumber, Assert.Single(ks, c => c.HasPrivateKey).SerialNumber);
    }

    [Fact]
    public async Task A_resync_or_notification_that_changes_nothing_writes_nothing()
    {
        var ns = Onboard(ClusterFixture.NewNamespace());
        string F(string n) => $"{n}.{ns}.svc.cluster.local";
        var spec = new TruststoreSpec { Fqdn = F("a"), CertName = "a" };
        await CertGrain(ns, "a").ApplyAsync(Cert(F("a")), V(1));
        await TsGrain(ns, "a").ApplyAsync(spec, V(1));
        var stored = fx.Store.Get(ResourceKind.Truststore, new ResourceKey(ns, "a"));
        Assert.NotNull(stored);
        var puts = fx.Store.Puts;

        // A resync re-applies the same generation: it re-checks the certificates and writes nothing.
        Assert.True((await TsGrain(ns, "a").ApplyAsync(spec, V(1))).IsReady);
        // Metadata reported changed with the same content: nothing to rebuild either. The
        // one-way notification is followed by a non-interleaved call, which runs after it.
        await fx.Grains.GetGrain<IMetadataSecretGrain>($"{ns}/notary-metadata").ChangedAsync();
        Assert.True((await TsGrain(ns, "a").ApplyAsync(spec, V(1))).IsReady);
        Assert.Equal(puts, fx.Store.Puts);
        Assert.Same(stored, fx.Store.Get(ResourceKind.Truststore, new ResourceKey(ns, "a")));

        // A new password rebuilds.
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json(KeyPassword, "another-password"));
        await fx.Grains.GetGrain<IMetadataSecretGrain>($"{ns}/notary-metadata").ChangedAsync();
        var rebuilt = await fx.Store.Changed.WaitAsync(() => fx.Store.Get(ResourceKind.Truststore, new ResourceKey(ns, "a")), w => !ReferenceEquals(w, stored), TimeSpan.FromSeconds(30), "rebuilt store");
        Assert.Single(ReadPkcs12(rebuilt.Files["truststore.p12"], "another-password")); // its own certificate (Pinned: no CA)
    }

    [Fact]
    public async Task A_store_missed_by_a_notification_catches_up_on_resync()
    {
        var ns = Onboard(ClusterFixture.NewNamespace());
        var fqdn = $"api.{ns}.svc.cluster.local";
        await CertGrain(ns, "api").ApplyAsync(Cert(fqdn), V(1));
        var spec = new KeystoreSpec { Fqdn = fqdn, CertName = "api" };
        await KsGrain(ns, "api").ApplyAsync(spec, V(1));
        // Simulate a lost one-way notification: the keystore unsubscribes, the certificate is re-issued.
        await CertGrain(ns, "api").UnsubscribeAsync(new SubscriberRef(ResourceKind.Keystore, $"{ns}/api"));
        var reissued = await CertGrain(ns, "api").ReissueAsync("test");

        var status = await KsGrain(ns, "api").ApplyAsync(spec, V(1));
        Assert.Equal(reissued.Revision, status.CertificateRevisions[$"{ns}/api"]);
        var leaf = ReadPkcs12(fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api"))!.Files["keystore.p12"], KeyPassword).Single(c => c.HasPrivateKey);
        Assert.Equal(reissued.SerialNumber, leaf.SerialNumber);
    }

    [Fact]
    public async Task A_recreated_certificate_never_repeats_a_revision_so_stores_rebuild()
    {
        var ns = Onboard(ClusterFixture.NewNamespace());
        var fqdn = $"api.{ns}.svc.cluster.local";
        var first = await CertGrain(ns, "api").ApplyAsync(Cert(fqdn), V(1));
        await KsGrain(ns, "api").ApplyAsync(new KeystoreSpec { Fqdn = fqdn, CertName = "api" }, V(1));
        await CertGrain(ns, "api").DeleteAsync();
        var second = await CertGrain(ns, "api").ApplyAsync(Cert(fqdn), V(1, "uid-2"));

        Assert.True(second.Revision > first.Revision);
        var status = await fx.Status.WaitStoreAsync(ResourceKind.Keystore, new ResourceKey(ns, "api"), s => s.IsReady && s.CertificateRevisions[$"{ns}/api"] == second.Revision, "rebuilt from the new certificate");
        var leaf = ReadPkcs12(fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api"))!.Files["keystore.p12"], KeyPassword).Single(c => c.HasPrivateKey);
        Assert.Equal(second.SerialNumber, leaf.SerialNumber);
        Assert.True(status.IsReady);
    }

    [Fact]
    public async Task Changing_only_renewBefore_moves_the_renewal_time_without_reissuing()
    {
        var ns = ClusterFixture.NewNamespace();
        var grain = CertGrain(ns, "api");
        var first = await grain.ApplyAsync(Cert($"api.{ns}.svc.cluster.local") with { Duration = "2160h" }, V(1));
        var issuedBefore = fx.Issuer.Issued;
        var second = await grain.ApplyAsync(Cert($"api.{ns}.svc.cluster.local") with { Duration = "2160h", RenewBefore = "240h" }, V(2));

        Assert.Equal(first.SerialNumber, second.SerialNumber);
        Assert.Equal(1, second.Revision);
        Assert.Equal(2, second.ObservedGeneration);
        Assert.Equal(second.NotAfter!.Value - TimeSpan.FromHours(240), second.RenewalTime);
        Assert.Equal(issuedBefore, fx.Issuer.Issued);
    }

    [Fact]
    public async Task Truststore_created_before_its_upstream_certificate_becomes_ready_when_it_is_issued()
    {
        var ns = Onboard(ClusterFixture.NewNamespace());
        var other = ClusterFixture.NewNamespace();
        string F(string n, string space) => $"{n}.{space}.svc.cluster.local";
        var tag = "up-" + ns; // unique across namespaces, looked up without a namespace
        await CertGrain(ns, "me").ApplyAsync(Cert(F("me", ns)), V(1));
        var ts = await TsGrain(ns, "me").ApplyAsync(new TruststoreSpec
        {
            Fqdn = F("me", ns),
            CertName = "me",
            Upstream = [new TrustReference { Tag = tag, Fqdn = F(tag, other) }],
        }, V(1));

        Assert.False(ts.IsReady);
        Assert.Equal(Reasons.UnresolvedReference, ts.Condition(Conditions.Ready)!.Reason);
        Assert.Contains($"spec.upstream[0]: no Certificate named \"{tag}\"", ts.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.Contains(fx.Events.For(new ResourceKey(ns, "me")), e => e.Kind == ResourceKind.Truststore && e.Severity == EventSeverity.Warning && e.Reason == Reasons.UnresolvedReference);

        await CertGrain(other, tag).ApplyAsync(Cert(F(tag, other)), V(1));

        var ready = await fx.Status.WaitReadyAsync(ResourceKind.Truststore, new ResourceKey(ns, "me"));
        // Pinned (the default): the two leaves and no CA entry.
        Assert.Equal([$"me.{ns}", $"{tag}.{other}"], ready.Entries);
        Assert.Equal([new BoundReference(tag, other, "uid-1")], ready.References);
    }

    /// <summary>
    /// A grain that moves to another silo must not leave its last figures behind on the old one
    /// (a stale ready=1 there hid the new silo's Not Ready from NotaryCertificateNotReady).
    /// </summary>
    [Fact]
    public async Task A_deactivated_grain_drops_its_series_and_its_next_activation_reports_them_again()
    {
        var ns = Onboard(ClusterFixture.NewNamespace());
        var fqdn = $"api.{ns}.svc.cluster.local";
        var key = new ResourceKey(ns, "api");
        await CertGrain(ns, "api").ApplyAsync(Cert(fqdn), V(1));
        await KsGrain(ns, "api").ApplyAsync(new KeystoreSpec { Fqdn = fqdn, CertName = "api" }, V(1));
        Assert.True(fx.Metrics.Certificate(key)?.Ready);
        Assert.True(fx.Metrics.Store(ResourceKind.Keystore, key));

        await fx.Cluster.DeactivateAsync(CertGrain(ns, "api"));
        await fx.Cluster.DeactivateAsync(KsGrain(ns, "api"));
        Assert.Null(fx.Metrics.Certificate(key));
        Assert.Null(fx.Metrics.Store(ResourceKind.Keystore, key));

        // Activated again (here by a read; in production by a reminder or the watcher's resync).
        await CertGrain(ns, "api").GetStatusAsync();
        await KsGrain(ns, "api").GetStatusAsync();
        Assert.True(fx.Metrics.Certificate(key)?.Ready);
        Assert.True(fx.Metrics.Store(ResourceKind.Keystore, key));
    }

    [Fact]
    public async Task Deactivated_grains_keep_their_state()
    {
        var ns = Onboard(ClusterFixture.NewNamespace());
        var fqdn = $"api.{ns}.svc.cluster.local";
        var issued = await CertGrain(ns, "api").ApplyAsync(Cert(fqdn), V(1));
        var stored = await KsGrain(ns, "api").ApplyAsync(new KeystoreSpec { Fqdn = fqdn, CertName = "api" }, V(1));

        await fx.Cluster.DeactivateAsync(CertGrain(ns, "api"));
        await fx.Cluster.DeactivateAsync(KsGrain(ns, "api"));

        var issuedBefore = fx.Issuer.Issued;
        var status = await CertGrain(ns, "api").GetStatusAsync();
        Assert.Equal(issued.SerialNumber, status!.SerialNumber);
        Assert.Equal(issued.RenewalTime, status.RenewalTime);
        Assert.Equal(1, status.Revision);
        var again = await CertGrain(ns, "api").ApplyAsync(Cert(fqdn), V(1));
        Assert.Equal(issued.SerialNumber, again.SerialNumber);
        Assert.Equal(issuedBefore, fx.Issuer.Issued);
        var store = await KsGrain(ns, "api").GetStatusAsync();
        Assert.Equal(stored.Location, store!.Location);
        Assert.Equal(stored.CertificateRevisions, store.CertificateRevisions);

        // The subscription survived too: a re-issue after reactivation still reaches the keystore.
        await CertGrain(ns, "api").ReissueAsync("test");
        await fx.Status.WaitStoreAsync(ResourceKind.Keystore, new ResourceKey(ns, "api"), s => s.CertificateRevisions[$"{ns}/api"] == 2, "rebuilt after reactivation");
    }

    [Fact]
    public async Task Stale_generation_is_ignored()
    {
        var ns = ClusterFixture.NewNamespace();
        var grain = CertGrain(ns, "api");
        var current = await grain.ApplyAsync(Cert($"api.{ns}.svc.cluster.local"), V(3));
        var stale = await grain.ApplyAsync(Cert($"other.{ns}.svc.cluster.local"), V(2));
        Assert.Equal(3, stale.ObservedGeneration);
        Assert.Equal(current.SerialNumber, stale.SerialNumber);
        Assert.Equal($"api.{ns}.svc.cluster.local", (await grain.GetSnapshotAsync()).Fqdn);
    }

    [Fact]
    public async Task Deleting_stores_and_certificates()
    {
        var ns = Onboard(ClusterFixture.NewNamespace());
        string F(string n) => $"{n}.{ns}.svc.cluster.local";
        await CertGrain(ns, "a").ApplyAsync(Cert(F("a")), V(1));
        await CertGrain(ns, "b").ApplyAsync(Cert(F("b")), V(1));
        await KsGrain(ns, "a").ApplyAsync(new KeystoreSpec { Fqdn = F("a"), CertName = "a" }, V(1));
        var ts = await TsGrain(ns, "a").ApplyAsync(new TruststoreSpec { Fqdn = F("a"), CertName = "a", Upstream = [new TrustReference { Tag = "b", Fqdn = F("b"), Namespace = ns }] }, V(1));
        Assert.True(ts.IsReady);
        var truststoreBytes = fx.Store.Get(ResourceKind.Truststore, new ResourceKey(ns, "a"))!.Files["truststore.p12"];

        await KsGrain(ns, "a").DeleteAsync();
        Assert.Null(fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "a")));
        Assert.Null(await KsGrain(ns, "a").GetStatusAsync());
        Assert.Contains(fx.Events.For(new ResourceKey(ns, "a")), e => e.Kind == ResourceKind.Keystore && e.Reason == Reasons.Deleted);

        // Deleting a certificate a store uses: the store keeps its contents and says why it is not ready.
        await CertGrain(ns, "b").DeleteAsync();
        var status = await fx.Status.WaitReasonAsync(ResourceKind.Truststore, new ResourceKey(ns, "a"), Reasons.CertificateDeleted);
        Assert.Contains($"Certificate {ns}/b was deleted", status.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.Same(truststoreBytes, fx.Store.Get(ResourceKind.Truststore, new ResourceKey(ns, "a"))!.Files["truststore.p12"]);

        // Created again, it is served again.
        await CertGrain(ns, "b").ApplyAsync(Cert(F("b")), V(1, "uid-2"));
        await fx.Status.WaitReadyAsync(ResourceKind.Truststore, new ResourceKey(ns, "a"));
    }
}
