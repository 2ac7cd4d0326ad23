using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Policies.Tests;

/// <summary>Certificate spec validation, change detection and renewal time, with the messages users see.</summary>
public sealed class CertificatePolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static CertificateSpec Spec(string fqdn = "a.ns.svc", string[]? alt = null, string? duration = null, string? renewBefore = null, string? algorithm = null, int? size = null, string? issuer = null, string type = "Private") =>
        new() { Type = type, Fqdn = fqdn, Alt = alt ?? [], Duration = duration, RenewBefore = renewBefore, KeyAlgorithm = algorithm, KeySize = size, Issuer = issuer };

    [Fact]
    public void Defaults_are_a_90_day_lifetime_a_10_minute_minimum_and_an_RSA_2048_key()
    {
        Assert.Equal(TimeSpan.FromDays(90), CertificatePolicy.DefaultLifetime);
        Assert.Equal(TimeSpan.FromMinutes(10), CertificatePolicy.MinimumLifetime);
        var (valid, problem) = CertificatePolicy.Validate(Spec());
        Assert.Null(problem);
        Assert.Equal(new ValidCertificateSpec(TimeSpan.FromDays(90), null, new PrivateKeyRequest("RSA", 2048)), valid);
    }

    [Theory]
    [InlineData("Public", null, null, null, null, 90 * 24 * 60.0, null, "RSA", 2048)]
    [InlineData("Private", "10m", null, "rsa", 3072, 10.0, null, "RSA", 3072)]             // exactly the minimum
    [InlineData("Private", "1h", "59m59s", "ECDSA", null, 60.0, 59 + 59 / 60.0, "ECDSA", 256)]
    [InlineData("Private", "1h", "1s", "Ecdsa", 384, 60.0, 1 / 60.0, "ECDSA", 384)]
    [InlineData("Private", null, "720h", null, 4096, 90 * 24 * 60.0, 720 * 60.0, "RSA", 4096)]
    public void Valid_specs_resolve_to_lifetime_renewBefore_and_key(
        string type, string? duration, string? renewBefore, string? algorithm, int? size, double lifetimeMinutes, double? renewBeforeMinutes, string keyAlgorithm, int keySize)
    {
        var (valid, problem) = CertificatePolicy.Validate(Spec(type: type, duration: duration, renewBefore: renewBefore, algorithm: algorithm, size: size));
        Assert.Null(problem);
        Assert.Equal(TimeSpan.FromMinutes(lifetimeMinutes), valid!.Lifetime);
        Assert.Equal(renewBeforeMinutes is { } m ? TimeSpan.FromMinutes(m) : null, valid.RenewBefore);
        Assert.Equal(new PrivateKeyRequest(keyAlgorithm, keySize), valid.Key);
    }

    [Theory]
    [InlineData("Other", "a.ns.svc", null, null, null, null, "spec.type \"Other\" is not supported: use \"Public\" or \"Private\".")]
    [InlineData("private", "a.ns.svc", null, null, null, null, "spec.type \"private\" is not supported: use \"Public\" or \"Private\".")]
    [InlineData("Private", "", null, null, null, null, "spec.fqdn is required.")]
    [InlineData("Private", "  ", null, null, null, null, "spec.fqdn is required.")]
    [InlineData("Private", "a.ns.svc", "9m59s", null, null, null, "spec.duration \"9m59s\" is shorter than the minimum of 10m0s.")]
    [InlineData("Private", "a.ns.svc", "1h", "1h", null, null, "spec.renewBefore \"1h\" must be positive and shorter than the certificate's lifetime (1h0m0s).")]
    [InlineData("Private", "a.ns.svc", "1h", "2h", null, null, "spec.renewBefore \"2h\" must be positive and shorter than the certificate's lifetime (1h0m0s).")]
    [InlineData("Private", "a.ns.svc", null, "0s", null, null, "spec.renewBefore \"0s\" must be positive and shorter than the certificate's lifetime (2160h0m0s).")]
    [InlineData("Private", "a.ns.svc", null, null, "DSA", null, "spec.privateKey.algorithm \"DSA\" is not supported: use \"RSA\" or \"ECDSA\".")]
    [InlineData("Private", "a.ns.svc", null, null, null, 1024, "spec.privateKey: RSA key size 1024 is not supported; use 2048, 3072 or 4096")]
    [InlineData("Private", "a.ns.svc", null, null, "ECDSA", 521, "spec.privateKey: ECDSA key size 521 is not supported; use 256 (P-256) or 384 (P-384)")]
    [InlineData("Private", "a.ns.svc", null, null, "ECDSA", 2048, "spec.privateKey: ECDSA key size 2048 is not supported; use 256 (P-256) or 384 (P-384)")]
    public void Invalid_specs_are_refused_with_a_message_naming_the_field(string type, string fqdn, string? duration, string? renewBefore, string? algorithm, int? size, string message)
    {
        var (valid, problem) = CertificatePolicy.Validate(Spec(type: type, fqdn: fqdn, duration: duration, renewBefore: renewBefore, algorithm: algorithm, size: size));
        Assert.Null(valid);
        Assert.Equal(new Problem(Reasons.InvalidSpec, message), problem);
    }

    [Theory]
    [InlineData("abc", null, "spec.duration: ")]
    [InlineData(null, "soon", "spec.renewBefore: ")]
    public void Unparsable_durations_name_the_field_and_the_parser_s_reason(string? duration, string? renewBefore, string prefix)
    {
        var (valid, problem) = CertificatePolicy.Validate(Spec(duration: duration, renewBefore: renewBefore));
        Assert.Null(valid);
        Assert.Equal(Reasons.InvalidSpec, problem!.Reason);
        Assert.StartsWith(prefix, problem.Message, StringComparison.Ordinal);
        Assert.True(problem.Message.Length > prefix.Length + 5, problem.Message);
    }

    public static TheoryData<CertificateSpec, CertificateSpec, bool> Changes => new()
    {
        { Spec(), Spec(), false },
        { Spec(fqdn: "a.ns.svc"), Spec(fqdn: "A.NS.SVC"), false },
        { Spec(issuer: null), Spec(issuer: ""), false },
        { Spec(issuer: "acm"), Spec(issuer: "acm"), false },
        { Spec(issuer: "acm"), Spec(issuer: "other"), true },
        { Spec(duration: null), Spec(duration: "2160h"), true },
        { Spec(duration: "2160h"), Spec(duration: null), true },
        { Spec(duration: "bad"), Spec(duration: "worse"), false },
        { Spec(duration: "bad"), Spec(duration: "1h"), true },
        { Spec(duration: "bad"), Spec(duration: null), true },
        { Spec(algorithm: "ecdsa"), Spec(algorithm: "ECDSA"), false },
        { Spec(algorithm: null), Spec(algorithm: "rsa"), false },
        { Spec(algorithm: "ECDSA"), Spec(algorithm: "ECDSA", size: 256), false },
        { Spec(algorithm: "ecdsa", size: 256), Spec(algorithm: "ECDSA"), false },
        { Spec(algorithm: "ECDSA"), Spec(algorithm: "ECDSA", size: 384), true },
        { Spec(size: 2048), Spec(), false },
        { Spec(size: 3072), Spec(), true },
        { Spec(algorithm: "ECDSA", size: 2048), Spec(algorithm: "RSA", size: 2048), true },
        { Spec(alt: ["x", "y"]), Spec(alt: ["x"]), true },
        { Spec(alt: ["x"]), Spec(alt: ["x", "x"]), false },
        { Spec(type: "Public"), Spec(type: "Private"), true },
        { Spec(renewBefore: "1h"), Spec(renewBefore: "2h"), false },
        { Spec(), Spec() with { IssuerRef = new IssuerRef("team-ca", IssuerKinds.Issuer) }, true },
        { Spec() with { IssuerRef = new IssuerRef("team-ca", IssuerKinds.Issuer) }, Spec() with { IssuerRef = new IssuerRef("team-ca", IssuerKinds.Issuer) }, false },
        { Spec() with { IssuerRef = new IssuerRef("team-ca", IssuerKinds.Issuer) }, Spec() with { IssuerRef = new IssuerRef("other-ca", IssuerKinds.Issuer) }, true },
        { Spec() with { IssuerRef = new IssuerRef("team-ca", IssuerKinds.Issuer) }, Spec() with { IssuerRef = new IssuerRef("team-ca", IssuerKinds.ClusterIssuer) }, true },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Which_changes_affect_the_certificate(CertificateSpec current, CertificateSpec desired, bool affects)
    {
        Assert.Equal(affects, CertificatePolicy.AffectsCertificate(current, desired));
        Assert.Equal(affects, CertificatePolicy.AffectsCertificate(desired, current));
    }

    public static TheoryData<CertificateSpec, CertificateSpec, bool> Sameness => new()
    {
        { Spec(), Spec(), true },
        { Spec(alt: ["x", "y"]), Spec(alt: ["x", "y"]), true },
        { Spec(renewBefore: "1h"), Spec(renewBefore: "1h"), true },
        { Spec(renewBefore: "1h"), Spec(renewBefore: "2h"), false },
        { Spec(renewBefore: "1h"), Spec(), false },
        { Spec(fqdn: "a.ns.svc"), Spec(fqdn: "A.ns.svc"), false },
        { Spec(alt: ["x", "y"]), Spec(alt: ["y", "x"]), false },
        { Spec(alt: ["x"]), Spec(alt: ["X"]), false },
        { Spec(size: 4096), Spec(), false },
    };

    [Theory]
    [MemberData(nameof(Sameness))]
    public void Same_spec_compares_every_field_and_the_lists_in_order(CertificateSpec a, CertificateSpec b, bool same) =>
        Assert.Equal(same, CertificatePolicy.SameSpec(a, b));

    [Theory]
    // lifetime (hours), renewBefore (hours; null: default), renewal (hours after notBefore)
    [InlineData(90, null, 60)]
    [InlineData(90, 30.0, 60)]
    [InlineData(90, 89.0, 1)]
    [InlineData(90, 90.0, 60)]    // not shorter than the lifetime: the default third
    [InlineData(90, 100.0, 60)]
    [InlineData(3, 0.5, 2.5)]
    public void Renewal_is_renewBefore_ahead_of_expiry_or_a_third_of_the_lifetime(double lifetime, double? renewBefore, double renewal) =>
        Assert.Equal(
            T0.AddHours(renewal),
            CertificatePolicy.RenewalTime(T0, T0.AddHours(lifetime), renewBefore is { } r ? TimeSpan.FromHours(r) : null));
}
