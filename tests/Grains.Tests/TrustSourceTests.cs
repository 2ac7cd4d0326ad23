using System.Diagnostics;
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

    /// <summary>
    /// Decision (issue 18 §2): a source never puts back a certificate a Breach quarantines. A
    /// ConfigMap filled with a peer's certificate (copied from another store's ca.crt) would
    /// otherwise bring the quarantined peer back as a source entry: it is withheld, the status says
    /// so, and it returns with the lift.
    /// </summary>
    [Fact]
    public async Task A_source_holding_a_quarantined_peers_certificate_does_not_put_it_back_and_the_status_says_so()
    {
        var ns = ClusterFixture.NewNamespace();
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("ks-secret-1", "ts-secret-1"));
        var certificates = new Dictionary<string, ICertificateGrain>(StringComparer.Ordinal);
        foreach (var name in new[] { "me", "pay" })
        {
            certificates[name] = fx.Grains.GetGrain<ICertificateGrain>($"{ns}/{name}");
            Assert.True((await certificates[name].ApplyAsync(new CertificateSpec { Type = "Private", Fqdn = F(name, ns), KeyAlgorithm = "ECDSA", KeySize = 256 }, V(1))).IsReady);
        }

        var pay = (await certificates["pay"].GetSnapshotAsync()).Material!.CertificatePem;
        var partner = SelfSigned("Partner Root CA");
        fx.TrustSources.Set(ns, TrustSourceKinds.ConfigMap, "copied", "ca.pem", pay + "\n" + partner);
        var spec = new TruststoreSpec
        {
            Fqdn = F("me", ns),
            CertName = "me",
            Upstream = [new TrustReference { Tag = "pay", Fqdn = F("pay", ns), Namespace = ns }],
            Sources = [new TrustSourceSpec { Kind = TrustSourceKinds.ConfigMap, Name = "copied", Key = "ca.pem" }],
        };
        var key = new ResourceKey(ns, "me");

        // pay is trusted once (as the peer it is), the partner CA as a source.
        var built = await fx.Grains.GetGrain<ITruststoreGrain>(key.ToString()).ApplyAsync(spec, V(1));
        Assert.True(built.IsReady, built.Condition(Conditions.Ready)?.Message);
        Assert.Equal([$"me.{ns}", $"pay.{ns}", $"source-configmap-copied-{Hash(partner)}"], built.Entries);
        Assert.Null(built.Condition(Conditions.SourceCertificatesWithheld));

        // Quarantined: pay leaves, and the source's copy of it does not take its place.
        await certificates["pay"].HoldQuarantineAsync($"{ns}/b1", true, "leaked");
        var held = await fx.Status.WaitStoreAsync(ResourceKind.Truststore, key, s => !s.Entries.Contains($"pay.{ns}"), "pay quarantined out of the store");
        Assert.Equal([$"me.{ns}", $"source-configmap-copied-{Hash(partner)}"], held.Entries);
        Assert.DoesNotContain(pay.Trim(), CaCrt(key), StringComparison.Ordinal);
        var withheld = held.Condition(Conditions.SourceCertificatesWithheld)!;
        Assert.Equal((Conditions.True, Reasons.QuarantinedCertificate), (withheld.Status, withheld.Reason));
        Assert.Contains($"source-configmap-copied-{Hash(pay)} (the certificate of {ns}/pay)", withheld.Message, StringComparison.Ordinal);
        Assert.True(held.IsReady, held.Condition(Conditions.Ready)?.Message);

        // Lifted: pay is back as the peer, and the condition is gone.
        await certificates["pay"].HoldQuarantineAsync($"{ns}/b1", false, "lifted");
        var back = await fx.Status.WaitStoreAsync(ResourceKind.Truststore, key, s => s.Entries.Contains($"pay.{ns}"), "pay back after the lift");
        Assert.Equal(built.Entries, back.Entries);
        Assert.Null(back.Condition(Conditions.SourceCertificatesWithheld));
    }

    private static string Hash(string pem) =>
        Convert.ToHexStringLower(SHA256.HashData(X509Certificate2.CreateFromPem(pem).RawData))[..12];

    [Fact]
    public async Task A_java_client_trusting_a_ConfigMap_source_accepts_a_server_of_that_external_CA_and_refuses_another_CA()
    {
        var dir = Directory.CreateTempSubdirectory("notary-source-");
        try
        {
            var partnerCa = await ServerOfNewCaAsync(dir.FullName, "partner");
            await ServerOfNewCaAsync(dir.FullName, "stranger");
            var ns = ClusterFixture.NewNamespace();
            fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json("ks-secret-1", "ts-secret-1"));
            Assert.True((await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/me").ApplyAsync(new CertificateSpec { Type = "Private", Fqdn = F("me", ns), KeyAlgorithm = "ECDSA", KeySize = 256 }, V(1))).IsReady);
            fx.TrustSources.Set(ns, TrustSourceKinds.ConfigMap, "partner-ca", "ca.pem", partnerCa);
            var status = await fx.Grains.GetGrain<ITruststoreGrain>($"{ns}/me").ApplyAsync(new TruststoreSpec
            {
                Fqdn = F("me", ns),
                CertName = "me",
                Sources = [new TrustSourceSpec { Kind = TrustSourceKinds.ConfigMap, Name = "partner-ca", Key = "ca.pem" }],
            }, V(1));
            Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
            var stored = fx.Store.Get(ResourceKind.Truststore, new ResourceKey(ns, "me"))!;
            var truststore = Path.Combine(dir.FullName, "truststore.p12");
            await File.WriteAllBytesAsync(truststore, stored.Files["truststore.p12"]);

            var accepted = await RunAsync(dir.FullName, "java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", Path.Combine(AppContext.BaseDirectory, "java", "SourceHandshake.java"), "partner.p12", "changeit", truststore, "ts-secret-1");
            var refused = await RunAsync(dir.FullName, "java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", Path.Combine(AppContext.BaseDirectory, "java", "SourceHandshake.java"), "stranger.p12", "changeit", truststore, "ts-secret-1");

            Assert.True(accepted.ExitCode == 0 && accepted.Output.Contains("HANDSHAKE OK CN=partner.example", StringComparison.Ordinal), accepted.Output);
            Assert.True(refused.ExitCode != 0 && refused.Output.Contains("CLIENT FAILED: javax.net.ssl.SSLHandshakeException: PKIX path building failed", StringComparison.Ordinal), refused.Output);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>With openssl: a CA "{name}-ca.pem" and a server PKCS12 "{name}.p12" (password changeit) for {name}.example signed by it; answers the CA's PEM.</summary>
    private static async Task<string> ServerOfNewCaAsync(string dir, string name)
    {
        await File.WriteAllTextAsync(Path.Combine(dir, $"{name}.ext"), $"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:{name}.example\n");
        await OkAsync(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", $"{name}-ca.key", "-out", $"{name}-ca.pem", "-subj", $"/CN={name} external root", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        await OkAsync(dir, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", $"{name}.key", "-out", $"{name}.csr", "-subj", $"/CN={name}.example");
        await OkAsync(dir, "openssl", "x509", "-req", "-in", $"{name}.csr", "-CA", $"{name}-ca.pem", "-CAkey", $"{name}-ca.key", "-CAcreateserial", "-out", $"{name}.pem", "-days", "30", "-extfile", $"{name}.ext");
        await OkAsync(dir, "openssl", "pkcs12", "-export", "-inkey", $"{name}.key", "-in", $"{name}.pem", "-certfile", $"{name}-ca.pem", "-out", $"{name}.p12", "-passout", "pass:changeit");
        return await File.ReadAllTextAsync(Path.Combine(dir, $"{name}-ca.pem"));
    }

    private static async Task OkAsync(string dir, string tool, params string[] arguments)
    {
        var run = await RunAsync(dir, tool, arguments);
        Assert.True(run.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: {run.Output}");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string dir, string tool, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }
}
