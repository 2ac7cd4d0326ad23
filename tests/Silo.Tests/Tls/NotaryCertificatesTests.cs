using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Notary.CustomResources;
using Notary.Grains;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;
using Notary.Silo.Tls;

namespace Notary.Silo.Tests.Tls;

/// <summary>Notary's own certificates: what they name, who they chain to, and their renewal in memory.</summary>
public sealed class NotaryCertificatesTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly CertificateAuthority _ca = CertificateAuthority.CreateRoot("Notary Built-in Root CA", TimeSpan.FromDays(3650), Start - TimeSpan.FromDays(1));
    private readonly CertificateAuthority _otherCa = CertificateAuthority.CreateRoot("Notary Built-in Root CA", TimeSpan.FromDays(3650), Start - TimeSpan.FromDays(1));
    private readonly SiloCertificate _silo = new();
    private readonly ApiCertificate _api = new(enabled: true);

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
    }

    private NotaryCertificates Certificates(TimeSpan lifetime) => new(
        _silo,
        _api,
        new FixedAuthority(_ca),
        Options.Create(new NotaryTlsOptions { ServiceName = "notary-api", CertificateLifetime = lifetime }),
        Options.Create(new NotaryKubernetesOptions { Namespace = "ops" }),
        Options.Create(new PolicyOptions { ClusterDomain = "corp.internal" }),
        _time,
        NullLogger<NotaryCertificates>.Instance);

    [Fact]
    public async Task The_silo_and_API_certificates_name_what_peers_and_callers_check_and_chain_to_Notarys_CA()
    {
        await Certificates(TimeSpan.FromDays(7)).RenewDueAsync(force: true, CancellationToken.None);

        Assert.Equal(["notary-silo.ops.svc"], Names(_silo.Holder.Certificate));
        Assert.Equal(["urn:notary:silo:ops"], PeerCertificates.Uris(_silo.Holder.Certificate));
        // Never the bare "notary-api": a tenant of any namespace may get a single-label name.
        Assert.Equal(["notary-api.ops.svc", "notary-api.ops", "notary-api.ops.svc.corp.internal"], Names(_api.Holder.Certificate));
        Assert.Empty(PeerCertificates.Uris(_api.Holder.Certificate));
        Assert.True(_silo.Holder.Certificate.HasPrivateKey);
        Assert.Equal(_ca.CertificatePem, _silo.Holder.Authority.RootPem);
        Assert.True(PeerCertificates.IsSilo(_silo.Holder.Certificate, _silo.Holder.Authority, "notary-silo.ops.svc", _time.GetUtcNow()));
    }

    [Fact]
    public async Task A_certificate_is_renewed_at_two_thirds_of_its_lifetime_and_the_holder_presents_the_new_one()
    {
        var certificates = Certificates(TimeSpan.FromHours(3));
        await certificates.RenewDueAsync(force: true, CancellationToken.None);
        var first = _api.Holder.Certificate;
        var firstSilo = _silo.Holder.Certificate;
        // notBefore is five minutes early (clock skew): two thirds of 3 h 5 min after it.
        Assert.Equal(Start - CertificateAuthority.ClockSkewAllowance + (TimeSpan.FromHours(3) + CertificateAuthority.ClockSkewAllowance) * 2 / 3, _api.Holder.RenewAt);

        _time.Advance(TimeSpan.FromHours(1));
        await certificates.RenewDueAsync(force: false, CancellationToken.None);
        Assert.Same(first, _api.Holder.Certificate);
        Assert.Same(firstSilo, _silo.Holder.Certificate);

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(2));
        await certificates.RenewDueAsync(force: false, CancellationToken.None);
        Assert.NotEqual(first.SerialNumber, _api.Holder.Certificate.SerialNumber);
        Assert.NotEqual(firstSilo.SerialNumber, _silo.Holder.Certificate.SerialNumber);
        Assert.Equal(Start + TimeSpan.FromHours(5) + TimeSpan.FromMinutes(2), new DateTimeOffset(_api.Holder.Certificate.NotAfter.ToUniversalTime()));
    }

    [Fact]
    public async Task The_renewal_loop_swaps_the_certificate_when_its_time_comes()
    {
        var certificates = Certificates(TimeSpan.FromHours(3));
        await certificates.StartAsync(CancellationToken.None);
        try
        {
            var first = _silo.Holder.Certificate;
            _time.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(1));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (ReferenceEquals(first, _silo.Holder.Certificate))
            {
                await Task.Delay(20, timeout.Token);
            }

            Assert.NotEqual(first.SerialNumber, _silo.Holder.Certificate.SerialNumber);
        }
        finally
        {
            await certificates.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Plain_HTTP_for_the_API_is_a_warning_at_start()
    {
        var logger = new Captured();
        var certificates = new NotaryCertificates(
            _silo,
            new ApiCertificate(enabled: false),
            new FixedAuthority(_ca),
            Options.Create(new NotaryTlsOptions { Api = false }),
            Options.Create(new NotaryKubernetesOptions { Namespace = "ops" }),
            Options.Create(new PolicyOptions()),
            _time,
            logger);
        await certificates.StartAsync(CancellationToken.None);
        await certificates.StopAsync(CancellationToken.None);

        var warning = Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("PLAIN HTTP", warning.Message, StringComparison.Ordinal);
        Assert.Contains("bearer tokens", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_lifetime_of_Notarys_own_certificates_is_one_day()
    {
        Assert.Equal(TimeSpan.FromDays(1), new NotaryTlsOptions().CertificateLifetime);
    }

    [Fact]
    public async Task A_peer_is_a_silo_only_with_the_silo_name_and_silo_URI_from_Notarys_CA_while_valid()
    {
        await Certificates(TimeSpan.FromDays(7)).RenewDueAsync(force: true, CancellationToken.None);
        var authority = _silo.Holder.Authority;
        var now = _time.GetUtcNow();
        const string silo = "notary-silo.ops.svc";
        var key = new KeySpec(KeyAlgorithm.Ecdsa, 256);

        // Another CA with the very same name issuing the silo name and URI: refused.
        using var forged = Load(_otherCa.Issue(PeerCertificates.SiloRequest("ops", TimeSpan.FromDays(1), key), now));
        Assert.False(PeerCertificates.IsSilo(forged, authority, silo, now));

        // Notary's CA, but a tenant's name: refused.
        using var tenant = Load(_ca.Issue(new LeafRequest("web.shop.svc", [], TimeSpan.FromDays(1), key), now));
        Assert.False(PeerCertificates.IsSilo(tenant, authority, silo, now));

        // Notary's CA and the exact silo DNS name, as a tenant's Certificate in Notary's namespace
        // gets it (the tenant issuer puts only DNS names in a certificate): refused, no silo URI.
        using var tenantWithSiloName = Load(_ca.Issue(new LeafRequest(silo, [], TimeSpan.FromDays(1), key), now));
        Assert.False(PeerCertificates.IsSilo(tenantWithSiloName, authority, silo, now));

        // The silo URI of another Notary namespace: refused.
        using var otherNamespace = Load(_ca.Issue(new LeafRequest(silo, [], TimeSpan.FromDays(1), key, [PeerCertificates.SiloUri("shop")]), now));
        Assert.False(PeerCertificates.IsSilo(otherNamespace, authority, silo, now));

        // The silo name and URI from Notary's CA: accepted, until it expires.
        using var genuine = Load(_ca.Issue(PeerCertificates.SiloRequest("ops", TimeSpan.FromDays(1), key), now));
        Assert.True(PeerCertificates.IsSilo(genuine, authority, silo, now));
        Assert.False(PeerCertificates.IsSilo(genuine, authority, silo, now + TimeSpan.FromDays(2)));

        // The API certificate is no silo certificate.
        Assert.False(PeerCertificates.IsSilo(_api.Holder.Certificate, authority, silo, now));
    }

    private static X509Certificate2 Load(IssuedCertificate issued) => X509Certificate2.CreateFromPem(issued.CertificatePem);

    private static List<string> Names(X509Certificate2 certificate) =>
        [.. certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames())];

    private sealed class Captured : ILogger<NotaryCertificates>
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((logLevel, formatter(state, exception)));
            }
        }
    }

    private sealed class FixedAuthority(CertificateAuthority authority) : ICertificateAuthoritySource
    {
        public Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken) => Task.FromResult(authority);
    }
}

/// <summary>The TLS options refuse what cannot work, saying what to set.</summary>
public sealed class NotaryTlsOptionsValidatorTests
{
    [Theory]
    [InlineData("notary", "7.00:00:00", null)]
    [InlineData("notary-api", "00:10:00", null)]
    [InlineData("Notary", "7.00:00:00", "Notary__Tls__ServiceName")]
    [InlineData("notary.notary", "7.00:00:00", "Notary__Tls__ServiceName")]
    [InlineData("", "7.00:00:00", "Notary__Tls__ServiceName")]
    [InlineData("notary", "00:09:59", "Notary__Tls__CertificateLifetime=1.00:00:00")]
    public void Refuses_a_service_name_that_is_no_DNS_label_and_a_lifetime_under_ten_minutes(string service, string lifetime, string? fix)
    {
        var result = new NotaryTlsOptionsValidator().Validate(null, new NotaryTlsOptions
        {
            ServiceName = service,
            CertificateLifetime = TimeSpan.Parse(lifetime, System.Globalization.CultureInfo.InvariantCulture),
        });
        if (fix is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.Contains(fix, Assert.Single(result.Failures!), StringComparison.Ordinal);
        }
    }
}
