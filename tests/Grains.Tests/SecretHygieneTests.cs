using Notary.Grains.Abstractions;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>No password, private key or store byte in any log line, status or event.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class SecretHygieneTests(ClusterFixture fx)
{
    [Fact]
    public async Task A_full_flow_logs_no_password_key_or_store_bytes()
    {
        var ns = ClusterFixture.NewNamespace();
        const string keyPassword = "Kp-7f3a9c1e-secret";
        const string trustPassword = "Tp-4b8d2e6f-secret";
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json(keyPassword, trustPassword));
        string F(string n) => $"{n}.{ns}.svc.cluster.local";
        foreach (var name in new[] { "a", "b" })
        {
            await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/{name}").ApplyAsync(new CertificateSpec { Type = "Private", Fqdn = F(name) }, new ResourceVersionInfo("u", 1));
        }

        await fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/a").ApplyAsync(new KeystoreSpec { Fqdn = F("a"), CertName = "a" }, new ResourceVersionInfo("u", 1));
        await fx.Grains.GetGrain<ITruststoreGrain>($"{ns}/a").ApplyAsync(new TruststoreSpec
        {
            Fqdn = F("a"), CertName = "a", Upstream = [new TrustReference { Tag = "b", Fqdn = F("b"), Namespace = ns }],
        }, new ResourceVersionInfo("u", 1));
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/b").ReissueAsync("rotation test");
        await fx.Status.WaitStoreAsync(ResourceKind.Truststore, new ResourceKey(ns, "a"), s => s.IsReady && s.CertificateRevisions[$"{ns}/b"] == 2, "rebuilt");
        // Failing paths too: issuer and store errors, and broken metadata reported without its content.
        fx.Issuer.Fail = true;
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/a").ReissueAsync("failure path");
        fx.Issuer.Fail = false;
        fx.Store.Fail = true;
        await fx.Grains.GetGrain<ITruststoreGrain>($"{ns}/a").ApplyAsync(new TruststoreSpec { Fqdn = F("a"), CertName = "a" }, new ResourceVersionInfo("u", 2));
        fx.Store.Fail = false;
        await fx.Status.WaitReadyAsync(ResourceKind.Truststore, new ResourceKey(ns, "a"));
        fx.Metadata.Set(ns, "notary-metadata", "{\"tlsKeyStorePassword\":\"" + keyPassword + "\"");
        await fx.Grains.GetGrain<IMetadataSecretGrain>($"{ns}/notary-metadata").ChangedAsync();
        await fx.Status.WaitReasonAsync(ResourceKind.Keystore, new ResourceKey(ns, "a"), Reasons.MetadataMalformed);

        var keystore = fx.Store.Get(ResourceKind.Keystore, new ResourceKey(ns, "a"))!;
        var keyPem = Bytes.Utf8(keystore.Files["tls.key"]);
        var keyBody = string.Concat(keyPem.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal))).Trim();
        var storeBase64 = Convert.ToBase64String(keystore.Files["keystore.p12"]);
        // Slices from the middle: the start of a PKCS#8 key or a PKCS#12 file is a fixed header.
        string Middle(string text) => text.Substring(text.Length / 2, 32);
        var forbidden = new[] { keyPassword, trustPassword, Middle(keyBody), keyBody[^32..], Middle(storeBase64) };

        var statuses = new object?[]
        {
            fx.Status.Store(ResourceKind.Keystore, new ResourceKey(ns, "a")),
            fx.Status.Store(ResourceKind.Truststore, new ResourceKey(ns, "a")),
            fx.Status.Certificate(new ResourceKey(ns, "a")),
            fx.Status.Certificate(new ResourceKey(ns, "b")),
        };
        var published = fx.Events.For(new ResourceKey(ns, "a")).Select(e => e.Message)
            .Concat(fx.Events.For(new ResourceKey(ns, "b")).Select(e => e.Message))
            .Concat(statuses.Select(s => System.Text.Json.JsonSerializer.Serialize(s)));
        Assert.Contains(fx.Events.For(new ResourceKey(ns, "a")), e => e.Reason == Reasons.IssueFailed);
        Assert.Contains(fx.Events.For(new ResourceKey(ns, "a")), e => e.Reason == Reasons.StoreFailed);
        var lines = fx.Logs.Lines.Concat(published).ToList();
        Assert.NotEmpty(fx.Logs.Lines);
        Assert.Contains(fx.Logs.Lines, l => l.Contains($"{ns}/a", StringComparison.Ordinal));
        foreach (var secret in forbidden)
        {
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }
}
