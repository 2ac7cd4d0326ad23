using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>Every SPEC bad-input case: Ready=False with a reason and a message naming the culprit, a Warning event, nothing stored lost.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BadInputTests(ClusterFixture fx)
{
    private static ResourceVersionInfo V(long generation) => new("uid-1", generation);

    private static CertificateSpec Cert(string fqdn) => new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256 };

    private static string F(string name, string ns) => $"{name}.{ns}.svc.cluster.local";

    private void AssertWarning(ResourceKey resource, ResourceKind kind, string reason) =>
        Assert.Contains(fx.Events.For(resource), e => e.Kind == kind && e.Severity == EventSeverity.Warning && e.Reason == reason);

    [Theory]
    [InlineData("Public", null, null, null, null, Reasons.UnsupportedType, "cannot issue Public certificates")]
    [InlineData("Private", "90", null, null, null, Reasons.InvalidSpec, "spec.duration")]
    [InlineData("Private", "1h", "2h", null, null, Reasons.InvalidSpec, "spec.renewBefore \"2h\" must be positive and shorter")]
    [InlineData("Private", null, null, "ECDSA", 2048, Reasons.InvalidSpec, "spec.privateKey")]
    [InlineData("Private", null, null, "DSA", null, Reasons.InvalidSpec, "spec.privateKey.algorithm \"DSA\"")]
    [InlineData("Mixed", null, null, null, null, Reasons.InvalidSpec, "spec.type \"Mixed\"")]
    public async Task Invalid_certificate_specs_are_reported(string type, string? duration, string? renewBefore, string? algorithm, int? size, string reason, string message)
    {
        var ns = ClusterFixture.NewNamespace();
        var issued = fx.Issuer.Issued;
        var status = await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/bad").ApplyAsync(
            new CertificateSpec { Type = type, Fqdn = F("bad", ns), Duration = duration, RenewBefore = renewBefore, KeyAlgorithm = algorithm, KeySize = size }, V(1));

        var ready = status.Condition(Conditions.Ready)!;
        Assert.Equal(Conditions.False, ready.Status);
        Assert.Equal(reason, ready.Reason);
        Assert.Contains(message, ready.Message, StringComparison.Ordinal);
        Assert.Equal(issued, fx.Issuer.Issued);
        AssertWarning(new ResourceKey(ns, "bad"), ResourceKind.Certificate, reason);
        Assert.Equal(reason, fx.Status.Certificate(new ResourceKey(ns, "bad"))!.Condition(Conditions.Ready)!.Reason);
    }

    [Fact]
    public async Task Unknown_issuer_names_the_configured_ones()
    {
        var ns = ClusterFixture.NewNamespace();
        var status = await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/c").ApplyAsync(Cert(F("c", ns)) with { Issuer = "vault" }, V(1));
        Assert.Equal(Reasons.UnknownIssuer, status.Condition(Conditions.Ready)!.Reason);
        Assert.Contains("\"vault\" is not configured; configured issuers: builtin", status.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_metadata_secret_then_fixed_builds_without_a_manual_retry()
    {
        var ns = ClusterFixture.NewNamespace();
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api").ApplyAsync(Cert(F("api", ns)), V(1));
        var ks = await fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/api").ApplyAsync(new KeystoreSpec { Fqdn = F("api", ns), CertName = "api", MetadataSecret = "api-meta" }, V(1));

        Assert.Equal(Reasons.MetadataSecretMissing, ks.Condition(Conditions.Ready)!.Reason);
        Assert.Contains($"Secret {ns}/api-meta does not exist", ks.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        AssertWarning(new ResourceKey(ns, "api"), ResourceKind.Keystore, Reasons.MetadataSecretMissing);
        Assert.Null(fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api")));

        // The watcher reports the Secret's creation to its grain; the store follows on its own.
        fx.Metadata.Set(ns, "api-meta", InMemoryMetadataSource.Json("password-1", "password-2"));
        await fx.Grains.GetGrain<IMetadataSecretGrain>($"{ns}/api-meta").ChangedAsync();
        await fx.Status.WaitReadyAsync(ResourceKind.Keystore, new ResourceKey(ns, "api"));
        Assert.NotNull(fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api")));
    }

    [Theory]
    [InlineData(null, Reasons.MetadataMissing, "has no key metadata.json")]
    [InlineData("{not json", Reasons.MetadataMalformed, "is not valid JSON")]
    [InlineData("[1,2]", Reasons.MetadataMalformed, "must hold a JSON object")]
    [InlineData("{\"tlsStoreRootPath\":\"/tls\",\"tlsKeyStorePassword\":\"Zq9\",\"tlsTrustStorePassword\":\"long-enough\"}", Reasons.MetadataMalformed, "tlsKeyStorePassword is shorter than 6 characters")]
    [InlineData("{\"tlsStoreRootPath\":\"/tls\",\"tlsTrustStorePassword\":\"long-enough\"}", Reasons.MetadataMalformed, "tlsKeyStorePassword is missing")]
    [InlineData("{\"tlsStoreRootPath\":\"/tls\",\"tlsKeyStoreName\":\"../x\",\"tlsKeyStorePassword\":\"long-enough\",\"tlsTrustStorePassword\":\"long-enough\"}", Reasons.MetadataMalformed, "tlsKeyStoreName must be a file name")]
    public async Task Malformed_metadata_is_reported_and_never_echoes_values(string? json, string reason, string message)
    {
        var ns = ClusterFixture.NewNamespace();
        fx.Metadata.Set(ns, "notary-metadata", json);
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api").ApplyAsync(Cert(F("api", ns)), V(1));
        var ks = await fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/api").ApplyAsync(new KeystoreSpec { Fqdn = F("api", ns), CertName = "api" }, V(1));

        var ready = ks.Condition(Conditions.Ready)!;
        Assert.Equal(reason, ready.Reason);
        Assert.Contains($"Secret {ns}/notary-metadata", ready.Message, StringComparison.Ordinal);
        Assert.Contains(message, ready.Message, StringComparison.Ordinal);
        AssertWarning(new ResourceKey(ns, "api"), ResourceKind.Keystore, reason);
        // Values that cannot occur in a namespace or a message by chance (namespaces are lowercase hex).
        Assert.DoesNotContain("Zq9", ready.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("long-enough", ready.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keystore_of_a_missing_certificate_and_fqdn_mismatch()
    {
        var ns = ClusterFixture.NewNamespace();
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        var missing = await fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/ghost").ApplyAsync(new KeystoreSpec { Fqdn = F("ghost", ns), CertName = "ghost" }, V(1));
        Assert.Equal(Reasons.CertificateNotFound, missing.Condition(Conditions.Ready)!.Reason);
        Assert.Contains($"Certificate {ns}/ghost does not exist", missing.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        AssertWarning(new ResourceKey(ns, "ghost"), ResourceKind.Keystore, Reasons.CertificateNotFound);

        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api").ApplyAsync(Cert(F("api", ns)), V(1));
        var mismatch = await fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/api").ApplyAsync(new KeystoreSpec { Fqdn = "wrong.example", CertName = "api" }, V(1));
        Assert.Equal(Reasons.FqdnMismatch, mismatch.Condition(Conditions.Ready)!.Reason);
        Assert.Contains($"\"wrong.example\" does not match Certificate {ns}/api, whose fqdn is \"{F("api", ns)}\"", mismatch.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        AssertWarning(new ResourceKey(ns, "api"), ResourceKind.Keystore, Reasons.FqdnMismatch);

        // The missing certificate appears: the waiting keystore becomes Ready by itself.
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/ghost").ApplyAsync(Cert(F("ghost", ns)), V(1));
        await fx.Status.WaitReadyAsync(ResourceKind.Keystore, new ResourceKey(ns, "ghost"));
    }

    [Fact]
    public async Task Ambiguous_tag_and_truststore_fqdn_mismatch()
    {
        var ns = ClusterFixture.NewNamespace();
        var a = ClusterFixture.NewNamespace();
        var b = ClusterFixture.NewNamespace();
        var tag = "shared-" + ns;
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/me").ApplyAsync(Cert(F("me", ns)), V(1));
        await fx.Grains.GetGrain<ICertificateGrain>($"{a}/{tag}").ApplyAsync(Cert(F(tag, a)), V(1));
        await fx.Grains.GetGrain<ICertificateGrain>($"{b}/{tag}").ApplyAsync(Cert(F(tag, b)), V(1));

        var ambiguous = await fx.Grains.GetGrain<ITruststoreGrain>($"{ns}/me").ApplyAsync(new TruststoreSpec
        {
            Fqdn = F("me", ns), CertName = "me", Downstream = [new TrustReference { Tag = tag, Fqdn = F(tag, a) }],
        }, V(1));
        var ready = ambiguous.Condition(Conditions.Ready)!;
        Assert.Equal(Reasons.AmbiguousReference, ready.Reason);
        Assert.Contains($"spec.downstream[0]: Certificate \"{tag}\" exists in several namespaces", ready.Message, StringComparison.Ordinal);
        Assert.Contains(a, ready.Message, StringComparison.Ordinal);
        Assert.Contains(b, ready.Message, StringComparison.Ordinal);
        AssertWarning(new ResourceKey(ns, "me"), ResourceKind.Truststore, Reasons.AmbiguousReference);

        // One of the two goes away: the reference is unique again and the store is built.
        await fx.Grains.GetGrain<ICertificateGrain>($"{b}/{tag}").DeleteAsync();
        await fx.Status.WaitReadyAsync(ResourceKind.Truststore, new ResourceKey(ns, "me"));

        var mismatch = await fx.Grains.GetGrain<ITruststoreGrain>($"{ns}/me").ApplyAsync(new TruststoreSpec
        {
            Fqdn = F("me", ns), CertName = "me", Downstream = [new TrustReference { Tag = tag, Fqdn = "not-it.example" }],
        }, V(2));
        Assert.Equal(Reasons.FqdnMismatch, mismatch.Condition(Conditions.Ready)!.Reason);
        Assert.Contains("spec.downstream[0]: fqdn \"not-it.example\"", mismatch.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);
        AssertWarning(new ResourceKey(ns, "me"), ResourceKind.Truststore, Reasons.FqdnMismatch);
    }

    [Fact]
    public async Task A_failed_attempt_never_replaces_the_last_good_store()
    {
        var ns = ClusterFixture.NewNamespace();
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api").ApplyAsync(Cert(F("api", ns)), V(1));
        var ks = fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/api");
        var good = await ks.ApplyAsync(new KeystoreSpec { Fqdn = F("api", ns), CertName = "api" }, V(1));
        Assert.True(good.IsReady);
        var goodWrite = fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api"));

        // Broken metadata: not ready, the stored keystore untouched, the location kept.
        fx.Metadata.Set(ns, "notary-metadata", "{broken");
        await fx.Grains.GetGrain<IMetadataSecretGrain>($"{ns}/notary-metadata").ChangedAsync();
        var broken = await fx.Status.WaitReasonAsync(ResourceKind.Keystore, new ResourceKey(ns, "api"), Reasons.MetadataMalformed);
        Assert.Same(goodWrite, fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api")));
        Assert.Equal(good.Location, broken.Location);

        // The store itself failing: same guarantee.
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        fx.Store.Fail = true;
        try
        {
            var failed = await ks.ApplyAsync(new KeystoreSpec { Fqdn = F("api", ns), CertName = "api", Format = "JKS" }, V(2));
            Assert.Equal(Reasons.StoreFailed, failed.Condition(Conditions.Ready)!.Reason);
            Assert.Same(goodWrite, fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api")));
            AssertWarning(new ResourceKey(ns, "api"), ResourceKind.Keystore, Reasons.StoreFailed);
        }
        finally
        {
            fx.Store.Fail = false;
        }

        // Once the store is back, the retry writes generation 2 by itself.
        await fx.Status.WaitStoreAsync(ResourceKind.Keystore, new ResourceKey(ns, "api"), s => s.IsReady && s.ObservedGeneration == 2, "retried");
        goodWrite = fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api"));
        Assert.Equal("keystore.jks", goodWrite!.PrimaryFileName);

        // An issuer failure on re-issue keeps the current certificate and every store.
        fx.Issuer.Fail = true;
        try
        {
            var before = await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api").GetStatusAsync();
            var failed = await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api").ReissueAsync("test");
            Assert.True(failed.IsReady, "the current certificate is still valid");
            Assert.Equal(Conditions.False, failed.Condition(Conditions.Issuing)!.Status);
            Assert.Equal(Reasons.IssueFailed, failed.Condition(Conditions.Issuing)!.Reason);
            AssertWarning(new ResourceKey(ns, "api"), ResourceKind.Certificate, Reasons.IssueFailed);
            Assert.Equal(before!.SerialNumber, failed.SerialNumber);
            Assert.Equal(1, failed.Revision);
            Assert.Same(goodWrite, fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "api")));
        }
        finally
        {
            fx.Issuer.Fail = false;
        }
    }
}
