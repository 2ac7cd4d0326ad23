using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Policies.Tests;

/// <summary>The pure decisions, table by table.</summary>
public sealed class PolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static CertificateSpec Spec(string fqdn = "a.ns.svc", string[]? alt = null, string? duration = null, string? renewBefore = null, string? algorithm = null, int? size = null, string? issuer = null, string type = "Private") =>
        new() { Type = type, Fqdn = fqdn, Alt = alt ?? [], Duration = duration, RenewBefore = renewBefore, KeyAlgorithm = algorithm, KeySize = size, Issuer = issuer };

    [Theory]
    [InlineData(90 * 24, null, 60 * 24)]          // default: one third of the lifetime ahead of expiry
    [InlineData(90 * 24, "240h", 80 * 24)]        // renewBefore
    [InlineData(1, "30m", 0.5)]
    [InlineData(3, null, 2)]
    public void Renewal_time(double lifetimeHours, string? renewBefore, double expectedHoursAfterStart)
    {
        var notAfter = T0.AddHours(lifetimeHours);
        TimeSpan? before = renewBefore is null ? null : Pki.GoDuration.Parse(renewBefore);
        Assert.Equal(T0.AddHours(expectedHoursAfterStart), CertificatePolicy.RenewalTime(T0, notAfter, before));
    }

    [Fact]
    public void One_year_certificate_renews_four_months_before_expiry()
    {
        var notAfter = T0.AddDays(365);
        Assert.Equal(notAfter - TimeSpan.FromDays(365.0 / 3), CertificatePolicy.RenewalTime(T0, notAfter, null));
    }

    public static TheoryData<CertificateSpec, CertificateSpec, bool> Changes => new()
    {
        { Spec(), Spec(), false },
        { Spec(), Spec(renewBefore: "10h"), false },
        { Spec(alt: ["x", "y"]), Spec(alt: ["y", "x"]), false },
        { Spec(alt: ["x"]), Spec(alt: ["X"]), false },
        { Spec(), Spec(algorithm: "RSA", size: 2048), false },
        { Spec(duration: "2160h"), Spec(duration: "90h30m"), true },
        { Spec(duration: "2160h"), Spec(duration: "129600m"), false },
        { Spec(), Spec(fqdn: "b.ns.svc"), true },
        { Spec(), Spec(alt: ["x"]), true },
        { Spec(), Spec(algorithm: "ECDSA"), true },
        { Spec(), Spec(size: 4096), true },
        { Spec(), Spec(issuer: "acm"), true },
        { Spec(), Spec(type: "Public"), true },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Which_changes_affect_the_certificate(CertificateSpec current, CertificateSpec desired, bool affects) =>
        Assert.Equal(affects, CertificatePolicy.AffectsCertificate(current, desired));

    [Theory]
    [InlineData(null, null, null, null, "RSA", 2048, 90 * 24.0)]
    [InlineData("ECDSA", null, "720h", null, "ECDSA", 256, 720.0)]
    [InlineData("ecdsa", 384, null, "1h", "ECDSA", 384, 90 * 24.0)]
    [InlineData("RSA", 4096, "90m30s", "30m", "RSA", 4096, 1.5 + 30 / 3600.0)]
    public void Valid_specs_resolve(string? algorithm, int? size, string? duration, string? renewBefore, string keyAlgorithm, int keySize, double lifetimeHours)
    {
        var (valid, problem) = CertificatePolicy.Validate(Spec(algorithm: algorithm, size: size, duration: duration, renewBefore: renewBefore));
        Assert.Null(problem);
        Assert.Equal(new PrivateKeyRequest(keyAlgorithm, keySize), valid!.Key);
        Assert.Equal(TimeSpan.FromHours(lifetimeHours), valid.Lifetime);
    }

    [Theory]
    [InlineData("5m", null, "shorter than the minimum")]
    [InlineData("1h", "1h", "must be positive and shorter")]
    [InlineData("abc", null, "spec.duration:")]
    [InlineData(null, "soon", "spec.renewBefore:")]
    public void Invalid_durations_are_named(string? duration, string? renewBefore, string message)
    {
        var (_, problem) = CertificatePolicy.Validate(Spec(duration: duration, renewBefore: renewBefore));
        Assert.Equal(Reasons.InvalidSpec, problem!.Reason);
        Assert.Contains(message, problem.Message, StringComparison.Ordinal);
    }

    private static readonly TruststoreSpec Trust = new()
    {
        Fqdn = "me.ns.svc",
        CertName = "me",
        Upstream = [new TrustReference { Tag = "up", Fqdn = "up.x.svc" }, new TrustReference { Tag = "pinned", Fqdn = "p.y.svc", Namespace = "y" }],
        Downstream = [new TrustReference { Tag = "down", Fqdn = "down.z.svc" }],
    };

    [Fact]
    public void Tags_to_look_up_are_the_references_without_namespace() =>
        Assert.Equal(["down", "up"], TrustResolution.TagsToLookUp(Trust).Order(StringComparer.Ordinal));

    [Fact]
    public void Resolution_in_spec_order()
    {
        var lookups = new Dictionary<string, IReadOnlyList<TagRegistration>>
        {
            ["up"] = [new("x", "up.x.svc")],
            ["down"] = [new("z", "down.z.svc")],
        };
        var (resolved, problem) = TrustResolution.Resolve("ns", Trust, lookups);
        Assert.Null(problem);
        Assert.Equal(["ns/me", "x/up", "y/pinned", "z/down"], resolved.Select(r => r.Certificate.ToString()));
        Assert.Equal(["spec.certName", "spec.upstream[0]", "spec.upstream[1]", "spec.downstream[0]"], resolved.Select(r => r.Field));
    }

    [Fact]
    public void Unresolved_and_ambiguous_references_are_all_named()
    {
        var lookups = new Dictionary<string, IReadOnlyList<TagRegistration>>
        {
            ["up"] = [],
            ["down"] = [new("b", "down.b.svc"), new("a", "down.a.svc")],
        };
        var (resolved, problem) = TrustResolution.Resolve("ns", Trust, lookups);
        Assert.Equal(Reasons.UnresolvedReference, problem!.Reason);
        Assert.Equal("spec.upstream[0]: no Certificate named \"up\" exists in any namespace; spec.downstream[0]: Certificate \"down\" exists in several namespaces (a, b); set namespace", problem.Message);
        Assert.Equal(["ns/me", "y/pinned"], resolved.Select(r => r.Certificate.ToString()));
    }

    [Fact]
    public void Check_tells_deleted_from_missing_and_reports_fqdn_and_readiness()
    {
        var refs = new List<ResolvedReference>
        {
            new("spec.certName", new ResourceKey("ns", "me"), "me.ns.svc"),
            new("spec.upstream[0]", new ResourceKey("x", "gone"), "gone.x.svc"),
            new("spec.upstream[1]", new ResourceKey("x", "never"), "never.x.svc"),
            new("spec.downstream[0]", new ResourceKey("z", "other"), "want.z.svc"),
            new("spec.downstream[1]", new ResourceKey("z", "pending"), "pending.z.svc"),
        };
        var material = new PublicMaterial("arn", "pem", [], "01", T0.AddDays(1));
        var snapshots = new Dictionary<ResourceKey, CertificateSnapshot>
        {
            [new("ns", "me")] = new(new("ns", "me"), true, "me.ns.svc", 1, material),
            [new("x", "gone")] = new(new("x", "gone"), false, null, 3, null),
            [new("x", "never")] = new(new("x", "never"), false, null, 0, null),
            [new("z", "other")] = new(new("z", "other"), true, "other.z.svc", 1, material),
            [new("z", "pending")] = new(new("z", "pending"), true, "pending.z.svc", 0, null),
        };
        var problem = TrustResolution.Check(refs, snapshots, new HashSet<string> { "x/gone" });
        Assert.Equal(Reasons.CertificateDeleted, problem!.Reason);
        Assert.Equal(
            "spec.upstream[0]: Certificate x/gone was deleted; the store keeps its last contents; " +
            "spec.upstream[1]: Certificate x/never does not exist; " +
            "spec.downstream[0]: fqdn \"want.z.svc\" does not match Certificate z/other, whose fqdn is \"other.z.svc\"; " +
            "spec.downstream[1]: Certificate z/pending has not been issued yet",
            problem.Message);
        Assert.Null(TrustResolution.Check(refs.Take(1).ToList(), snapshots, new HashSet<string>()));
    }

    [Theory]
    [InlineData(null, Pki.StoreFormat.Pkcs12, false)]
    [InlineData("pkcs12", Pki.StoreFormat.Pkcs12, false)]
    [InlineData("JKS", Pki.StoreFormat.Jks, false)]
    [InlineData("PEM", Pki.StoreFormat.Pkcs12, true)]
    public void Store_formats(string? format, Pki.StoreFormat expected, bool invalid)
    {
        var (parsed, problem) = StoreBuilder.ParseFormat(format);
        Assert.Equal(invalid, problem is not null);
        if (!invalid)
        {
            Assert.Equal(expected, parsed);
        }
    }
}
