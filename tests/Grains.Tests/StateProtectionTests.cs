using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Protection;

namespace Notary.Grains.Tests;

/// <summary>
/// The encryption of private keys in certificate state: AES-256-GCM under the current data key,
/// bound to its certificate (a ciphertext moved to another certificate, or beside another
/// certificate, does not decrypt), readable after a rotation while the old key is kept.
/// </summary>
public sealed class StateProtectionTests : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _certificate;
    private readonly EphemeralDataKeySource _keys = new("k1");
    private readonly StateProtector _protector = new();

    public StateProtectionTests()
    {
        var request = new CertificateRequest("CN=api.example", _key, HashAlgorithmName.SHA256);
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(30));
        _protector.Use(_keys.Ring());
    }

    public void Dispose()
    {
        _certificate.Dispose();
        _key.Dispose();
    }

    private IssuedMaterial Material() =>
        new("urn:notary:test/1", PemEncoding.WriteString("CERTIFICATE", _certificate.RawData) + "\n", [], _key.ExportPkcs8PrivateKeyPem(),
            _certificate.SerialNumber, _certificate.NotBefore, _certificate.NotAfter);

    [Fact]
    public void A_stored_key_is_ciphertext_under_the_current_key_and_decrypts_for_its_certificate()
    {
        var stored = StoredMaterial.From(Material(), _protector, "shop/api");

        Assert.Empty(stored.Key);
        Assert.Equal("k1", stored.SealedKey!.KeyId);
        Assert.Equal(12, stored.SealedKey.Nonce.Length);
        var der = _key.ExportPkcs8PrivateKey();
        Assert.False(stored.SealedKey.Sealed.AsSpan().IndexOf(der.AsSpan(der.Length / 2, 16)) >= 0);
        Assert.Equal(_key.ExportPkcs8PrivateKeyPem(), stored.ToIssued(_protector, "shop/api").PrivateKeyPem);
        Assert.DoesNotContain("BEGIN", stored.SealedKey.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_encryptions_of_one_key_differ()
    {
        var a = StoredMaterial.From(Material(), _protector, "shop/api").SealedKey!;
        var b = StoredMaterial.From(Material(), _protector, "shop/api").SealedKey!;

        Assert.NotEqual(a.Nonce, b.Nonce);
        Assert.NotEqual(a.Sealed, b.Sealed);
    }

    [Fact]
    public void A_key_copied_to_another_certificate_does_not_decrypt()
    {
        var stored = StoredMaterial.From(Material(), _protector, "shop/api");

        var ex = Assert.Throws<StateProtectionException>(() => stored.ToIssued(_protector, "shop/other"));
        Assert.Contains("copied from another grain or field", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_put_beside_another_certificate_does_not_decrypt()
    {
        var stored = StoredMaterial.From(Material(), _protector, "shop/api");
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherCertificate = new CertificateRequest("CN=api.example", other, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(30));

        var swapped = stored with { Certificate = [0, .. otherCertificate.RawData] };

        Assert.Throws<StateProtectionException>(() => swapped.ToIssued(_protector, "shop/api"));
    }

    [Fact]
    public void A_changed_ciphertext_does_not_decrypt()
    {
        var stored = StoredMaterial.From(Material(), _protector, "shop/api");
        var bytes = stored.SealedKey!.Sealed.ToArray();
        bytes[5] ^= 1;
        var changed = stored with { SealedKey = new ProtectedBytes { KeyId = "k1", Nonce = stored.SealedKey.Nonce, Sealed = bytes } };

        Assert.Throws<StateProtectionException>(() => changed.ToIssued(_protector, "shop/api"));
    }

    [Fact]
    public void After_a_rotation_the_old_key_still_decrypts_and_resealing_uses_the_new_one()
    {
        var old = StoredMaterial.From(Material(), _protector, "shop/api");
        _protector.Use(_keys.Rotate("k2"));

        Assert.True(old.NeedsSealing(_protector));
        Assert.Equal(_key.ExportPkcs8PrivateKeyPem(), old.ToIssued(_protector, "shop/api").PrivateKeyPem);
        var resealed = old.Sealed(_protector, "shop/api");
        Assert.Equal("k2", resealed.SealedKey!.KeyId);
        Assert.False(resealed.NeedsSealing(_protector));
        Assert.Equal(_key.ExportPkcs8PrivateKeyPem(), resealed.ToIssued(_protector, "shop/api").PrivateKeyPem);
    }

    [Fact]
    public void A_key_the_ring_no_longer_holds_is_named_in_the_error()
    {
        var old = StoredMaterial.From(Material(), _protector, "shop/api");
        _protector.Use(new EphemeralDataKeySource("k9").Ring());

        var ex = Assert.Throws<StateKeyUnknownException>(() => old.ToIssued(_protector, "shop/api"));

        Assert.Contains("\"k1\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("k9", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_key_id_reads_the_keys_again_at_most_once_per_interval_and_keeps_the_keys_known_before()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var source = new CountingSource(_keys);
        var protector = new StateProtector(source, time);
        protector.Use(_keys.Ring());
        var underK1 = StoredMaterial.From(Material(), protector, "shop/api");
        var later = new EphemeralDataKeySource("k9");
        var unknown = new ProtectedBytes { KeyId = "k9", Nonce = new byte[12], Sealed = new byte[16] };

        await protector.EnsureKnownAsync([underK1.SealedKey]);
        Assert.Equal(0, source.Reads);

        await protector.EnsureKnownAsync([unknown]);
        await protector.EnsureKnownAsync([unknown]);
        Assert.Equal(1, source.Reads);
        Assert.Throws<StateKeyUnknownException>(() => protector.Unprotect(unknown, default));

        // The key Secret now holds k9 (and, edited by mistake, no longer k1).
        source.Ring = later.Ring();
        await protector.EnsureKnownAsync([unknown]);
        Assert.Equal(1, source.Reads);
        time.Advance(protector.ReloadInterval);
        await protector.EnsureKnownAsync([unknown]);

        Assert.Equal(2, source.Reads);
        Assert.Equal("k9", protector.CurrentKeyId);
        Assert.Equal(_key.ExportPkcs8PrivateKeyPem(), underK1.ToIssued(protector, "shop/api").PrivateKeyPem);
    }

    [Fact]
    public void A_known_key_that_does_not_authenticate_is_tampering_not_an_unknown_key()
    {
        var material = StoredMaterial.From(Material(), _protector, "shop/api");
        var changed = material.SealedKey!.Sealed.ToArray();
        changed[^1] ^= 0x80;
        var tampered = material with { SealedKey = new ProtectedBytes { KeyId = "k1", Nonce = material.SealedKey.Nonce, Sealed = changed } };

        Assert.Throws<StateProtectionException>(() => tampered.ToIssued(_protector, "shop/api"));
    }

    private sealed class CountingSource(EphemeralDataKeySource keys) : IDataKeySource
    {
        public DataKeyRing Ring { get; set; } = keys.Ring();

        public int Reads { get; private set; }

        public Task<DataKeyRing> GetAsync(CancellationToken cancellationToken)
        {
            Reads++;
            return Task.FromResult(Ring);
        }
    }

    [Fact]
    public void A_plain_key_from_before_encryption_needs_sealing_and_is_sealed_without_change()
    {
        var pem = _key.ExportPkcs8PrivateKeyPem();
        var plain = new StoredMaterial
        {
            Arn = "urn:notary:test/1",
            Certificate = System.Text.Encoding.UTF8.GetBytes(Material().CertificatePem),
            ChainPem = [],
            Key = System.Text.Encoding.UTF8.GetBytes(pem),
            SerialNumber = "01",
        };

        Assert.True(plain.NeedsSealing(_protector));
        var sealedMaterial = plain.Sealed(_protector, "shop/api");

        Assert.Empty(sealedMaterial.Key);
        Assert.False(sealedMaterial.NeedsSealing(_protector));
        Assert.Equal(pem, sealedMaterial.ToIssued(_protector, "shop/api").PrivateKeyPem);
    }

    [Fact]
    public void Nothing_is_encrypted_before_the_keys_are_loaded()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => StoredMaterial.From(Material(), new StateProtector(), "shop/api"));
        Assert.Contains("not loaded", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_data_key_of_the_wrong_size_is_refused_and_keys_print_their_id_only()
    {
        Assert.Throws<ArgumentException>(() => new DataKey("k", new byte[16]));
        var key = new DataKey("k", new byte[32]);
        Assert.Equal("DataKey { Id = k }", key.ToString());
        Assert.Equal("DataKeyRing { Current = k, Keys = k }", new DataKeyRing(key, [key]).ToString());
    }
}
