using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Notary.DevCluster;
using Notary.Silo.Tls;

namespace Notary.Silo.Tests.Tls;

/// <summary>
/// A host with the HTTPS API (as <c>run</c> serves it) against DevCluster: the certificate Kestrel
/// presents is the holder's current one, so a renewal is served from the next handshake on, with
/// no restart.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ApiCertificateRenewalTests
{
    [Fact]
    public async Task A_renewed_API_certificate_is_served_at_the_next_handshake_without_a_restart()
    {
        await using var cluster = await DevClusterServer.StartAsync(new DevClusterOptions { CrdDirectories = [NotaryHost.CrdDirectory] });
        var port = FreePorts.Next();
        await using var app = NotaryHost.Build(new NotaryHostSettings
        {
            Kubernetes = cluster.ClientConfiguration(),
            ApiPort = port,
            SiloPort = FreePorts.Next(),
            ApiTls = true,
            Configuration = new Dictionary<string, string?> { ["Notary:Tls:ServiceName"] = "notary-api" },
        });
        await app.StartAsync();
        try
        {
            var holder = app.Services.GetRequiredService<ApiCertificate>().Holder;
            using var first = await ServedAsync(port, holder);
            Assert.Equal(holder.Certificate.SerialNumber, first.SerialNumber);

            await app.Services.GetRequiredService<NotaryCertificates>().RenewDueAsync(force: true, CancellationToken.None);
            using var second = await ServedAsync(port, holder);
            Assert.NotEqual(first.SerialNumber, second.SerialNumber);
            Assert.Equal(holder.Certificate.SerialNumber, second.SerialNumber);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    /// <summary>The certificate the API presents to a client that checks it against Notary's CA and the Service's name.</summary>
    private static async Task<X509Certificate2> ServedAsync(int port, CertificateHolder holder)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        X509Certificate2? served = null;
        await using var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, errors) =>
        {
            served = certificate is null ? null : new X509Certificate2(certificate);
            return served is not null
                && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
                && PeerCertificates.ChainsTo(served, holder.Authority, DateTimeOffset.UtcNow);
        });
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "notary-api.notary.svc" });
        return served!;
    }
}
