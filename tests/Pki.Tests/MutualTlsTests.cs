using Notary.Pki.Tests.Support;

namespace Notary.Pki.Tests;

/// <summary>
/// A real TLS handshake in the JVM (java/MutualTls.java) between two services whose stores
/// Notary built: the server needs a client certificate, the client verifies the server's
/// hostname against its fqdn. Each run starts a JVM, so the cases are few and each asserts both
/// sides. Truststores are Pinned (the default) unless a case says Issuers: a certificate from
/// the same CA that the truststore does not list is refused.
/// </summary>
[Trait("Category", "Slow")]
public sealed class MutualTlsTests(InteropFixture pki) : IClassFixture<InteropFixture>
{
    private static readonly TimeSpan JavaTimeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(StoreFormat.Pkcs12)]
    [InlineData(StoreFormat.Jks)]
    public async Task Two_services_complete_mutual_tls_with_the_stores_notary_built(StoreFormat format)
    {
        using var dir = new TempDirectory();
        var a = Service(dir, format, "a", pki.RsaA, "ns-a", "svc-a", upstream: [Source(pki.B, "ns-b", "svc-b")]);
        var b = Service(dir, format, "b", pki.B, "ns-b", "svc-b", downstream: [Source(pki.RsaA, "ns-a", "svc-a")]);

        var run = await RunAsync(dir, format, server: a, client: b, expectedFqdn: InteropFixture.FqdnA);

        Assert.True(run.ExitCode == 0, run.ToString());
        AssertSays(run, $"HANDSHAKE OK CN={InteropFixture.FqdnA}");
        AssertSays(run, $"SERVER SAW CN={InteropFixture.FqdnB}");
    }

    [Theory]
    [InlineData(StoreFormat.Pkcs12)]
    [InlineData(StoreFormat.Jks)]
    public async Task A_client_from_the_same_ca_that_the_pinned_truststore_does_not_list_is_refused(StoreFormat format)
    {
        using var dir = new TempDirectory();
        var a = Service(dir, format, "a", pki.RsaA, "ns-a", "svc-a", upstream: [Source(pki.B, "ns-b", "svc-b")]);

        // svc-d has a certificate from svc-a's own CA and trusts svc-a, but svc-a does not list svc-d.
        var d = Service(dir, format, "d", pki.D, "ns-d", "svc-d", upstream: [Source(pki.RsaA, "ns-a", "svc-a")]);

        var run = await RunAsync(dir, format, server: a, client: d, expectedFqdn: InteropFixture.FqdnA);

        Assert.NotEqual(0, run.ExitCode);
        // svc-d sent its certificate (the server lists no acceptable issuers), and the server's
        // PKIX validation found no trust anchor for it: only svc-a's and svc-b's leaves are trusted.
        AssertSays(run, "SERVER FAILED: javax.net.ssl.SSLHandshakeException: PKIX path building failed");
        AssertNeverSays(run, "SERVER SAW");
        AssertNeverSays(run, "HANDSHAKE OK");
    }

    [Theory]
    [InlineData(StoreFormat.Pkcs12)]
    [InlineData(StoreFormat.Jks)]
    public async Task In_issuers_mode_the_unlisted_client_from_the_same_ca_is_accepted(StoreFormat format)
    {
        // The trade-off Issuers mode makes: trusting the CA trusts everything it signs.
        using var dir = new TempDirectory();
        var a = Service(dir, format, "a", pki.RsaA, "ns-a", "svc-a", upstream: [Source(pki.B, "ns-b", "svc-b")], mode: TrustMode.Issuers);
        var d = Service(dir, format, "d", pki.D, "ns-d", "svc-d", upstream: [Source(pki.RsaA, "ns-a", "svc-a")]);

        var run = await RunAsync(dir, format, server: a, client: d, expectedFqdn: InteropFixture.FqdnA);

        Assert.True(run.ExitCode == 0, run.ToString());
        AssertSays(run, $"SERVER SAW CN={InteropFixture.FqdnD}");
    }

    [Fact]
    public async Task A_java_server_with_default_settings_and_a_pinned_truststore_gets_no_client_certificate()
    {
        // Why the README tells Java servers with a Pinned truststore to disable the
        // certificate_authorities extension: by default the server names its pinned leaves as the
        // acceptable issuers, and the client's default key manager has no certificate issued by one.
        using var dir = new TempDirectory();
        var a = Service(dir, StoreFormat.Pkcs12, "a", pki.RsaA, "ns-a", "svc-a", upstream: [Source(pki.B, "ns-b", "svc-b")]);
        var b = Service(dir, StoreFormat.Pkcs12, "b", pki.B, "ns-b", "svc-b", downstream: [Source(pki.RsaA, "ns-a", "svc-a")]);

        var run = await RunAsync(dir, StoreFormat.Pkcs12, server: a, client: b, expectedFqdn: InteropFixture.FqdnA, jvm: ["-Djdk.tls.server.disableExtensions="]);

        Assert.NotEqual(0, run.ExitCode);
        AssertSays(run, "SERVER FAILED: javax.net.ssl.SSLHandshakeException: Empty client certificate chain");
    }

    [Fact]
    public async Task A_client_from_a_root_the_server_does_not_trust_is_refused()
    {
        using var dir = new TempDirectory();
        var a = Service(dir, StoreFormat.Pkcs12, "a", pki.EcA, "ns-a", "svc-a", upstream: [Source(pki.B, "ns-b", "svc-b")]);

        // svc-c trusts svc-a (so only the server's verdict can fail), but svc-a knows neither svc-c nor its root.
        var c = Service(dir, StoreFormat.Pkcs12, "c", pki.C, "ns-c", "svc-c", upstream: [Source(pki.EcA, "ns-a", "svc-a")]);

        var run = await RunAsync(dir, StoreFormat.Pkcs12, server: a, client: c, expectedFqdn: InteropFixture.FqdnA);

        Assert.NotEqual(0, run.ExitCode);
        // svc-c sends its certificate; the server finds no trust anchor for it.
        AssertSays(run, "SERVER FAILED: javax.net.ssl.SSLHandshakeException: PKIX path building failed");
        // The client sees either the alert or a broken pipe, depending on timing.
        AssertSays(run, "CLIENT FAILED: ");
        AssertNeverSays(run, "SERVER SAW");
    }

    [Fact]
    public async Task A_listed_server_presenting_a_certificate_for_another_name_is_refused()
    {
        using var dir = new TempDirectory();
        var a = Service(dir, StoreFormat.Jks, "a", pki.RsaA, "ns-a", "svc-a", upstream: [Source(pki.B, "ns-b", "svc-b")]);
        var b = Service(dir, StoreFormat.Jks, "b", pki.B, "ns-b", "svc-b", downstream: [Source(pki.RsaA, "ns-a", "svc-a")]);

        var run = await RunAsync(dir, StoreFormat.Jks, server: a, client: b, expectedFqdn: "svc-x.ns-a.svc.cluster.local");

        Assert.NotEqual(0, run.ExitCode);
        AssertSays(run, "CLIENT FAILED: javax.net.ssl.SSLHandshakeException: No subject alternative DNS name matching svc-x.ns-a.svc.cluster.local found");
        AssertNeverSays(run, "HANDSHAKE OK");
    }

    private static void AssertSays(ToolResult run, string text) =>
        Assert.True(run.StdOut.Contains(text, StringComparison.Ordinal), $"expected \"{text}\" in the output of MutualTls:\n{run}");

    private static void AssertNeverSays(ToolResult run, string text) =>
        Assert.False(run.StdOut.Contains(text, StringComparison.Ordinal), $"did not expect \"{text}\" in the output of MutualTls:\n{run}");

    private static TrustSource Source(IssuedCertificate certificate, string ns, string name) => TestPki.Source(ns, name, certificate);

    /// <summary>Writes one service's keystore and the truststore TruststorePolicy selects for it.</summary>
    private static ServiceStores Service(TempDirectory dir, StoreFormat format, string id, IssuedCertificate certificate, string ns, string name, TrustSource[]? upstream = null, TrustSource[]? downstream = null, TrustMode mode = TrustMode.Pinned)
    {
        var extension = Tools.Extension(format);
        var keystorePassword = $"keystore-{id}-secret";
        var truststorePassword = $"truststore-{id}-secret";
        var entries = TruststorePolicy.Select(Source(certificate, ns, name), upstream ?? [], downstream ?? [], mode);
        return new ServiceStores(
            dir.Write($"{id}-keystore.{extension}", StoreEncoder.BuildKeystore(format, name, certificate, keystorePassword)),
            keystorePassword,
            dir.Write($"{id}-truststore.{extension}", StoreEncoder.BuildTruststore(format, entries, truststorePassword)),
            truststorePassword);
    }

    private static Task<ToolResult> RunAsync(TempDirectory dir, StoreFormat format, ServiceStores server, ServiceStores client, string expectedFqdn, string[]? jvm = null)
    {
        var program = Path.Combine(AppContext.BaseDirectory, "java", "MutualTls.java");
        return ToolRunner.RunAsync(
            "java",
            [
                .. Tools.FastJvm,
                .. jvm ?? [],
                program, Tools.StoreType(format),
                server.Keystore, server.KeystorePassword, server.Truststore, server.TruststorePassword,
                client.Keystore, client.KeystorePassword, client.Truststore, client.TruststorePassword,
                expectedFqdn,
            ],
            dir.Path,
            JavaTimeout);
    }

    private sealed record ServiceStores(string Keystore, string KeystorePassword, string Truststore, string TruststorePassword);
}
