using System.Globalization;
using Notary.EndToEnd.Tests.Aws;
using Notary.EndToEnd.Tests.Redis;
using Notary.Pki;
using Notary.Pki.Tests.Support;

namespace Notary.EndToEnd.Tests.Surface;

/// <summary>
/// <c>run</c> mode against an API server (DevCluster through its kubeconfig, as a real cluster):
/// the HTTP API serves HTTPS with a certificate from Notary's CA for its Service's names, and the
/// CA certificate callers need is published in the ConfigMap notary-ca. Checked by OpenSSL and
/// curl, which know nothing of Notary.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ApiTlsTests
{
    private const string Service = "notary-api";
    private const string Host = $"{Service}.notary.svc";

    [Fact]
    public async Task The_API_serves_HTTPS_that_OpenSSL_verifies_against_the_published_CA_for_the_Service_names_only()
    {
        await using var cluster = await StandaloneCluster.StartAsync();
        await MultiSiloRedisTests.NamespacesAsync(cluster, "tls");
        await using var silo = SiloProcess.Start(cluster.Kubeconfig, new Dictionary<string, string?>
        {
            ["Notary:Tls:Api"] = "true",
            ["Notary:Tls:ServiceName"] = Service,
        }, new Dictionary<string, string?>());

        // The CA certificate callers trust, published by Notary (no key in it).
        var caPem = await RealBreachFixture.UntilAsync(
            async () => (await DevFixture.RunKubectlAsync(cluster.Kubeconfig, Path.Combine(cluster.Root, "kube-cache"), "get", "configmap", "notary-ca", "-n", "notary", "-o", "jsonpath={.data.ca\\.crt}")).StdOut,
            pem => pem.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal),
            "Notary to publish its CA certificate", seconds: 120);
        Assert.DoesNotContain("PRIVATE KEY", caPem, StringComparison.Ordinal);
        var caFile = Path.Combine(cluster.Root, "ca.pem");
        await File.WriteAllTextAsync(caFile, caPem);
        // It is the CA of the CA Secret (the built-in root signs itself: the signing CA is the root).
        var secretCa = await cluster.OkAsync("get", "secret", "notary-ca", "-n", "notary", "-o", "jsonpath={.data.tls\\.crt}");
        Assert.Equal(System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(secretCa)).Trim(), caPem.Trim());

        var port = silo.ApiPort.ToString(CultureInfo.InvariantCulture);
        var verified = await RealBreachFixture.UntilAsync(
            () => SClientAsync(port, caFile, Host),
            r => r.ExitCode == 0,
            "the HTTPS API to accept a verified handshake", seconds: 120);
        Assert.Contains("Verify return code: 0 (ok)", verified.StdOut, StringComparison.Ordinal);
        foreach (var name in new[] { $"{Service}.notary", $"{Service}.notary.svc.cluster.local" })
        {
            var other = await SClientAsync(port, caFile, name);
            Assert.True(other.ExitCode == 0, $"{name}: {other}");
        }

        // Another name, or another CA (even one with the same name), fails verification; so does
        // the bare Service name, which any tenant may obtain from the same CA.
        var wrongName = await SClientAsync(port, caFile, "orders.shop.svc");
        Assert.NotEqual(0, wrongName.ExitCode);
        var bareName = await SClientAsync(port, caFile, Service);
        Assert.NotEqual(0, bareName.ExitCode);
        using var otherCa = CertificateAuthority.CreateRoot("Notary Built-in Root CA", TimeSpan.FromDays(1), DateTimeOffset.UtcNow);
        var otherCaFile = Path.Combine(cluster.Root, "other-ca.pem");
        await File.WriteAllTextAsync(otherCaFile, otherCa.CertificatePem);
        var wrongCa = await SClientAsync(port, otherCaFile, Host);
        Assert.NotEqual(0, wrongCa.ExitCode);

        // An HTTP request over it, as a caller in the cluster makes it (the name resolved to the pod).
        var curl = await ToolRunner.RunAsync("curl", "-sS", "--fail", "--cacert", caFile, "--resolve", $"{Host}:{port}:127.0.0.1", $"https://{Host}:{port}/healthz");
        Assert.True(curl.ExitCode == 0, curl.ToString());

        // No plaintext on the same port.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz")));
        Assert.False(silo.HasExited, silo.RecentOutput);
    }

    private static Task<ToolResult> SClientAsync(string port, string caFile, string hostname) =>
        ToolRunner.RunAsync(
            "openssl",
            ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", Host, "-CAfile", caFile, "-verify_return_error", "-verify_hostname", hostname],
            standardInput: string.Empty,
            timeout: TimeSpan.FromSeconds(20));
}
