using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Protection;
using Orleans.Serialization;

namespace Notary.Grains.Tests;

/// <summary>
/// The compact in-memory form of a certificate's state (what every resident activation holds):
/// the material as DER or UTF-8, equal values shared, empty sets absent. Nothing it says may
/// change, and state saved in the earlier shape must still load.
/// </summary>
public sealed class CompactStateTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddSerializer().BuildServiceProvider();
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _certificate;
    private readonly StateProtector _protector = new();
    private const string Owner = "shop/api";

    public CompactStateTests()
    {
        var request = new CertificateRequest("CN=api.example", _key, HashAlgorithmName.SHA256);
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(30));
        _protector.Use(new EphemeralDataKeySource().Ring());
    }

    private Serializer Serializer => _services.GetRequiredService<Serializer>();

    // The built-in CA's form: the standard encoding followed by a newline.
    private string CertificatePem => PemEncoding.WriteString("CERTIFICATE", _certificate.RawData) + "\n";

    // .NET's own export: the standard encoding without a newline.
    private string KeyPem => _key.ExportPkcs8PrivateKeyPem();

    private IssuedMaterial Material(string? certificatePem = null, string? keyPem = null) =>
        new("urn:notary:test/1", certificatePem ?? CertificatePem, ["-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n"], keyPem ?? KeyPem,
            _certificate.SerialNumber, _certificate.NotBefore, _certificate.NotAfter);

    public void Dispose()
    {
        _certificate.Dispose();
        _key.Dispose();
        _services.Dispose();
    }

    [Fact]
    public void Material_saved_in_the_earlier_shape_loads_with_the_same_pems()
    {
        var saved = Material();
        // Before StoredMaterial, the state's [Id(2)] held an IssuedMaterial (PEMs as strings).
        var bytes = Serializer.SerializeToArray(saved);

        var loaded = Serializer.Deserialize<StoredMaterial>(bytes)!.ToIssued(_protector, Owner);

        Assert.Equal(saved.CertificatePem, loaded.CertificatePem);
        Assert.Equal(saved.PrivateKeyPem, loaded.PrivateKeyPem);
        Assert.Equal(saved.ChainPem, loaded.ChainPem);
        Assert.Equal((saved.Arn, saved.SerialNumber, saved.NotBefore, saved.NotAfter), (loaded.Arn, loaded.SerialNumber, loaded.NotBefore, loaded.NotAfter));
    }

    [Fact]
    public void Standard_pems_are_kept_as_der_and_given_back_to_the_character()
    {
        var issued = Material();

        var stored = StoredMaterial.From(issued, _protector, Owner);
        var back = stored.ToIssued(_protector, Owner);

        Assert.Equal(issued.CertificatePem, back.CertificatePem);
        Assert.Equal(issued.PrivateKeyPem, back.PrivateKeyPem);
        Assert.Equal(issued.CertificatePem, stored.CertificatePem);
        // DER plus a marker byte: about three quarters of the PEM's characters, each one byte.
        Assert.Equal(_certificate.RawData.Length + 1, stored.Certificate.Length);
        // The key: the same compact form, encrypted (AES-GCM adds its 16-byte tag), none in the clear.
        Assert.Equal(_key.ExportPkcs8PrivateKey().Length + 1 + 16, stored.SealedKey!.Sealed.Length);
        Assert.Empty(stored.Key);
    }

    [Theory]
    [InlineData("crlf")]
    [InlineData("two blocks")]
    [InlineData("other label")]
    [InlineData("leading control character")]
    [InlineData("empty")]
    public void Any_other_pem_text_is_kept_as_text_and_given_back_to_the_character(string variant)
    {
        var standard = CertificatePem;
        var pem = variant switch
        {
            "crlf" => standard.ReplaceLineEndings("\r\n"),
            "two blocks" => standard + standard,
            "other label" => standard.Replace("CERTIFICATE", "TRUSTED CERTIFICATE", StringComparison.Ordinal),
            "leading control character" => "\u0001" + standard,
            _ => string.Empty,
        };

        var back = StoredMaterial.From(Material(pem, pem), _protector, Owner).ToIssued(_protector, Owner);

        Assert.Equal(pem, back.CertificatePem);
        Assert.Equal(pem, back.PrivateKeyPem);
    }

    [Fact]
    public void The_stored_form_survives_the_serializer()
    {
        var state = new CertificateState { Material = StoredMaterial.From(Material(), _protector, Owner), Revision = 3 };
        state.AddSubscriber(new SubscriberRef(ResourceKind.Keystore, "ns/ks"));
        state.AddAlertSent(TimeSpan.FromDays(7));

        var loaded = Serializer.Deserialize<CertificateState>(Serializer.SerializeToArray(state))!;

        Assert.Equal(CertificatePem, loaded.Material!.ToIssued(_protector, Owner).CertificatePem);
        Assert.Equal(KeyPem, loaded.Material.ToIssued(_protector, Owner).PrivateKeyPem);
        Assert.Equal([new SubscriberRef(ResourceKind.Keystore, "ns/ks")], loaded.Subscribers);
        Assert.Equal([TimeSpan.FromDays(7)], loaded.AlertsSent);
        Assert.Equal(3, loaded.Revision);
    }

    [Fact]
    public void Compact_shares_equal_values_and_changes_nothing_the_state_says()
    {
        var spec = new CertificateSpec { Type = Copy("Private"), Fqdn = "api.example", Alt = ["a.example"], KeyAlgorithm = Copy("ECDSA"), Duration = Copy("2160h") };
        var state = new CertificateState
        {
            Spec = spec,
            IssuedFor = spec with { Alt = ["a.example"] },
            Origin = new ResourceVersionInfo("uid-1", 4),
            Reconciled = new ResourceVersionInfo("uid-1", 4),
            Conditions = [new StatusCondition(Copy(Conditions.Ready), Copy(Conditions.True), Copy(Reasons.Issued), "valid", DateTimeOffset.UnixEpoch, 4)],
        };
        // Read from storage, sets are there even when empty.
        var loaded = Serializer.Deserialize<CertificateState>(Serializer.SerializeToArray(state))!;
        var conditionsBefore = loaded.Conditions.ToList();

        loaded.Compact();

        Assert.Same(loaded.Spec, loaded.IssuedFor);
        Assert.True(CertificateState.SameValue(spec, loaded.Spec!));
        Assert.Same(loaded.Origin, loaded.Reconciled);
        Assert.Equal(new ResourceVersionInfo("uid-1", 4), loaded.Origin);
        Assert.Equal(conditionsBefore, loaded.Conditions);
        Assert.Same(Conditions.Ready, loaded.Conditions[0].Type);
        Assert.Same(Reasons.Issued, loaded.Conditions[0].Reason);
        Assert.Empty(loaded.Subscribers);
        Assert.Empty(loaded.AlertsSent);
    }

    [Fact]
    public void Compact_keeps_specs_apart_that_differ_in_anything()
    {
        var spec = new CertificateSpec { Type = "Private", Fqdn = "api.example", Alt = ["a.example", "b.example"] };
        foreach (var issuedFor in new[] { spec with { Alt = ["b.example", "a.example"] }, spec with { RenewBefore = "24h" }, spec with { Fqdn = "API.example" } })
        {
            var state = new CertificateState { Spec = spec, IssuedFor = issuedFor };

            state.Compact();

            Assert.NotSame(state.Spec, state.IssuedFor);
            Assert.Same(issuedFor, state.IssuedFor);
        }
    }

    // A string equal to a literal but not the interned instance, as the serializer makes them.
    private static string Copy(string text) => new(text.AsSpan());
}
