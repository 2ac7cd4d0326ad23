using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Notary.Grains.Tests.Fakes;
using Notary.Pki;

namespace Notary.Bench.Grains;

/// <summary>
/// What the grain scenarios share: the resources of a service (a Certificate "name", its
/// Keystore "name-ks" and Truststore "name-ts"), the metadata every service uses, the direct
/// encoding of the ceilings, and the checks of what the stores hold.
/// </summary>
public static class Services
{
    public const string KeystorePassword = "bench-keystore-1";
    public const string TruststorePassword = "bench-truststore-1";
    public const string KeystoreFile = "keystore.p12";
    public const string TruststoreFile = "truststore.p12";

    public static readonly ResourceVersionInfo Origin = new("bench-uid", 1);

    /// <summary>The metadata Secret's content, as the grains read it.</summary>
    public static readonly string MetadataJson = InMemoryMetadataSource.Json(KeystorePassword, TruststorePassword);

    /// <summary>The settings the grains parse from <see cref="MetadataJson"/>; the ceilings use the same.</summary>
    public static ServiceMetadata Metadata(string @namespace) =>
        ServiceMetadata.Parse(new MetadataSecretContent(true, MetadataJson), @namespace, ServiceMetadata.DefaultSecretName).Metadata
        ?? throw new InvalidOperationException("the bench metadata does not parse");

    public static string Fqdn(string @namespace, string name) => $"{name}.{@namespace}.svc.cluster.local";

    /// <summary>A Private certificate with an ECDSA P-256 key from the built-in CA, the default lifetime.</summary>
    public static CertificateSpec Certificate(string @namespace, string name) =>
        new() { Type = "Private", Fqdn = Fqdn(@namespace, name), KeyAlgorithm = "ECDSA", KeySize = 256 };

    public static KeystoreSpec Keystore(string @namespace, string name) => new() { Fqdn = Fqdn(@namespace, name), CertName = name };

    public static TruststoreSpec Truststore(string @namespace, string name, IReadOnlyList<TrustReference>? upstream = null) =>
        new() { Fqdn = Fqdn(@namespace, name), CertName = name, Upstream = upstream ?? [] };

    /// <summary>The calls the built-in issuer makes for <see cref="Certificate"/>, and the material it returns.</summary>
    public static IssuedMaterial Issue(CertificateAuthority authority, string @namespace, string name)
    {
        var issued = authority.Issue(new LeafRequest(Fqdn(@namespace, name), [], CertificatePolicy.DefaultLifetime, new KeySpec(KeyAlgorithm.Ecdsa, 256)), DateTimeOffset.UtcNow);
        return new IssuedMaterial($"urn:notary:builtin:certificate/{issued.SerialNumber}", issued.CertificatePem, issued.ChainPem, issued.PrivateKeyPem,
            issued.SerialNumber, issued.NotBefore, issued.NotAfter);
    }

    /// <summary>The keystore the KeystoreGrain writes: the same StoreBuilder call.</summary>
    public static StoreWrite EncodeKeystore(string @namespace, string name, ServiceMetadata metadata, IssuedMaterial material) =>
        StoreBuilder.Keystore(new ResourceKey(@namespace, name + "-ks"), Fqdn(@namespace, name), StoreFormat.Pkcs12, metadata, name, material);

    /// <summary>The truststore the TruststoreGrain writes: the same TruststorePolicy selection and StoreBuilder call.</summary>
    public static StoreWrite EncodeTruststore(string @namespace, string name, ServiceMetadata metadata, TrustSource own, IReadOnlyList<TrustSource> upstream) =>
        StoreBuilder.Truststore(new ResourceKey(@namespace, name + "-ts"), Fqdn(@namespace, name), StoreFormat.Pkcs12, metadata, TruststorePolicy.Select(own, upstream, [])).Write;

    public static TrustSource Source(string @namespace, string name, string certificatePem, IReadOnlyList<string> chainPem) =>
        new(@namespace, name, certificatePem, chainPem);

    /// <summary>Decodes a keystore and checks it holds exactly one private key, for the certificate with <paramref name="serial"/>.</summary>
    public static void CheckKeystore(StoreWrite? write, string serial, string what)
    {
        var certificates = Load(write, KeystoreFile, KeystorePassword, what);
        var keys = certificates.Where(c => c.HasPrivateKey).ToList();
        if (keys.Count != 1 || keys[0].SerialNumber != serial)
        {
            throw new InvalidOperationException($"{what}: expected the private key of serial {serial}, found {string.Join(", ", keys.Select(k => k.SerialNumber))}");
        }
    }

    /// <summary>Whether a keystore holds the private key of the certificate with <paramref name="serial"/>.</summary>
    public static bool HoldsSerial(StoreWrite write, string serial)
    {
        try
        {
            CheckKeystore(write, serial, "keystore");
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Decodes a truststore and checks which serials it trusts.</summary>
    public static void CheckTruststore(StoreWrite? write, IEnumerable<string> present, IEnumerable<string> absent, string what)
    {
        var serials = Load(write, TruststoreFile, TruststorePassword, what).Select(c => c.SerialNumber).ToHashSet(StringComparer.Ordinal);
        foreach (var serial in present.Where(s => !serials.Contains(s)))
        {
            throw new InvalidOperationException($"{what}: serial {serial} is missing");
        }

        foreach (var serial in absent.Where(serials.Contains))
        {
            throw new InvalidOperationException($"{what}: serial {serial} should not be trusted any more");
        }
    }

    /// <summary>The 1, 5 and 15 minute load averages: the machine is shared, so figures come with them.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static X509Certificate2Collection Load(StoreWrite? write, string file, string password, string what)
    {
        if (write is null || !write.Files.TryGetValue(file, out var bytes))
        {
            throw new InvalidOperationException($"{what}: no {file} was written");
        }

        return X509CertificateLoader.LoadPkcs12Collection(bytes, password, X509KeyStorageFlags.EphemeralKeySet);
    }
}
