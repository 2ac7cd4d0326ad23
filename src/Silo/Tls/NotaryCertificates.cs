using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.Grains;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Silo.Tls;

/// <summary>
/// Issues Notary's own certificates from its built-in CA (<see cref="ICertificateAuthoritySource"/>,
/// the CA Secret of Notary's namespace) when the host starts, before Orleans or Kestrel listen,
/// and renews each at two thirds of its lifetime, in memory: the private keys never leave the
/// process. One certificate per silo (its identity towards the other silos) and, when the HTTP
/// API serves TLS, one for the API's Service names. Registered before Orleans, so that its start
/// (hosted services start in order) completes before the silo's.
/// </summary>
public sealed partial class NotaryCertificates(
    SiloCertificate silo,
    ApiCertificate api,
    ICertificateAuthoritySource authoritySource,
    IOptions<NotaryTlsOptions> options,
    IOptions<NotaryKubernetesOptions> kubernetes,
    IOptions<PolicyOptions> policy,
    TimeProvider time,
    ILogger<NotaryCertificates> logger,
    CaPublisher? publisher = null,
    IOptions<BuiltInCaOptions>? ca = null,
    IGrainFactory? grains = null) : BackgroundService
{
    /// <summary>How soon a failed renewal is tried again (the current certificate stays in use meanwhile).</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromMinutes(1);

    /// <summary>How often the published CA certificate (ConfigMap notary-ca) is checked and put right between renewals.</summary>
    public static readonly TimeSpan PublishInterval = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long after seeing a new built-in root this instance keeps presenting its certificates
    /// from the previous root (trusting both meanwhile): every instance checks the CA Secret every
    /// <see cref="PublishInterval"/>, so by then each trusts the new root before a peer presents it.
    /// </summary>
    public static readonly TimeSpan RootChangeDelay = PublishInterval * 2;

    /// <summary>The certificates this instance keeps: the silo's, and the API's when it serves TLS.</summary>
    private IEnumerable<(CertificateHolder Holder, LeafRequest Request)> Wanted()
    {
        var lifetime = options.Value.CertificateLifetime;
        var key = new KeySpec(KeyAlgorithm.Ecdsa, 256);
        yield return (silo.Holder, PeerCertificates.SiloRequest(kubernetes.Value.Namespace, lifetime, key));
        if (api.Enabled)
        {
            var names = ApiNames(options.Value.ServiceName, kubernetes.Value.Namespace, policy.Value.ClusterDomain);
            yield return (api.Holder, new LeafRequest(names[1], [.. names.Where(n => n != names[1])], lifetime, key));
        }
    }

    /// <summary>
    /// The API certificate's names: SERVICE.NAMESPACE, SERVICE.NAMESPACE.svc,
    /// SERVICE.NAMESPACE.svc.CLUSTER_DOMAIN. Never the bare SERVICE: the default name policy
    /// lets a tenant of any namespace obtain single-label names, so a certificate for "notary"
    /// proves nothing about who answers; callers use a name with Notary's namespace in it.
    /// </summary>
    public static IReadOnlyList<string> ApiNames(string service, string ns, string clusterDomain) =>
        [$"{service}.{ns}", $"{service}.{ns}.svc", $"{service}.{ns}.svc.{clusterDomain.Trim('.')}"];

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Api)
        {
            PlainApi(logger);
        }

        // Before anything listens: a silo without its certificate can neither accept nor open a connection.
        await RenewDueAsync(force: true, cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var next = Wanted().Min(w => w.Holder.RenewAt);
            var interval = (ca?.Value ?? new BuiltInCaOptions()).CheckInterval;
            var delay = (next < now + interval ? next : now + interval) - now;
            try
            {
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, time, stoppingToken);
                }

                await CheckRootAsync(stoppingToken);
                await RenewDueAsync(force: false, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The current certificates stay valid for a third of their lifetime: try again soon.
                RenewalFailed(logger, ex.Message, RetryDelay);
                try
                {
                    await Task.Delay(RetryDelay, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>A requested or due rotation of the built-in root, or one another instance made; a failure is logged and the renewal goes on with the root in use.</summary>
    private async Task CheckRootAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await authoritySource.RotateIfDueAsync((ca?.Value ?? new BuiltInCaOptions()).RotateBefore, cancellationToken) && grains is not null)
            {
                // The root changed (rotated here, or another instance's root adopted): the built-in
                // root's issuer grain begins the trust-first roll now rather than at its own check.
                await grains.GetGrain<IIssuerGrain>(IssuerKeys.BuiltinRoot).OnCaSecretChangedAsync();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            RootCheckFailed(logger, ex.Message, (ca?.Value ?? new BuiltInCaOptions()).CheckInterval);
        }
    }

    /// <summary>
    /// Publishes the signing CA (<see cref="CaPublisher"/>, every round) and issues every wanted
    /// certificate that is missing or due (all of them when <paramref name="force"/>).
    /// </summary>
    public async Task RenewDueAsync(bool force, CancellationToken cancellationToken)
    {
        var authority = await authoritySource.GetAsync(cancellationToken);
        var previous = await authoritySource.GetPreviousAsync(cancellationToken);
        // The CA that signs (first in the chain), not a root above it: see CaPublisher. After a
        // rotation of the built-in root, the previous root too, until the next rotation.
        var published = previous.Count == 0 ? authority.ChainPem[0] : string.Concat([.. new[] { authority.ChainPem[0] }.Concat(previous).Select(p => p.Trim() + "\n")]);
        await (publisher?.PublishAsync(published, cancellationToken) ?? Task.CompletedTask);
        var now = time.GetUtcNow();
        foreach (var (holder, request) in Wanted())
        {
            if (!force && holder.HasCertificate && holder.Authority.ChainPem[0] != authority.ChainPem[0])
            {
                // The root changed (rotated): trust the new one and the previous ones at once, but
                // present the certificate from the previous root a while longer (RootChangeDelay),
                // until every peer has seen the new root too.
                var presentUntil = holder.RenewAt < now + RootChangeDelay ? holder.RenewAt : now + RootChangeDelay;
                holder.Set(holder.Name, holder.Certificate, new NotaryAuthority(authority.ChainPem, previous), presentUntil);
                RootChanged(logger, holder.Purpose, presentUntil);
                continue;
            }

            if (!force && holder.HasCertificate && holder.RenewAt > now)
            {
                if (!holder.Authority.PreviousRootsPem.SequenceEqual(previous, StringComparer.Ordinal))
                {
                    holder.Set(holder.Name, holder.Certificate, new NotaryAuthority(holder.Authority.ChainPem, previous), holder.RenewAt);
                }

                continue;
            }

            var issued = authority.Issue(request, now);
            var certificate = Load(issued);
            var renewAt = issued.NotBefore + ((issued.NotAfter - issued.NotBefore) * 2 / 3);
            holder.Set(request.Fqdn, certificate, new NotaryAuthority(issued.ChainPem, previous), renewAt);
            Issued(logger, holder.Purpose, request.Fqdn, issued.SerialNumber, issued.NotAfter, renewAt);
        }
    }

    /// <summary>A certificate with its key that SslStream can present on every platform (an ephemeral PEM key cannot on Windows).</summary>
    private static X509Certificate2 Load(IssuedCertificate issued)
    {
        using var ephemeral = X509Certificate2.CreateFromPem(issued.CertificatePem, issued.PrivateKeyPem);
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Issued Notary's {Purpose} certificate for {Name} from the built-in CA: serial {Serial}, expires {NotAfter:O}, renewed at {RenewAt:O}")]
    private static partial void Issued(ILogger logger, string purpose, string name, string serial, DateTimeOffset notAfter, DateTimeOffset renewAt);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning, Message = "The built-in root CA was rotated: Notary's {Purpose} certificate now trusts peers from the new and the previous root and is re-issued from the new root at {RenewAt:O}")]
    private static partial void RootChanged(ILogger logger, string purpose, DateTimeOffset renewAt);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Warning, Message = "Checking the built-in root CA for a rotation failed ({Failure}); the root in use stays, checking again in {Delay}")]
    private static partial void RootCheckFailed(ILogger logger, string failure, TimeSpan delay);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Warning, Message = "Notary:Tls:Api is false: the HTTP API serves PLAIN HTTP on its port, and breach reports carry bearer tokens. Only safe when something in the pod (a mesh sidecar) terminates TLS; otherwise set Notary__Tls__Api=true (chart: tls.api=true)")]
    private static partial void PlainApi(ILogger logger);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Renewing Notary's own certificates failed ({Failure}); the current ones stay in use, trying again in {Delay}")]
    private static partial void RenewalFailed(ILogger logger, string failure, TimeSpan delay);
}

/// <summary>The silo's own certificate (silo-to-silo mutual TLS).</summary>
public sealed class SiloCertificate
{
    public CertificateHolder Holder { get; } = new("silo");
}

/// <summary>The HTTP API's certificate; <see cref="Enabled"/> false when the API serves plain HTTP.</summary>
public sealed class ApiCertificate(bool enabled)
{
    public bool Enabled { get; } = enabled;

    public CertificateHolder Holder { get; } = new("HTTP API");
}
