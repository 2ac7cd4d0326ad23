namespace Notary.Pki.Tests.Support;

/// <summary>
/// Certificates valid at the real current time, because keytool, openssl and Java judge
/// validity against the system clock. Two independent roots so tests can prove a client from
/// the other one is refused.
/// </summary>
public sealed class InteropFixture : IDisposable
{
    public const string FqdnA = "svc-a.ns-a.svc.cluster.local";
    public const string FqdnB = "svc-b.ns-b.svc.cluster.local";
    public const string FqdnC = "svc-c.ns-c.svc.cluster.local";
    public const string FqdnD = "svc-d.ns-d.svc.cluster.local";

    public InteropFixture()
    {
        var now = TimeProvider.System.GetUtcNow();
        Ca = CertificateAuthority.CreateRoot("Notary Interop Root", TimeSpan.FromDays(30), now, TestPki.FastKey);
        OtherCa = CertificateAuthority.CreateRoot("Notary Other Root", TimeSpan.FromDays(30), now, TestPki.FastKey);
        RsaA = TestPki.Issue(Ca, FqdnA, KeySpec.Default, now);
        EcA = TestPki.Issue(Ca, FqdnA, new KeySpec(KeyAlgorithm.Ecdsa, 384), now);
        B = TestPki.Issue(Ca, FqdnB, KeySpec.Default, now);
        C = TestPki.Issue(OtherCa, FqdnC, new KeySpec(KeyAlgorithm.Ecdsa, 256), now);
        D = TestPki.Issue(Ca, FqdnD, KeySpec.Default, now);
    }

    public CertificateAuthority Ca { get; }
    public CertificateAuthority OtherCa { get; }

    /// <summary>svc-a with an RSA 2048 key.</summary>
    public IssuedCertificate RsaA { get; }

    /// <summary>svc-a with an ECDSA P-384 key.</summary>
    public IssuedCertificate EcA { get; }

    /// <summary>svc-b (RSA 2048) from the same root as svc-a.</summary>
    public IssuedCertificate B { get; }

    /// <summary>svc-c (ECDSA P-256) from a different root.</summary>
    public IssuedCertificate C { get; }

    /// <summary>svc-d (RSA 2048) from the same root as svc-a and svc-b: a stranger the pinned stores do not list.</summary>
    public IssuedCertificate D { get; }

    public IssuedCertificate A(KeyAlgorithm algorithm) => algorithm == KeyAlgorithm.Rsa ? RsaA : EcA;

    public void Dispose()
    {
        Ca.Dispose();
        OtherCa.Dispose();
    }
}
