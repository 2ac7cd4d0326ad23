using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;
using Notary.Pki;
using static Notary.Grains.Tests.Fakes.StoreVersions;

namespace Notary.Grains.Tests;

/// <summary>
/// A CA rotation whose certificate's store never comes to trust the new CA (its writes fail) waits
/// Rotation:MaxWait, then goes on without it and says so where the operator looks: the issuer's
/// <c>status.rotation.leftBehind</c> names the certificate, and Warning Events
/// (<see cref="CaRotationGrain.StoresLeftBehindReason"/>) go to the certificate and the Issuer.
/// </summary>
[Collection(StuckRotationCollection.Name)]
public sealed class CaRotationLeftBehindTests(StuckRotationClusterFixture fx)
{
    private const string KeyPassword = "ks-secret-1";
    private const string TrustPassword = "ts-secret-1";

    private Task StepAsync(string issuerKey) => FireAsync(fx.Grains.GetGrain<ICaRotationGrain>(issuerKey), CaRotationGrain.Reminder, fx.Time.GetUtcNow());

    [Fact]
    public async Task A_certificate_whose_keystore_never_trusts_the_new_CA_is_left_behind_at_MaxWait_named_in_the_issuers_status_and_by_Warnings()
    {
        var ns = "lb-" + Guid.NewGuid().ToString("N")[..10];
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json(KeyPassword, TrustPassword));
        var issuerKey = IssuerKeys.Namespaced(ns, "team");
        using var old = fx.NewIntermediate("Team A " + ns);
        fx.CaSecrets.Put(ns, "team-ca", PemEncoder.Bundle(old.ChainPem), old.ExportPrivateKeyPem());
        var issuer = await fx.Grains.GetGrain<IIssuerGrain>(issuerKey).ApplyAsync(new IssuerSpec { Ca = new CaIssuerSpec("team-ca") }, LifecycleTests.V(1));
        Assert.Equal(Conditions.True, issuer.Conditions.Single(c => c.Type == Conditions.Ready).Status);
        var certificates = Enumerable.Range(0, 3).Select(i => new ResourceKey(ns, $"s{i}")).ToArray();
        foreach (var key in certificates)
        {
            var spec = new CertificateSpec { Type = "Private", Fqdn = $"{key.Name}.{ns}.svc", KeyAlgorithm = "ECDSA", KeySize = 256, Duration = "720h", IssuerRef = new IssuerRef("team", IssuerKinds.Issuer) };
            Assert.True((await fx.Grains.GetGrain<ICertificateGrain>(key.ToString()).ApplyAsync(spec, LifecycleTests.V(1))).IsReady);
            Assert.True((await fx.Grains.GetGrain<IKeystoreGrain>(key.ToString()).ApplyAsync(new KeystoreSpec { Fqdn = spec.Fqdn, CertName = key.Name }, LifecycleTests.V(1))).IsReady);
        }

        // s1's keystore can no longer be written: its ca.crt never gets the new CA.
        var stuck = certificates[1];
        fx.Store.FailFor(stuck, new InvalidOperationException("the secret store refuses writes"));
        using var next = fx.NewIntermediate("Team B " + ns);
        var nextFingerprint = Policies.CaFingerprints.Of(next.CertificatePem);
        var nextThumbprint = Thumbprint(next);
        fx.CaSecrets.Put(ns, "team-ca", PemEncoder.Bundle(next.ChainPem), next.ExportPrivateKeyPem());
        await fx.Grains.GetGrain<IIssuerGrain>(issuerKey).OnCaSecretChangedAsync();
        await fx.IssuerStatus.WaitAsync(issuerKey, s => s.Rotation?.ToFingerprint == nextFingerprint, "the rotation to the new CA");
        await StepAsync(issuerKey);
        foreach (var key in certificates.Where(c => c != stuck))
        {
            await fx.Store.Changed.WaitAsync(() => fx.Store.Get(ResourceKind.Keystore, key), w => CaCrt(w).Contains(nextThumbprint), TimeSpan.FromSeconds(30), $"{key}'s ca.crt with the new CA");
        }

        // Before MaxWait the rotation waits for s1, names nobody, and signs nothing with the new CA.
        fx.Time.Advance(StuckRotationClusterFixture.MaxWait - TimeSpan.FromSeconds(30));
        await StepAsync(issuerKey);
        var waiting = (await fx.Grains.GetGrain<IIssuerGrain>(issuerKey).GetStatusAsync())!.Rotation!;
        Assert.Equal("TrustingNewCa", waiting.Phase);
        Assert.Empty(waiting.LeftBehind);
        Assert.DoesNotContain(fx.Events.For(stuck), e => e.Reason == CaRotationGrain.StoresLeftBehindReason);

        // At MaxWait it goes on without s1, and says so.
        fx.Time.Advance(TimeSpan.FromSeconds(31));
        await StepAsync(issuerKey);
        var status = await fx.IssuerStatus.WaitAsync(issuerKey, s => s.Rotation?.LeftBehindCount > 0, "the issuer's status naming what was left behind");
        Assert.Equal([stuck.ToString()], status.Rotation!.LeftBehind);
        Assert.Equal(1, status.Rotation.LeftBehindCount);

        var onCertificate = Assert.Single(fx.Events.For(stuck), e => e.Reason == CaRotationGrain.StoresLeftBehindReason);
        Assert.Equal(EventSeverity.Warning, onCertificate.Severity);
        Assert.Contains("MaxWait", onCertificate.Message, StringComparison.Ordinal);
        var onIssuer = Assert.Single(fx.Events.For(new ResourceKey(ns, "team")), e => e.Reason == CaRotationGrain.StoresLeftBehindReason);
        Assert.Equal((ResourceKind.Issuer, EventSeverity.Warning), (onIssuer.Kind, onIssuer.Severity));
        Assert.Contains(stuck.ToString(), onIssuer.Message, StringComparison.Ordinal);
        Assert.All(certificates.Where(c => c != stuck), c => Assert.DoesNotContain(fx.Events.For(c), e => e.Reason == CaRotationGrain.StoresLeftBehindReason));

        // Said once: a later step (the propagation delay over, re-issuing) neither repeats the
        // Events nor drops the name while the rotation runs.
        fx.Time.Advance(CaRotationClusterFixture.Delay + TimeSpan.FromSeconds(1));
        await StepAsync(issuerKey);
        Assert.Equal("Reissuing", (await fx.Grains.GetGrain<IIssuerGrain>(issuerKey).GetStatusAsync())!.Rotation!.Phase);
        Assert.Single(fx.Events.For(stuck), e => e.Reason == CaRotationGrain.StoresLeftBehindReason);
        Assert.Equal([stuck.ToString()], (await fx.Grains.GetGrain<IIssuerGrain>(issuerKey).GetStatusAsync())!.Rotation!.LeftBehind);
        fx.Store.Recover(stuck);
    }
}
