using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Notary.CustomResources;
using Notary.Grains;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;
using Notary.Silo.Tls;

namespace Notary.Silo.Tests.Tls;

/// <summary>
/// A rotation of the built-in root as two silos see it: both trust the current and the previous
/// root, so silos with certificates from either root keep talking (proven by mutual TLS handshakes).
/// </summary>
public sealed class BuiltInRootRotationTests : IDisposable
{
    private const string SiloName = "notary-silo.ops.svc";
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly CertificateAuthority _old = CertificateAuthority.CreateRoot("Notary Built-in Root CA", TimeSpan.FromDays(3650), Start - TimeSpan.FromDays(1));
    private readonly CertificateAuthority _new = CertificateAuthority.CreateRoot("Notary Built-in Root CA", TimeSpan.FromDays(3650), Start);
    private readonly RotatingAuthority _source;

    public BuiltInRootRotationTests() => _source = new RotatingAuthority(_old);

    public void Dispose()
    {
        _old.Dispose();
        _new.Dispose();
    }

    private NotaryCertificates Silo(SiloCertificate silo) => new(
        silo,
        new ApiCertificate(enabled: false),
        _source,
        Options.Create(new NotaryTlsOptions { CertificateLifetime = TimeSpan.FromDays(7) }),
        Options.Create(new NotaryKubernetesOptions { Namespace = "ops" }),
        Options.Create(new PolicyOptions()),
        _time,
        NullLogger<NotaryCertificates>.Instance);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Silos_with_certificates_from_the_previous_and_the_new_root_keep_talking_during_a_rotation()
    {
        SiloCertificate one = new(), two = new();
        await Silo(one).RenewDueAsync(force: true, CancellationToken.None);
        await Silo(two).RenewDueAsync(force: true, CancellationToken.None);
        var oneFromOld = one.Holder.Certificate;

        _source.Rotate(_new);
        await Silo(one).RenewDueAsync(force: false, CancellationToken.None);

        // Seen the new root: trusts both at once, still presents its certificate from the previous root.
        Assert.Same(oneFromOld, one.Holder.Certificate);
        Assert.Equal(_new.CertificatePem, one.Holder.Authority.RootPem);
        Assert.Equal([_old.CertificatePem], one.Holder.Authority.PreviousRootsPem);
        Assert.True(ChainsTo(one.Holder.Certificate, _old));
        Assert.Equal(Start + NotaryCertificates.RootChangeDelay, one.Holder.RenewAt);

        // After RootChangeDelay silo one presents a certificate from the new root; silo two
        // (slower) has only just seen the rotation and still presents the previous root's.
        _time.Advance(NotaryCertificates.RootChangeDelay);
        await Silo(one).RenewDueAsync(force: false, CancellationToken.None);
        await Silo(two).RenewDueAsync(force: false, CancellationToken.None);
        Assert.True(ChainsTo(one.Holder.Certificate, _new));
        Assert.True(ChainsTo(two.Holder.Certificate, _old));
        Assert.Equal([_old.CertificatePem], two.Holder.Authority.PreviousRootsPem);

        Assert.True(await HandshakeAsync(server: one.Holder, client: two.Holder));
        Assert.True(await HandshakeAsync(server: two.Holder, client: one.Holder));

        // Without the previous root (the behaviour before): the new-root silo refuses the old-root one.
        SiloCertificate newOnly = new();
        await new NotaryCertificates(newOnly, new ApiCertificate(enabled: false), new FixedAuthority(_new), Options.Create(new NotaryTlsOptions()),
            Options.Create(new NotaryKubernetesOptions { Namespace = "ops" }), Options.Create(new PolicyOptions()), _time, NullLogger<NotaryCertificates>.Instance)
            .RenewDueAsync(force: true, CancellationToken.None);
        Assert.Empty(newOnly.Holder.Authority.PreviousRootsPem);
        Assert.False(await HandshakeAsync(server: newOnly.Holder, client: two.Holder));
        Assert.False(await HandshakeAsync(server: two.Holder, client: newOnly.Holder));
    }

    [Fact]
    public void A_peer_from_an_unrelated_root_is_refused_even_during_a_rotation()
    {
        using var stranger = CertificateAuthority.CreateRoot("Notary Built-in Root CA", TimeSpan.FromDays(3650), Start);
        var key = new KeySpec(KeyAlgorithm.Ecdsa, 256);
        var authority = new NotaryAuthority(_new.ChainPem, [_old.CertificatePem]);
        var now = _time.GetUtcNow();

        using var fromNew = X509Certificate2.CreateFromPem(_new.Issue(PeerCertificates.SiloRequest("ops", TimeSpan.FromDays(1), key), now).CertificatePem);
        using var fromOld = X509Certificate2.CreateFromPem(_old.Issue(PeerCertificates.SiloRequest("ops", TimeSpan.FromDays(1), key), now).CertificatePem);
        using var fromStranger = X509Certificate2.CreateFromPem(stranger.Issue(PeerCertificates.SiloRequest("ops", TimeSpan.FromDays(1), key), now).CertificatePem);
        using var tenantFromOld = X509Certificate2.CreateFromPem(_old.Issue(new LeafRequest(SiloName, [], TimeSpan.FromDays(1), key), now).CertificatePem);

        Assert.True(PeerCertificates.IsSilo(fromNew, authority, SiloName, now));
        Assert.True(PeerCertificates.IsSilo(fromOld, authority, SiloName, now));
        Assert.False(PeerCertificates.IsSilo(fromStranger, authority, SiloName, now));
        Assert.False(PeerCertificates.IsSilo(tenantFromOld, authority, SiloName, now));
        Assert.False(PeerCertificates.IsSilo(fromOld, new NotaryAuthority(_new.ChainPem), SiloName, now));
    }

    [Fact]
    public void The_rotation_threshold_is_validated_with_what_to_set()
    {
        var validator = new BuiltInCaOptionsValidator();
        Assert.True(validator.Validate(null, new BuiltInCaOptions()).Succeeded);
        Assert.Equal(TimeSpan.FromDays(730), new BuiltInCaOptions().RotateBefore);
        var tooLong = validator.Validate(null, new BuiltInCaOptions { RotateBefore = TimeSpan.FromDays(3650) });
        Assert.True(tooLong.Failed);
        Assert.Contains("Notary__Ca__RotateBefore=730.00:00:00", tooLong.FailureMessage, StringComparison.Ordinal);
        Assert.True(validator.Validate(null, new BuiltInCaOptions { RotateBefore = TimeSpan.Zero }).Failed);
    }

    [Fact]
    public void The_check_interval_defaults_to_five_minutes_and_is_validated_with_what_to_set()
    {
        var validator = new BuiltInCaOptionsValidator();
        Assert.Equal(TimeSpan.FromMinutes(5), new BuiltInCaOptions().CheckInterval);
        Assert.True(validator.Validate(null, new BuiltInCaOptions { CheckInterval = TimeSpan.FromSeconds(1) }).Succeeded);
        foreach (var bad in new[] { TimeSpan.Zero, TimeSpan.FromMilliseconds(500), TimeSpan.FromHours(2) })
        {
            var result = validator.Validate(null, new BuiltInCaOptions { CheckInterval = bad });
            Assert.True(result.Failed, bad.ToString());
            Assert.Contains("Notary__Ca__CheckInterval=00:05:00", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    /// <summary>A mutual TLS handshake over loopback, each side deciding as <see cref="SiloTls"/> does.</summary>
    private async Task<bool> HandshakeAsync(CertificateHolder server, CertificateHolder client)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var tcpClient = new TcpClient();
        var connect = tcpClient.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var accepted = await listener.AcceptTcpClientAsync();
        await connect;
        await using var serverStream = new SslStream(accepted.GetStream(), false, (_, c, _, _) => c is X509Certificate2 peer && PeerCertificates.IsSilo(peer, server.Authority, server.Name, _time.GetUtcNow()));
        await using var clientStream = new SslStream(tcpClient.GetStream(), false, (_, c, _, _) => c is X509Certificate2 peer && PeerCertificates.IsSilo(peer, client.Authority, client.Name, _time.GetUtcNow()));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var serverSide = serverStream.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = server.Certificate,
            ClientCertificateRequired = true,
        }, timeout.Token);
        var clientSide = clientStream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = SiloName,
            ClientCertificates = [client.Certificate],
            LocalCertificateSelectionCallback = (_, _, _, _, _) => client.Certificate,
        }, timeout.Token);
        try
        {
            await Task.WhenAll(serverSide, clientSide);
            return serverStream.IsMutuallyAuthenticated;
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
        {
            return false;
        }
    }

    private bool ChainsTo(X509Certificate2 certificate, CertificateAuthority root) =>
        PeerCertificates.ChainsTo(certificate, new NotaryAuthority(root.ChainPem), _time.GetUtcNow());

    private sealed class FixedAuthority(CertificateAuthority authority) : ICertificateAuthoritySource
    {
        public Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken) => Task.FromResult(authority);
    }

    private sealed class RotatingAuthority(CertificateAuthority initial) : ICertificateAuthoritySource
    {
        private CertificateAuthority _current = initial;
        private IReadOnlyList<string> _previous = [];

        public void Rotate(CertificateAuthority next)
        {
            _previous = [_current.CertificatePem];
            _current = next;
        }

        public Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken) => Task.FromResult(_current);

        public Task<IReadOnlyList<string>> GetPreviousAsync(CancellationToken cancellationToken) => Task.FromResult(_previous);
    }
}
