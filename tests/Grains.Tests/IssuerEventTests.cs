using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>
/// Events on Issuer and ClusterIssuer objects (what <c>kubectl describe issuer X</c> shows): a
/// Warning with the Ready reason when one becomes not Ready, a Normal one when it becomes Ready,
/// and one at a CA rotation's start and end; once per transition, never per retry.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IssuerEventTests(ClusterFixture fixture)
{
    private static ResourceVersionInfo Origin(long generation = 1) => new("uid-" + generation, generation);

    private static IssuerSpec Ca(string secretName) => new() { Ca = new CaIssuerSpec(secretName) };

    private List<RecordedEvent> Events(ResourceKey resource, string reason) => [.. fixture.Events.For(resource).Where(e => e.Reason == reason)];

    [Fact]
    public async Task An_issuer_records_one_Warning_when_it_becomes_not_Ready_and_one_Normal_when_it_becomes_Ready_not_one_per_retry()
    {
        var ns = ClusterFixture.NewNamespace();
        var issuer = fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "team"));
        var target = new ResourceKey(ns, "team");

        // ApplyAsync loads the CA again, as a retry, the Secret's change or the watcher's resync does
        // (OnCaSecretChangedAsync is one-way: a test could not tell when it is done).
        await issuer.ApplyAsync(Ca("team-ca"), Origin());
        await issuer.ApplyAsync(Ca("team-ca"), Origin());
        await issuer.ApplyAsync(Ca("team-ca"), Origin(2));
        var warning = Assert.Single(Events(target, IssuerGrain.SecretNotFoundReason));
        Assert.Equal((ResourceKind.Issuer, EventSeverity.Warning), (warning.Kind, warning.Severity));
        Assert.Contains($"Secret {ns}/team-ca does not exist", warning.Message, StringComparison.Ordinal);

        var (certificatePem, keyPem) = MakeCa("team");
        fixture.CaSecrets.Put(ns, "team-ca", certificatePem, keyPem);
        await issuer.ApplyAsync(Ca("team-ca"), Origin(2));
        await issuer.ApplyAsync(Ca("team-ca"), Origin(2));
        var ready = Assert.Single(Events(target, IssuerGrain.ReadyReason));
        Assert.Equal((ResourceKind.Issuer, EventSeverity.Normal), (ready.Kind, ready.Severity));
        Assert.Contains($"issues from the CA in Secret {ns}/team-ca", ready.Message, StringComparison.Ordinal);

        // Not Ready again: a second Warning (a new transition).
        fixture.CaSecrets.Put(ns, "team-ca", certificatePem, null);
        await issuer.ApplyAsync(Ca("team-ca"), Origin(2));
        await issuer.ApplyAsync(Ca("team-ca"), Origin(2));
        Assert.Single(Events(target, IssuerGrain.KeyMissingReason), e => e.Severity == EventSeverity.Warning);
        Assert.Single(Events(target, IssuerGrain.SecretNotFoundReason));
        Assert.Equal(3, fixture.Events.For(target).Count);
    }

    [Fact]
    public async Task A_ClusterIssuers_events_name_it_without_a_namespace()
    {
        var name = "cluster-" + Guid.NewGuid().ToString("N")[..8];
        await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Cluster(name)).ApplyAsync(new IssuerSpec { Builtin = true }, Origin());

        var ready = Assert.Single(fixture.Events.For(new ResourceKey(string.Empty, name)));
        Assert.Equal((ResourceKind.ClusterIssuer, EventSeverity.Normal, IssuerGrain.ReadyReason), (ready.Kind, ready.Severity, ready.Reason));
    }

    [Fact]
    public async Task A_CA_rotation_records_its_start_and_its_end_once()
    {
        var ns = ClusterFixture.NewNamespace();
        var issuerKey = IssuerKeys.Namespaced(ns, "rotating");
        var rotation = fixture.Rotations.Register(issuerKey);
        var issuer = fixture.Grains.GetGrain<IIssuerGrain>(issuerKey);
        var target = new ResourceKey(ns, "rotating");
        var old = MakeCa("old");
        fixture.CaSecrets.Put(ns, "ca", old.CertificatePem, old.KeyPem);
        await issuer.ApplyAsync(Ca("ca"), Origin());
        var resource = new ResourceKey(ns, "api");
        var spec = new CertificateSpec { Type = "Private", Fqdn = $"api.{ns}.svc", KeyAlgorithm = "ECDSA", KeySize = 256, IssuerRef = new IssuerRef("rotating", IssuerKinds.Issuer) };
        Assert.True((await fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString()).ApplyAsync(spec, Origin())).IsReady);

        var renewed = MakeCa("new");
        fixture.CaSecrets.Put(ns, "ca", renewed.CertificatePem, renewed.KeyPem);
        rotation.Status = new IssuerRotationStatus { Phase = "TrustingNewCa", FromFingerprint = "a", ToFingerprint = "b", Total = 1, Remaining = 1 };
        await issuer.ApplyAsync(Ca("ca"), Origin());
        await issuer.GetStatusAsync();
        var started = Assert.Single(Events(target, IssuerGrain.RotationStartedReason));
        Assert.Equal(EventSeverity.Normal, started.Severity);
        Assert.Contains("re-issuing 1 certificates", started.Message, StringComparison.Ordinal);
        Assert.Empty(Events(target, IssuerGrain.RotationCompletedReason));

        // The rotation grain says it ended: one Normal Event, however often the status is read after.
        rotation.Status = null;
        await issuer.GetStatusAsync();
        await issuer.GetStatusAsync();
        Assert.Equal(EventSeverity.Normal, Assert.Single(Events(target, IssuerGrain.RotationCompletedReason)).Severity);
        Assert.Single(Events(target, IssuerGrain.RotationStartedReason));
        Assert.Equal(0, rotation.Cancelled);
    }

    [Fact]
    public async Task Deleting_an_issuer_during_its_rotation_records_a_Warning()
    {
        var ns = ClusterFixture.NewNamespace();
        var issuerKey = IssuerKeys.Namespaced(ns, "rotating");
        var rotation = fixture.Rotations.Register(issuerKey);
        var issuer = fixture.Grains.GetGrain<IIssuerGrain>(issuerKey);
        var old = MakeCa("old");
        fixture.CaSecrets.Put(ns, "ca", old.CertificatePem, old.KeyPem);
        await issuer.ApplyAsync(Ca("ca"), Origin());
        var spec = new CertificateSpec { Type = "Private", Fqdn = $"api.{ns}.svc", KeyAlgorithm = "ECDSA", KeySize = 256, IssuerRef = new IssuerRef("rotating", IssuerKinds.Issuer) };
        Assert.True((await fixture.Grains.GetGrain<ICertificateGrain>(new ResourceKey(ns, "api").ToString()).ApplyAsync(spec, Origin())).IsReady);
        var renewed = MakeCa("new");
        fixture.CaSecrets.Put(ns, "ca", renewed.CertificatePem, renewed.KeyPem);
        rotation.Status = new IssuerRotationStatus { Phase = "TrustingNewCa", FromFingerprint = "a", ToFingerprint = "b", Total = 1, Remaining = 1 };
        await issuer.ApplyAsync(Ca("ca"), Origin());

        await issuer.DeleteAsync();

        Assert.Equal(1, rotation.Paused);
        Assert.Equal(0, rotation.Cancelled);
        var paused = Assert.Single(Events(new ResourceKey(ns, "rotating"), IssuerGrain.RotationPausedReason));
        Assert.Equal(EventSeverity.Warning, paused.Severity);
    }

    /// <summary>A self-signed CA (basicConstraints CA:TRUE, keyCertSign): its certificate and PKCS#8 key as PEM.</summary>
    private static (string CertificatePem, string KeyPem) MakeCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name} CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }
}
