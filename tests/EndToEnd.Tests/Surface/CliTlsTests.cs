using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Notary.Cli;
using Notary.Pki;

namespace Notary.EndToEnd.Tests.Surface;

/// <summary>
/// The breach CLI's <c>--ca-file</c>: its HTTP client trusts exactly the CA in the file (and still
/// checks the server's name), against a real Kestrel HTTPS server.
/// </summary>
[Trait("Category", "Slow")]
public sealed class CliTlsTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("notary-cli-tls-").FullName;
    private readonly CertificateAuthority _ca = CertificateAuthority.CreateRoot("Notary Built-in Root CA", TimeSpan.FromDays(1), DateTimeOffset.UtcNow);
    private readonly int _port = FreePorts.Next();
    private WebApplication _server = null!;

    public async Task InitializeAsync()
    {
        var issued = _ca.Issue(new LeafRequest("localhost", [], TimeSpan.FromHours(1), new KeySpec(KeyAlgorithm.Ecdsa, 256)), DateTimeOffset.UtcNow);
        using var ephemeral = X509Certificate2.CreateFromPem(issued.CertificatePem, issued.PrivateKeyPem);
        var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, _port, l => l.UseHttps(certificate)));
        _server = builder.Build();
        _server.MapGet("/healthz", () => Results.Text("Healthy"));
        await _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _ca.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task The_client_trusts_the_CA_file_and_nothing_else()
    {
        var caFile = Path.Combine(_root, "ca.pem");
        await File.WriteAllTextAsync(caFile, _ca.CertificatePem);
        using (var trusting = new HttpClient(CliTls.Handler(caFile)))
        {
            Assert.Equal("Healthy", await trusting.GetStringAsync(new Uri($"https://localhost:{_port}/healthz")));
            // The name is still checked: the certificate does not name 127.0.0.1.
            await Assert.ThrowsAsync<HttpRequestException>(() => trusting.GetStringAsync(new Uri($"https://127.0.0.1:{_port}/healthz")));
        }

        using var other = CertificateAuthority.CreateRoot("Notary Built-in Root CA", TimeSpan.FromDays(1), DateTimeOffset.UtcNow);
        var otherFile = Path.Combine(_root, "other.pem");
        await File.WriteAllTextAsync(otherFile, other.CertificatePem);
        using (var wrong = new HttpClient(CliTls.Handler(otherFile)))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => wrong.GetStringAsync(new Uri($"https://localhost:{_port}/healthz")));
        }

        // Without --ca-file the machine's roots decide, and they do not include Notary's CA.
        using var system = new HttpClient(CliTls.Handler(null));
        await Assert.ThrowsAsync<HttpRequestException>(() => system.GetStringAsync(new Uri($"https://localhost:{_port}/healthz")));
    }

    [Fact]
    public void Ca_file_comes_from_the_argument_else_NOTARY_CA_FILE_and_must_exist()
    {
        var caFile = Path.Combine(_root, "ca.pem");
        File.WriteAllText(caFile, _ca.CertificatePem);
        var (file, error) = CliTls.ResolveCaFile(caFile, name => name == "NOTARY_CA_FILE" ? "/elsewhere.pem" : null);
        Assert.Null(error);
        Assert.Equal(caFile, file);

        Assert.Equal(caFile, CliTls.ResolveCaFile(null, name => name == "NOTARY_CA_FILE" ? caFile : null).CaFile);
        Assert.Null(CliTls.ResolveCaFile(null, _ => null).CaFile);
        Assert.Contains("does not exist", CliTls.ResolveCaFile(Path.Combine(_root, "missing.pem"), _ => null).Error, StringComparison.Ordinal);
    }
}
