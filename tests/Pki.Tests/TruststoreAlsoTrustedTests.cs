using Notary.Pki.Tests.Support;

namespace Notary.Pki.Tests;

/// <summary>
/// Make-before-break: a source's further trusted certificates (the one its keystore still serves
/// during a renewal, the previous ones during the overlap) sit right after it, aliased
/// "{name}.{namespace}-{first 8 hex of SHA-256 of the DER}", the current one keeping the plain alias.
/// </summary>
public sealed class TruststoreAlsoTrustedTests(TruststoreFixture pki) : IClassFixture<TruststoreFixture>
{
    [Fact]
    public void Further_certificates_of_a_source_follow_it_under_a_hashed_alias_with_their_chain_CAs_in_Issuers_mode()
    {
        // Up2 stands in for an older certificate of svc-a, issued by another root.
        var older = string.Join('\n', [pki.Up2.CertificatePem, .. pki.Up2.ChainPem]);
        var own = TestPki.Source("ns-a", "svc-a", pki.Own) with { AlsoTrustedPem = [older] };
        var entries = TruststorePolicy.Select(own, [TestPki.Source("ns-b", "svc-b", pki.Up1)], [], TrustMode.Issuers);

        Assert.Equal(
            [
                "svc-a.ns-a",
                $"svc-a.ns-a-{TruststoreFixture.Hash8(pki.Up2.CertificatePem)}",
                "svc-b.ns-b",
                $"ca-notary-root-ca-{TruststoreFixture.Hash8(pki.RootA.CertificatePem)}",
                $"ca-notary-root-ca-{TruststoreFixture.Hash8(pki.RootB.CertificatePem)}",
            ],
            entries.Select(e => e.Alias));
        Assert.Equal(TestPki.Parse(pki.Up2.CertificatePem).RawData, TestPki.Parse(entries[1].CertificatePem).RawData);
    }

    [Fact]
    public void Pinned_further_certificates_are_leaves_only()
    {
        var older = string.Join('\n', [pki.Up2.CertificatePem, .. pki.Up2.ChainPem]);
        var own = TestPki.Source("ns-a", "svc-a", pki.Own) with { AlsoTrustedPem = [older] };
        var entries = TruststorePolicy.Select(own, [TestPki.Source("ns-b", "svc-b", pki.Up1)], []);

        Assert.Equal(["svc-a.ns-a", $"svc-a.ns-a-{TruststoreFixture.Hash8(pki.Up2.CertificatePem)}", "svc-b.ns-b"], entries.Select(e => e.Alias));
    }

    [Fact]
    public void A_further_certificate_equal_to_the_current_one_appears_once()
    {
        var own = TestPki.Source("ns-a", "svc-a", pki.Own) with { AlsoTrustedPem = [pki.Own.CertificatePem] };
        Assert.Single(TruststorePolicy.Select(own, [], []), e => e.Alias.StartsWith("svc-a.ns-a", StringComparison.Ordinal));
    }
}
