using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Protection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Notary.Grains.Tests;

/// <summary>
/// What the grain storage holds for a certificate: its private key only as ciphertext under the
/// current data key. State saved before encryption (a plain key), and state under a rotated-out
/// key, is encrypted again when the certificate activates, and still serves its stores.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class StateEncryptionTests(ClusterFixture fx)
{
    private IGrainStorage Storage => fx.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);

    private Serializer Serializer => fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<Serializer>();

    private async Task<GrainState<CertificateState>> ReadAsync(ICertificateGrain grain)
    {
        var state = new GrainState<CertificateState>();
        await Storage.ReadStateAsync("certificate", grain.GetGrainId(), state);
        return state;
    }

    /// <summary>Every form of the key a reader of the stored bytes could recognise.</summary>
    private static byte[][] KeyForms(string pem)
    {
        var der = Convert.FromBase64String(string.Concat(pem.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal))));
        var body = Convert.ToBase64String(der);
        return
        [
            der[(der.Length / 2)..(der.Length / 2 + 24)],
            der[^24..],
            Encoding.UTF8.GetBytes(body[(body.Length / 2)..(body.Length / 2 + 32)]),
            Encoding.UTF8.GetBytes(Convert.ToHexString(der[^24..])),
            // A line of the PEM itself (state saved before encryption held the PEM as text).
            Encoding.UTF8.GetBytes(pem.Split('\n')[2]),
        ];
    }

    private void AssertNoKey(GrainState<CertificateState> state, string pem)
    {
        var bytes = Serializer.SerializeToArray(state.State!);
        foreach (var form in KeyForms(pem))
        {
            Assert.True(bytes.AsSpan().IndexOf(form) < 0, "the stored certificate state holds the private key in the clear");
        }
    }

    [Fact]
    public async Task The_stored_certificate_state_holds_the_key_only_encrypted()
    {
        var ns = ClusterFixture.NewNamespace();
        var grain = fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api");
        var status = await grain.ApplyAsync(new CertificateSpec { Type = "Private", Fqdn = $"api.{ns}.svc.cluster.local" }, new ResourceVersionInfo("u", 1));
        var issued = (await grain.GetIssuedMaterialAsync(status.Revision))!;

        var stored = await ReadAsync(grain);

        Assert.Empty(stored.State!.Material!.Key);
        Assert.Equal(fx.DataKeys.Current.Id, stored.State!.Material.SealedKey!.KeyId);
        AssertNoKey(stored, issued.PrivateKeyPem);
    }

    [Fact]
    public async Task A_plain_key_saved_before_encryption_is_encrypted_when_the_certificate_activates_and_still_served()
    {
        var ns = ClusterFixture.NewNamespace();
        var grain = fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api");
        var status = await grain.ApplyAsync(new CertificateSpec { Type = "Private", Fqdn = $"api.{ns}.svc.cluster.local" }, new ResourceVersionInfo("u", 1));
        var issued = (await grain.GetIssuedMaterialAsync(status.Revision))!;

        // What an older Notary persisted: the key as its PEM's UTF-8 bytes, no ciphertext.
        await fx.Cluster.DeactivateAsync(grain);
        var old = await ReadAsync(grain);
        old.State!.Material = old.State!.Material! with { Key = Encoding.UTF8.GetBytes(issued.PrivateKeyPem), SealedKey = null };
        await Storage.WriteStateAsync("certificate", grain.GetGrainId(), old);
        Assert.Contains(KeyForms(issued.PrivateKeyPem), form => Serializer.SerializeToArray(old.State!).AsSpan().IndexOf(form) >= 0);

        var served = await grain.GetIssuedMaterialAsync(status.Revision);

        Assert.Equal(issued.PrivateKeyPem, served!.PrivateKeyPem);
        var rewritten = await ReadAsync(grain);
        Assert.Empty(rewritten.State!.Material!.Key);
        Assert.NotNull(rewritten.State!.Material.SealedKey);
        AssertNoKey(rewritten, issued.PrivateKeyPem);
    }

    [Fact]
    public async Task After_a_data_key_rotation_state_under_the_old_key_is_read_and_encrypted_again_under_the_new_one()
    {
        var ns = ClusterFixture.NewNamespace();
        var grain = fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api");
        var status = await grain.ApplyAsync(new CertificateSpec { Type = "Private", Fqdn = $"api.{ns}.svc.cluster.local" }, new ResourceVersionInfo("u", 1));
        var issued = (await grain.GetIssuedMaterialAsync(status.Revision))!;
        var before = (await ReadAsync(grain)).State!.Material!.SealedKey!.KeyId;
        await fx.Cluster.DeactivateAsync(grain);

        // The operator adds a key and makes it current; the silos load the ring again.
        var ring = fx.DataKeys.Rotate("rotated-" + Guid.NewGuid().ToString("N")[..6]);
        foreach (var silo in fx.Cluster.Silos)
        {
            silo.ServiceProvider.GetRequiredService<StateProtector>().Use(ring);
        }

        Assert.Equal(issued.PrivateKeyPem, (await grain.GetIssuedMaterialAsync(status.Revision))!.PrivateKeyPem);
        var after = (await ReadAsync(grain)).State!.Material!.SealedKey!.KeyId;
        Assert.NotEqual(before, after);
        Assert.Equal(ring.Current.Id, after);
    }

    [Fact]
    public async Task A_certificate_under_a_data_key_no_Secret_holds_fails_to_activate_and_keeps_its_state()
    {
        var ns = ClusterFixture.NewNamespace();
        var grain = fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api");
        var spec = new CertificateSpec { Type = "Private", Fqdn = $"api.{ns}.svc.cluster.local" };
        var status = await grain.ApplyAsync(spec, new ResourceVersionInfo("u", 1));
        var issued = (await grain.GetIssuedMaterialAsync(status.Revision))!;
        var issuedCount = fx.Issuer.Issued;

        // The state says a data key that neither this silo nor the key Secret holds encrypted it.
        await fx.Cluster.DeactivateAsync(grain);
        var stored = await ReadAsync(grain);
        var sealedKey = stored.State!.Material!.SealedKey!;
        stored.State.Material = stored.State.Material with { SealedKey = new ProtectedBytes { KeyId = "lost-key", Nonce = sealedKey.Nonce, Sealed = sealedKey.Sealed } };
        await Storage.WriteStateAsync("certificate", grain.GetGrainId(), stored);

        await Assert.ThrowsAnyAsync<Exception>(() => grain.GetIssuedMaterialAsync(status.Revision));
        await Assert.ThrowsAnyAsync<Exception>(() => grain.ApplyAsync(spec, new ResourceVersionInfo("u", 1)));

        // Nothing dropped, nothing issued: once the key is back, the same certificate serves.
        var kept = await ReadAsync(grain);
        Assert.Equal("lost-key", kept.State!.Material!.SealedKey!.KeyId);
        Assert.Equal(issuedCount, fx.Issuer.Issued);
        Assert.Contains(fx.Logs.Lines, l => l.Contains($"Certificate {ns}/api: its state is encrypted under a data key this silo does not hold", StringComparison.Ordinal) && l.Contains("lost-key", StringComparison.Ordinal));
        kept.State.Material = kept.State.Material with { SealedKey = sealedKey };
        await Storage.WriteStateAsync("certificate", grain.GetGrainId(), kept);
        Assert.Equal(issued.PrivateKeyPem, (await grain.GetIssuedMaterialAsync(status.Revision))!.PrivateKeyPem);
        Assert.Equal(status.SerialNumber, (await grain.ApplyAsync(spec, new ResourceVersionInfo("u", 1))).SerialNumber);
    }

    [Fact]
    public async Task A_silo_with_an_older_key_ring_reads_a_certificate_under_a_newer_key_without_issuing_it_again()
    {
        var ns = ClusterFixture.NewNamespace();
        var grain = fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api");
        var spec = new CertificateSpec { Type = "Private", Fqdn = $"api.{ns}.svc.cluster.local" };
        var status = await grain.ApplyAsync(spec, new ResourceVersionInfo("u", 1));
        var issued = (await grain.GetIssuedMaterialAsync(status.Revision))!;
        var protectors = fx.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<StateProtector>()).ToList();
        var older = fx.DataKeys.Ring();

        // A silo started after the key was added writes the certificate under the newer key ...
        var newer = fx.DataKeys.Rotate("newer-" + Guid.NewGuid().ToString("N")[..6]);
        await fx.Cluster.DeactivateAsync(grain);
        protectors.ForEach(p => p.Use(newer));
        Assert.Equal(issued.PrivateKeyPem, (await grain.GetIssuedMaterialAsync(status.Revision))!.PrivateKeyPem);
        Assert.Equal(newer.Current.Id, (await ReadAsync(grain)).State!.Material!.SealedKey!.KeyId);
        await fx.Cluster.DeactivateAsync(grain);

        // ... and a silo that loaded its keys before (the older ring) activates it: it reads the
        // keys again instead of dropping the state.
        var issuedCount = fx.Issuer.Issued;
        protectors.ForEach(p => { p.Use(older); p.ReloadInterval = TimeSpan.Zero; });
        try
        {
            Assert.Equal(issued.PrivateKeyPem, (await grain.GetIssuedMaterialAsync(status.Revision))!.PrivateKeyPem);
            var again = await grain.ApplyAsync(spec, new ResourceVersionInfo("u", 1));

            Assert.Equal(status.SerialNumber, again.SerialNumber);
            Assert.Equal(issuedCount, fx.Issuer.Issued);
            Assert.Equal(newer.Current.Id, (await ReadAsync(grain)).State!.Material!.SealedKey!.KeyId);
        }
        finally
        {
            protectors.ForEach(p => { p.Use(fx.DataKeys.Ring()); p.ReloadInterval = TimeSpan.FromSeconds(10); });
        }
    }

    [Fact]
    public async Task A_key_that_does_not_authenticate_under_a_known_data_key_is_dropped_reported_and_issued_again()
    {
        var ns = ClusterFixture.NewNamespace();
        var grain = fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api");
        var spec = new CertificateSpec { Type = "Private", Fqdn = $"api.{ns}.svc.cluster.local" };
        var status = await grain.ApplyAsync(spec, new ResourceVersionInfo("u", 1));

        // Someone with write access to Redis changed the ciphertext.
        await fx.Cluster.DeactivateAsync(grain);
        var stored = await ReadAsync(grain);
        var sealedKey = stored.State!.Material!.SealedKey!;
        var changed = sealedKey.Sealed.ToArray();
        changed[0] ^= 0x01;
        stored.State.Material = stored.State.Material with { SealedKey = new ProtectedBytes { KeyId = sealedKey.KeyId, Nonce = sealedKey.Nonce, Sealed = changed } };
        await Storage.WriteStateAsync("certificate", grain.GetGrainId(), stored);

        Assert.Null(await grain.GetIssuedMaterialAsync(status.Revision));
        var again = await grain.ApplyAsync(spec, new ResourceVersionInfo("u", 1));

        Assert.NotEqual(status.SerialNumber, again.SerialNumber);
        Assert.True(again.Revision > status.Revision);
        Assert.NotNull(await grain.GetIssuedMaterialAsync(again.Revision));
        Assert.Contains(fx.Logs.Lines, l => l.Contains($"Certificate {ns}/api: its private key in the grain state does not authenticate, the state was tampered with", StringComparison.Ordinal));
        Assert.Contains(fx.Events.For(new ResourceKey(ns, "api")), e => e.Severity == EventSeverity.Warning && e.Reason == "StateTampered");
    }

    [Fact]
    public async Task The_salt_of_the_store_password_fingerprint_is_kept_encrypted_and_a_plain_one_is_encrypted_keeping_the_fingerprint()
    {
        var ns = ClusterFixture.NewNamespace();
        fx.Metadata.Set(ns, "notary-metadata", Fakes.InMemoryMetadataSource.Json("Kp-salted-secret", "Tp-salted-secret"));
        var fqdn = $"api.{ns}.svc.cluster.local";
        await fx.Grains.GetGrain<ICertificateGrain>($"{ns}/api").ApplyAsync(new CertificateSpec { Type = "Private", Fqdn = fqdn }, new ResourceVersionInfo("u", 1));
        var keystore = fx.Grains.GetGrain<IKeystoreGrain>($"{ns}/api");
        Assert.True((await keystore.ApplyAsync(new KeystoreSpec { Fqdn = fqdn, CertName = "api" }, new ResourceVersionInfo("u", 1))).IsReady);

        var stored = new GrainState<StoreState<KeystoreSpec>>();
        await Storage.ReadStateAsync("keystore", keystore.GetGrainId(), stored);
        Assert.Empty(stored.State!.MetadataSalt);
        Assert.Equal(fx.DataKeys.Current.Id, stored.State.SealedMetadataSalt!.KeyId);
        var fingerprint = stored.State.MetadataFingerprint;

        // State saved before: the same salt in the clear.
        await fx.Cluster.DeactivateAsync(keystore);
        var protector = fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<StateProtector>();
        stored.State.MetadataSalt = protector.Unprotect(stored.State.SealedMetadataSalt, StateProtector.Context("Keystore", $"{ns}/api", "metadata-salt"));
        stored.State.SealedMetadataSalt = null;
        await Storage.WriteStateAsync("keystore", keystore.GetGrainId(), stored);

        await keystore.RebuildAsync();

        var rewritten = new GrainState<StoreState<KeystoreSpec>>();
        await Storage.ReadStateAsync("keystore", keystore.GetGrainId(), rewritten);
        Assert.Empty(rewritten.State!.MetadataSalt);
        Assert.NotNull(rewritten.State.SealedMetadataSalt);
        Assert.Equal(fingerprint, rewritten.State.MetadataFingerprint);
    }
}
