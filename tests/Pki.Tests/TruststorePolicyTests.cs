using System.Security.Cryptography;
using Notary.Pki.Tests.Support;

namespace Notary.Pki.Tests;

/// <summary>Certificates shared by the policy tests: two roots with the same CN, one with an awkward CN.</summary>
public sealed class TruststoreFixture : IDisposable
{
    public TruststoreFixture()
    {
        RootA = TestPki.NewCa("Notary Root CA");
        RootB = TestPki.NewCa("Notary Root CA");
        Odd = TestPki.NewCa("  ACME, Corp. :: Internal Services Root CA abc 2026 (prod)!!");
        Own = TestPki.Issue(RootA, "svc-a.ns-a.svc.cluster.local");
        Up1 = TestPki.Issue(RootA, "svc-b.ns-b.svc.cluster.local");
        Up2 = TestPki.Issue(RootB, "svc-c.ns-c.svc.cluster.local");
        Down1 = TestPki.Issue(Odd, "svc-d.ns-d.svc.cluster.local");
    }

    public CertificateAuthority RootA { get; }
    public CertificateAuthority RootB { get; }
    public CertificateAuthority Odd { get; }
    public IssuedCertificate Own { get; }
    public IssuedCertificate Up1 { get; }
    public IssuedCertificate Up2 { get; }
    public IssuedCertificate Down1 { get; }

    public static string Hash8(string pem) =>
        Convert.ToHexStringLower(SHA256.HashData(TestPki.Parse(pem).RawData))[..8];

    public void Dispose()
    {
        RootA.Dispose();
        RootB.Dispose();
        Odd.Dispose();
    }
}

public sealed class TruststorePolicyTests(TruststoreFixture pki) : IClassFixture<TruststoreFixture>
{
    private TrustSource Own => TestPki.Source("ns-a", "svc-a", pki.Own);

    [Fact]
    public void Own_certificate_alone_brings_its_root_in_issuers_mode()
    {
        var entries = TruststorePolicy.Select(Own, [], [], TrustMode.Issuers);

        Assert.Equal(["svc-a.ns-a", $"ca-notary-root-ca-{TruststoreFixture.Hash8(pki.RootA.CertificatePem)}"], entries.Select(e => e.Alias));
        Assert.Equal(pki.Own.CertificatePem, entries[0].CertificatePem);
        Assert.Equal(pki.RootA.CertificatePem, entries[1].CertificatePem);
    }

    [Fact]
    public void Pinned_is_the_default_and_holds_the_leaves_only()
    {
        var entries = TruststorePolicy.Select(
            Own,
            [TestPki.Source("ns-c", "svc-c", pki.Up2), TestPki.Source("ns-b", "svc-b", pki.Up1)],
            [TestPki.Source("ns-d", "svc-d", pki.Down1)]);

        Assert.Equal(["svc-a.ns-a", "svc-c.ns-c", "svc-b.ns-b", "svc-d.ns-d"], entries.Select(e => e.Alias));
        Assert.Equal([pki.Own.CertificatePem, pki.Up2.CertificatePem, pki.Up1.CertificatePem, pki.Down1.CertificatePem], entries.Select(e => e.CertificatePem));
        Assert.Equal(entries, TruststorePolicy.Select(Own, [TestPki.Source("ns-c", "svc-c", pki.Up2), TestPki.Source("ns-b", "svc-b", pki.Up1)], [TestPki.Source("ns-d", "svc-d", pki.Down1)], TrustMode.Pinned));
        Assert.Empty(TruststorePolicy.IssuerSubjects(entries));
        // A Certificate named like a CA alias is still a leaf.
        Assert.Empty(TruststorePolicy.IssuerSubjects(TruststorePolicy.Select(TestPki.Source("ns-b", "ca-b", pki.Up1), [], [])));
    }

    [Fact]
    public void Further_leaves_get_the_alias_with_their_hash_and_in_issuers_mode_their_chain()
    {
        var next = TestPki.Issue(pki.RootB, "svc-b.ns-b.svc.cluster.local");
        var previous = TestPki.Issue(pki.RootA, "svc-b.ns-b.svc.cluster.local");
        var source = new TrustSource("ns-b", "svc-b", pki.Up1.CertificatePem, pki.Up1.ChainPem, [next.CertificatePem + next.ChainPem[0], previous.CertificatePem]);

        var pinned = TruststorePolicy.Select(Own, [source], []);
        Assert.Equal(
            ["svc-a.ns-a", "svc-b.ns-b", $"svc-b.ns-b-{TruststoreFixture.Hash8(next.CertificatePem)}", $"svc-b.ns-b-{TruststoreFixture.Hash8(previous.CertificatePem)}"],
            pinned.Select(e => e.Alias));
        Assert.Equal([pki.Own.CertificatePem, pki.Up1.CertificatePem, next.CertificatePem, previous.CertificatePem], pinned.Select(e => e.CertificatePem));

        var issuers = TruststorePolicy.Select(Own, [source], [], TrustMode.Issuers);
        Assert.Equal(
            [.. pinned.Select(e => e.Alias), $"ca-notary-root-ca-{TruststoreFixture.Hash8(pki.RootA.CertificatePem)}", $"ca-notary-root-ca-{TruststoreFixture.Hash8(pki.RootB.CertificatePem)}"],
            issuers.Select(e => e.Alias));
        Assert.Equal(["CN=Notary Root CA", "CN=Notary Root CA"], TruststorePolicy.IssuerSubjects(issuers));
    }

    [Fact]
    public void A_further_leaf_equal_to_the_current_one_appears_once()
    {
        var source = new TrustSource("ns-b", "svc-b", pki.Up1.CertificatePem, pki.Up1.ChainPem, [pki.Up1.CertificatePem]);

        Assert.Equal(["svc-a.ns-a", "svc-b.ns-b"], TruststorePolicy.Select(Own, [source], []).Select(e => e.Alias));
    }

    [Fact]
    public void An_unparseable_further_certificate_names_its_source()
    {
        var source = new TrustSource("ns-b", "svc-b", pki.Up1.CertificatePem, pki.Up1.ChainPem, ["garbage"]);

        var error = Assert.Throws<PkiException>(() => TruststorePolicy.Select(Own, [source], []));
        Assert.Equal("further certificate #0 of ns-b/svc-b: no PEM CERTIFICATE block found", error.Message);
    }

    [Fact]
    public void Order_is_own_then_upstream_then_downstream_then_cas_by_first_appearance()
    {
        var entries = TruststorePolicy.Select(
            Own,
            [TestPki.Source("ns-c", "svc-c", pki.Up2), TestPki.Source("ns-b", "svc-b", pki.Up1)],
            [TestPki.Source("ns-d", "svc-d", pki.Down1)], TrustMode.Issuers);

        Assert.Equal(
            [
                "svc-a.ns-a",
                "svc-c.ns-c",
                "svc-b.ns-b",
                "svc-d.ns-d",
                $"ca-notary-root-ca-{TruststoreFixture.Hash8(pki.RootA.CertificatePem)}",
                $"ca-notary-root-ca-{TruststoreFixture.Hash8(pki.RootB.CertificatePem)}",
                $"ca-acme-corp-internal-services-root-ca-abc-{TruststoreFixture.Hash8(pki.Odd.CertificatePem)}",
            ],
            entries.Select(e => e.Alias));
        Assert.Equal(
            [pki.Own.CertificatePem, pki.Up2.CertificatePem, pki.Up1.CertificatePem, pki.Down1.CertificatePem, pki.RootA.CertificatePem, pki.RootB.CertificatePem, pki.Odd.CertificatePem],
            entries.Select(e => e.CertificatePem));
    }

    [Fact]
    public void Two_roots_with_the_same_common_name_get_different_aliases()
    {
        var entries = TruststorePolicy.Select(Own, [TestPki.Source("ns-c", "svc-c", pki.Up2)], [], TrustMode.Issuers);

        var cas = entries.Where(e => e.Alias.StartsWith("ca-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, cas.Count);
        Assert.NotEqual(cas[0].Alias, cas[1].Alias);
        Assert.All(cas, e => Assert.Matches("^ca-notary-root-ca-[0-9a-f]{8}$", e.Alias));
    }

    [Fact]
    public void Ca_alias_is_sanitized_lowercase_at_most_forty_characters_then_hash()
    {
        var entries = TruststorePolicy.Select(TestPki.Source("ns-d", "svc-d", pki.Down1), [], [], TrustMode.Issuers);

        var ca = entries[1].Alias;
        var name = ca["ca-".Length..^"-12345678".Length];
        Assert.Equal("acme-corp-internal-services-root-ca-abc", name);
        Assert.True(name.Length <= 40);
        Assert.Matches("^ca-[a-z0-9]+(-[a-z0-9]+)*-[0-9a-f]{8}$", ca);
    }

    [Fact]
    public void Shared_ca_appears_once()
    {
        var entries = TruststorePolicy.Select(Own, [TestPki.Source("ns-b", "svc-b", pki.Up1)], [], TrustMode.Issuers);

        Assert.Equal(3, entries.Count);
        Assert.Single(entries, e => e.CertificatePem == pki.RootA.CertificatePem);
    }

    [Fact]
    public void Own_certificate_listed_upstream_and_downstream_appears_once_under_the_first_alias()
    {
        var entries = TruststorePolicy.Select(
            Own,
            [Own, TestPki.Source("ns-b", "svc-b", pki.Up1), TestPki.Source("other", "alias-of-a", pki.Own)],
            [TestPki.Source("ns-b", "svc-b", pki.Up1)], TrustMode.Issuers);

        Assert.Equal(["svc-a.ns-a", "svc-b.ns-b", $"ca-notary-root-ca-{TruststoreFixture.Hash8(pki.RootA.CertificatePem)}"], entries.Select(e => e.Alias));
    }

    [Fact]
    public void A_chain_that_repeats_a_listed_leaf_keeps_the_leaf_alias()
    {
        // An issuer that hands back the leaf inside its chain must not add a "ca-" twin of it.
        var sloppy = new TrustSource("ns-b", "svc-b", pki.Up1.CertificatePem, [pki.Up1.CertificatePem, .. pki.Up1.ChainPem]);
        var entries = TruststorePolicy.Select(Own, [sloppy], [], TrustMode.Issuers);

        Assert.Equal(3, entries.Count);
        Assert.Equal("svc-b.ns-b", entries[1].Alias);
    }

    [Fact]
    public void Leaf_aliases_are_lowercased()
    {
        var entries = TruststorePolicy.Select(TestPki.Source("NS-A", "Svc-A", pki.Own), [], [], TrustMode.Issuers);
        Assert.Equal("svc-a.ns-a", entries[0].Alias);
    }

    [Fact]
    public void Same_input_gives_the_same_output()
    {
        TrustSource[] upstream = [TestPki.Source("ns-c", "svc-c", pki.Up2), TestPki.Source("ns-b", "svc-b", pki.Up1)];
        TrustSource[] downstream = [TestPki.Source("ns-d", "svc-d", pki.Down1)];

        var first = TruststorePolicy.Select(Own, upstream, downstream, TrustMode.Issuers);
        var second = TruststorePolicy.Select(Own, upstream, downstream, TrustMode.Issuers);

        Assert.Equal(first, second);
        Assert.Equal(7, first.Count);
    }

    [Fact]
    public void An_unparseable_certificate_names_its_source()
    {
        var broken = new TrustSource("ns-x", "svc-x", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", []);
        var error = Assert.Throws<PkiException>(() => TruststorePolicy.Select(Own, [broken], [], TrustMode.Issuers));
        Assert.StartsWith("certificate ns-x/svc-x: not a parseable X.509 certificate", error.Message, StringComparison.Ordinal);

        var empty = new TrustSource("ns-y", "svc-y", "", []);
        error = Assert.Throws<PkiException>(() => TruststorePolicy.Select(Own, [], [empty], TrustMode.Issuers));
        Assert.Equal("certificate ns-y/svc-y: no PEM CERTIFICATE block found", error.Message);
    }

    [Fact]
    public void An_unparseable_chain_certificate_names_its_source()
    {
        var broken = new TrustSource("ns-b", "svc-b", pki.Up1.CertificatePem, ["garbage"]);
        var error = Assert.Throws<PkiException>(() => TruststorePolicy.Select(Own, [broken], [], TrustMode.Issuers));
        Assert.Equal("chain certificate #0 of ns-b/svc-b: no PEM CERTIFICATE block found", error.Message);
    }
}
