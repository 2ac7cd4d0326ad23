using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Issuers;
using Notary.Pki;
using Notary.Silo.Tls;

namespace Notary.EndToEnd.Tests.Surface;

/// <summary>
/// The silo port of a running Notary (dev mode's silo, which uses the same mutual TLS as the
/// production silos) against outsiders, with real TCP and TLS connections: a plain client sending
/// an Orleans-style preamble, a TLS client without a certificate, with a certificate for the silo
/// name from another CA (same CA name, other key), and with a tenant's certificate from Notary's
/// own CA. Each is disconnected; a client with a silo certificate from Notary's CA is kept.
/// </summary>
[Collection(DevCollection.Name)]
[Trait("Category", "Slow")]
public sealed class SiloTlsTests(DevFixture fx)
{
    private static readonly KeySpec Key = new(KeyAlgorithm.Ecdsa, 256);

    private int SiloPort => fx.Dev.App.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.Endpoint.Port;

    private string SiloName => fx.Dev.App.Services.GetRequiredService<SiloCertificate>().Holder.Name;

    /// <summary>What Notary asks its CA for as a silo certificate (silo name and silo URI), for dev mode's namespace.</summary>
    private LeafRequest SiloRequest => PeerCertificates.SiloRequest(SiloName["notary-silo.".Length..^".svc".Length], TimeSpan.FromDays(1), Key);

    [Fact]
    public async Task A_plain_TCP_client_sending_a_preamble_is_disconnected_without_an_answer()
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", SiloPort);
        var stream = client.GetStream();
        // What an Orleans connection opens with: a length, then the serialized preamble (here a
        // plausible one: the silo must not get as far as reading it).
        byte[] preamble = [0x2a, 0, 0, 0, .. "orleans-preamble:protocol=1;cluster=notary"u8];
        await stream.WriteAsync(preamble);
        var answer = await ReadAnswerAsync(stream);
        Assert.True(answer.Closed, "The silo kept a plain TCP connection open.");
        // Whatever came back is a TLS alert (content type 21), never an Orleans message.
        Assert.True(answer.Bytes.Length == 0 || answer.Bytes[0] == 0x15, $"The silo answered a plain client with {Convert.ToHexString(answer.Bytes)}.");
    }

    [Fact]
    public async Task A_TLS_client_without_a_certificate_is_refused()
    {
        await AGenuineSiloIsKeptAsync();
        Assert.True(await RefusedAsync(certificate: null), "A TLS client without a certificate was kept.");
    }

    [Fact]
    public async Task A_TLS_client_with_the_silo_name_from_another_CA_is_refused()
    {
        await AGenuineSiloIsKeptAsync();
        using var other = CertificateAuthority.CreateRoot(KubernetesCaName, TimeSpan.FromDays(30), DateTimeOffset.UtcNow);
        using var forged = Load(other.Issue(SiloRequest, DateTimeOffset.UtcNow));
        Assert.True(await RefusedAsync(forged), "A silo certificate from another CA was accepted.");
    }

    [Fact]
    public async Task A_TLS_client_with_a_tenants_certificate_from_Notarys_CA_is_refused_and_one_with_the_silo_name_is_kept()
    {
        var ca = await fx.Dev.App.Services.GetRequiredService<ICertificateAuthoritySource>().GetAsync(CancellationToken.None);
        using var tenant = Load(ca.Issue(new LeafRequest("web.shop.svc", [], TimeSpan.FromDays(1), Key), DateTimeOffset.UtcNow));
        Assert.True(await RefusedAsync(tenant), "A tenant's certificate from Notary's CA was accepted as a silo.");
        await AGenuineSiloIsKeptAsync();
    }

    /// <summary>
    /// A tenant's Certificate for the exact silo DNS name (e.g. created in Notary's namespace, or
    /// granted there by a CertificatePolicy) gets a certificate from Notary's CA through the
    /// built-in issuer, with only DNS names in it: without the silo URI it is no silo identity.
    /// </summary>
    [Fact]
    public async Task A_TLS_client_with_a_tenant_certificate_for_the_exact_silo_name_from_Notarys_CA_is_refused()
    {
        // Through the very issuer tenants' Certificates go through, for the silo's DNS name.
        var issuer = new BuiltInIssuer(fx.Dev.App.Services.GetRequiredService<ICertificateAuthoritySource>(), TimeProvider.System);
        var progress = await issuer.IssueAsync(new IssueRequest
        {
            Resource = new ResourceKey(SiloName["notary-silo.".Length..^".svc".Length], "impostor"),
            Origin = new ResourceVersionInfo("uid-impostor", 1),
            Type = "Private",
            Fqdn = SiloName,
            Lifetime = TimeSpan.FromDays(1),
            Key = new PrivateKeyRequest("ECDSA", 256),
        }, CancellationToken.None);
        var material = progress.Material!;
        using var ephemeral = X509Certificate2.CreateFromPem(material.CertificatePem, material.PrivateKeyPem);
        using var tenant = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
        Assert.Contains(SiloName, tenant.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
        Assert.True(await RefusedAsync(tenant), "A tenant's certificate for the silo name from Notary's CA was accepted as a silo.");
        await AGenuineSiloIsKeptAsync();
    }

    /// <summary>
    /// The control of every refusal: the same client with a silo certificate from Notary's CA is
    /// kept, so a refusal is the silo's verdict on the certificate, not a client that cannot talk
    /// TLS to it (or a silo that does not speak TLS at all).
    /// </summary>
    private async Task AGenuineSiloIsKeptAsync()
    {
        var ca = await fx.Dev.App.Services.GetRequiredService<ICertificateAuthoritySource>().GetAsync(CancellationToken.None);
        using var silo = Load(ca.Issue(SiloRequest, DateTimeOffset.UtcNow));
        Assert.False(await RefusedAsync(silo), "A silo certificate from Notary's CA was refused.");
    }

    private const string KubernetesCaName = "Notary Built-in Root CA";

    /// <summary>
    /// Connects with TLS, presenting <paramref name="certificate"/>, and checks the silo's own
    /// certificate; true when the silo ends the connection (a failed handshake, an alert, or EOF
    /// right after it: with TLS 1.3 the server judges the client's certificate after the client
    /// considers the handshake done). A kept connection is one the silo leaves open, waiting for
    /// the Orleans preamble.
    /// </summary>
    private async Task<bool> RefusedAsync(X509Certificate2? certificate)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", SiloPort);
        // The silo must present its own certificate: Notary's CA, the silo name.
        var holder = fx.Dev.App.Services.GetRequiredService<SiloCertificate>().Holder;
        await using var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) =>
            presented is X509Certificate2 silo && PeerCertificates.IsSilo(silo, holder.Authority, SiloName, DateTimeOffset.UtcNow));
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = SiloName,
                ClientCertificates = certificate is null ? null : new X509CertificateCollection { certificate },
                LocalCertificateSelectionCallback = certificate is null ? null : (_, _, _, _, _) => certificate,
            });
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return true;
        }

        var answer = await ReadAnswerAsync(tls);
        return answer.Closed;
    }

    private static async Task<(bool Closed, byte[] Bytes)> ReadAnswerAsync(Stream stream)
    {
        var buffer = new byte[4096];
        var received = new MemoryStream();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, wait.Token);
                if (read == 0)
                {
                    return (true, received.ToArray());
                }

                received.Write(buffer, 0, read);
            }
        }
        catch (OperationCanceledException)
        {
            return (false, received.ToArray());
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException)
        {
            return (true, received.ToArray());
        }
    }

    private static X509Certificate2 Load(IssuedCertificate issued)
    {
        using var ephemeral = X509Certificate2.CreateFromPem(issued.CertificatePem, issued.PrivateKeyPem);
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
    }
}
