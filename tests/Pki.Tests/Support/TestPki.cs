using System.Security.Cryptography.X509Certificates;

namespace Notary.Pki.Tests.Support;

/// <summary>Small helpers for building certificates in tests; every call makes fresh keys.</summary>
public static class TestPki
{
    /// <summary>A fixed instant for tests that never meet a real clock.</summary>
    public static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static readonly KeySpec FastKey = new(KeyAlgorithm.Ecdsa, 256);

    public static CertificateAuthority NewCa(string commonName = "Notary Test Root", DateTimeOffset? now = null, TimeSpan? lifetime = null) =>
        CertificateAuthority.CreateRoot(commonName, lifetime ?? TimeSpan.FromDays(3650), now ?? Now, FastKey);

    public static IssuedCertificate Issue(CertificateAuthority ca, string fqdn, KeySpec? key = null, DateTimeOffset? now = null, TimeSpan? lifetime = null, params string[] alt) =>
        ca.Issue(new LeafRequest(fqdn, alt, lifetime ?? TimeSpan.FromDays(90), key ?? FastKey), now ?? Now);

    public static X509Certificate2 Parse(string pem) => X509Certificate2.CreateFromPem(pem);

    public static TrustSource Source(string ns, string name, IssuedCertificate certificate) =>
        new(ns, name, certificate.CertificatePem, certificate.ChainPem);
}
