using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Notary.Grains.Abstractions;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>
/// Trust sources through the TruststoreGrain: a ConfigMap source's certificates are entries and in
/// ca.crt; a source that goes missing makes the store Ready=False/SourceInvalid naming it and the
/// stored store keeps its last contents; a fixed source brings it back.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class TrustSourceTests(ClusterFixture fx)
{
    private static ResourceVersionInfo V(long generation) => new("uid-1", generation);

    private static string F(string name, string ns) => $"{name}.{ns}.svc.cluster.local";

    private static string SelfSigned(string cn)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return certificate.ExportCertificatePem() + "\n";
    }

    private string CaCrt(ResourceKey truststore) => Encoding.ASCII.GetString(fx.Store.Get(ResourceKind.Truststore, truststore)!.Files["ca.crt"]);

    [Fact]
    public async Task A_ConfigMap_source_is_trusted_and_a_missing_one_is_SourceInvalid_keeping_the_last_contents()
    {
        var ns = ClusterFixture.NewNamespace();
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("ks-secret-1", "ts-secret-1"));
        Assert.True((await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/me").ApplyAsync(new CertificateSpec { Type = "Private", Fqdn = F("me", ns), KeyAlgorithm = "ECDSA", KeySize = 256 }, V(1))).IsReady);
        var partner = SelfSigned("Partner Root CA");
        fx.TrustSources.Set(ns, TrustSourceKinds.ConfigMap, "partner-ca", "ca.pem", partner);
        var spec = new TruststoreSpec
        {
            Fqdn = F("me", ns),
            CertName = "me",
            Sources = [new TrustSourceSpec { Kind = TrustSourceKinds.ConfigMap, Name = "partner-ca", Key = "ca.pem" }],
        };
        var key = new ResourceKey(ns, "me");
        var grain = fx.Grains.GetGrain<ITruststoreGrain>(key.ToString());

        var built = await grain.ApplyAsync(spec, V(1));

        Assert.True(built.IsReady, built.Condition(Conditions.Ready)?.Message);
        Assert.Equal(2, built.Entries.Count);
        Assert.StartsWith("source-configmap-partner-ca-", built.Entries[1], StringComparison.Ordinal);
        Assert.Contains(partner.Trim(), CaCrt(key), StringComparison.Ordinal);
        var stored = fx.Store.Get(ResourceKind.Truststore, key)!.Files["ca.crt"];

        // The source goes (no watcher yet: the next reconcile reads it again).
        fx.TrustSources.Remove(ns, TrustSourceKinds.ConfigMap, "partner-ca");
        var invalid = await grain.ApplyAsync(spec, V(1));

        var ready = invalid.Condition(Conditions.Ready)!;
        Assert.Equal(Conditions.False, ready.Status);
        Assert.Equal(Reasons.SourceInvalid, ready.Reason);
        Assert.Contains($"source #1 (configMap partner-ca, key ca.pem): ConfigMap {ns}/partner-ca does not exist", ready.Message, StringComparison.Ordinal);
        Assert.Equal(built.Entries, invalid.Entries);
        Assert.Equal(stored, fx.Store.Get(ResourceKind.Truststore, key)!.Files["ca.crt"]);

        // Fixed with another CA: rebuilt with it, the old one gone.
        var other = SelfSigned("Partner Root CA 2");
        fx.TrustSources.Set(ns, TrustSourceKinds.ConfigMap, "partner-ca", "ca.pem", other);
        var fixedStatus = await grain.ApplyAsync(spec, V(1));

        Assert.True(fixedStatus.IsReady, fixedStatus.Condition(Conditions.Ready)?.Message);
        Assert.NotEqual(built.Entries[1], fixedStatus.Entries[1]);
        Assert.Contains(other.Trim(), CaCrt(key), StringComparison.Ordinal);
        Assert.DoesNotContain(partner.Trim(), CaCrt(key), StringComparison.Ordinal);
    }
}
