using Notary.Grains.Abstractions;
using Notary.Pki;

namespace Notary.Grains.Policies.Tests;

/// <summary>
/// Bound references (TrustResolution.Resolve with bindings) and the trust mode's parsing and
/// sentence, table by table.
/// </summary>
public sealed class BindingTests
{
    private static readonly TruststoreSpec Spec = new()
    {
        Fqdn = "orders.shop.svc",
        CertName = "orders",
        Upstream = [new TrustReference { Tag = "ledger", Fqdn = "ledger.svc" }, new TrustReference { Tag = "fixed", Fqdn = "f.svc", Namespace = "x" }],
        Downstream = [new TrustReference { Tag = "ledger", Fqdn = "ledger.svc" }],
    };

    private static TagRegistration R(string ns, string? uid) => new(ns, "ledger.svc", uid);

    private static BoundReference B(string ns, string? uid) => new("ledger", ns, uid);

    public static TheoryData<string, TagRegistration[], BoundReference[], string?, BoundReference[], string[]> Cases => new()
    {
        // description, registrations of "ledger", bindings before, resolved namespace (null: a problem), bindings after, shadowed namespaces
        { "first resolution binds the only one", [R("a", "u-a")], [], "a", [B("a", "u-a")], [] },
        { "first resolution of two is ambiguous and binds nothing", [R("a", "u-a"), R("b", "u-b")], [], null, [], [] },
        { "nothing registered: unresolved, nothing bound", [], [], null, [], [] },
        { "a binding holds against a later same-named certificate", [R("a", "u-a"), R("b", "u-b")], [B("a", "u-a")], "a", [B("a", "u-a")], ["b"] },
        { "a binding holds against several, each shadowed", [R("a", "u-a"), R("b", "u-b"), R("c", "u-c")], [B("b", "u-b")], "b", [B("b", "u-b")], ["a", "c"] },
        { "the bound certificate deleted: the one left is bound", [R("b", "u-b")], [B("a", "u-a")], "b", [B("b", "u-b")], [] },
        { "the bound certificate deleted with two left: ambiguous", [R("b", "u-b"), R("c", "u-c")], [B("a", "u-a")], null, [], [] },
        { "deleted and re-created in the same namespace (new uid) re-resolves", [R("a", "u-a2"), R("b", "u-b")], [B("a", "u-a")], null, [], [] },
        { "deleted and re-created alone re-binds with the new uid", [R("a", "u-a2")], [B("a", "u-a")], "a", [B("a", "u-a2")], [] },
        { "a binding without uid (before uids) matches by namespace and learns the uid", [R("a", "u-a"), R("b", "u-b")], [B("a", null)], "a", [B("a", "u-a")], ["b"] },
        { "a registration without uid (before uids) matches the binding", [R("a", null), R("b", "u-b")], [B("a", "u-a")], "a", [B("a", "u-a")], ["b"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resolves_with_bindings(string description, TagRegistration[] registrations, BoundReference[] before, string? resolvedNamespace, BoundReference[] after, string[] shadowed)
    {
        var lookups = new Dictionary<string, IReadOnlyList<TagRegistration>> { ["ledger"] = registrations };
        // A binding for a tag the spec no longer names without a namespace is dropped.
        BoundReference[] bindings = [.. before, new BoundReference("gone", "z", "u-z")];

        var resolution = TrustResolution.Resolve("shop", Spec, lookups, bindings);

        Assert.True(after.SequenceEqual(resolution.Bindings), $"{description}: bindings {string.Join(", ", resolution.Bindings)}");
        Assert.Equal(shadowed, resolution.Shadowed.Select(s => s.OtherNamespace));
        Assert.All(resolution.Shadowed, s => Assert.Equal(("ledger", resolvedNamespace), (s.Tag, (string?)s.BoundNamespace)));
        if (resolvedNamespace is null)
        {
            Assert.NotNull(resolution.Problem);
            Assert.Equal(["shop/orders", "x/fixed"], resolution.Resolved.Select(r => r.Certificate.ToString()));
        }
        else
        {
            Assert.Null(resolution.Problem);
            Assert.Equal(
                [("spec.certName", "shop/orders"), ("spec.upstream[0]", $"{resolvedNamespace}/ledger"), ("spec.upstream[1]", "x/fixed"), ("spec.downstream[0]", $"{resolvedNamespace}/ledger")],
                resolution.Resolved.Select(r => (r.Field, r.Certificate.ToString())));
        }
    }

    [Fact]
    public void Problems_name_the_reference_as_without_bindings()
    {
        var lookups = new Dictionary<string, IReadOnlyList<TagRegistration>> { ["ledger"] = [R("b", "u-b"), R("c", "u-c")] };

        var resolution = TrustResolution.Resolve("shop", Spec, lookups, [B("a", "u-a")]);

        Assert.Equal(Reasons.AmbiguousReference, resolution.Problem!.Reason);
        Assert.Equal(
            "spec.upstream[0]: Certificate \"ledger\" exists in several namespaces (b, c); set namespace; spec.downstream[0]: Certificate \"ledger\" exists in several namespaces (b, c); set namespace",
            resolution.Problem.Message);
        var (resolved, problem) = TrustResolution.Resolve("shop", Spec, lookups);
        Assert.Equal(resolved, resolution.Resolved);
        Assert.Equal(problem, resolution.Problem);
    }

    [Fact]
    public void A_shadowed_certificate_is_named_with_its_binding()
    {
        var shadow = new ShadowedReference("ledger", "a", "b");

        Assert.Equal("ledger/a/b", shadow.Key);
        Assert.Equal("Certificate b/ledger is ignored: references to \"ledger\" without a namespace are bound to a/ledger while it exists (status.references).", shadow.Message);
    }

    [Theory]
    [InlineData(null, TrustMode.Pinned, null)]
    [InlineData("", TrustMode.Pinned, null)]
    [InlineData("Pinned", TrustMode.Pinned, null)]
    [InlineData("Issuers", TrustMode.Issuers, null)]
    [InlineData("issuers", TrustMode.Pinned, "spec.trust \"issuers\" is not supported: use \"Pinned\" or \"Issuers\".")]
    [InlineData("CA", TrustMode.Pinned, "spec.trust \"CA\" is not supported: use \"Pinned\" or \"Issuers\".")]
    public void Trust_mode_parses_the_two_values_and_names_any_other(string? trust, TrustMode mode, string? problem)
    {
        var (parsed, error) = TrustResolution.ParseTrust(trust);

        Assert.Equal(mode, parsed);
        Assert.Equal(problem, error?.Message);
        Assert.Equal(problem is null ? null : Reasons.InvalidSpec, error?.Reason);
    }

    [Fact]
    public void The_trusts_issuers_sentence_names_each_ca_once()
    {
        Assert.Equal(
            "spec.trust is Issuers: every certificate issued by \"CN=Notary Root\", \"CN=Team CA\" is trusted, not only the listed services.",
            TrustResolution.TrustsIssuersMessage(["CN=Notary Root", "CN=Team CA", "CN=Notary Root"]));
        Assert.Equal(
            "spec.trust is Issuers, but the chains hold no CA certificate: only the listed certificates are trusted.",
            TrustResolution.TrustsIssuersMessage([]));
    }
}
