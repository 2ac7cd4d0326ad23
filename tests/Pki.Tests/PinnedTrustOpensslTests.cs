using Notary.Pki.Tests.Support;

namespace Notary.Pki.Tests;

/// <summary>
/// What OpenSSL makes of a truststore's ca.crt (every trusted certificate as PEM): with
/// partial-chain verification a pinned leaf is a trust anchor of its own, so a listed peer
/// verifies and an unlisted peer from the same CA does not. Without partial-chain OpenSSL insists
/// on a self-signed anchor, which is why such consumers (nginx) need Issuers mode.
/// </summary>
[Trait("Category", "Slow")]
public sealed class PinnedTrustOpensslTests(InteropFixture pki) : IClassFixture<InteropFixture>
{
    [Fact]
    public async Task Partial_chain_verification_accepts_the_listed_leaf_and_refuses_the_unlisted_one_from_the_same_ca()
    {
        using var dir = new TempDirectory();
        var caCrt = CaCrt(dir, TrustMode.Pinned);
        var listed = dir.Write("b.pem", pki.B.CertificatePem);
        var stranger = dir.Write("d.pem", pki.D.CertificatePem);

        var ok = await Tools.OpensslAsync("verify", "-partial_chain", "-purpose", "sslclient", "-CAfile", caCrt, listed);
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Contains(": OK", ok.StdOut, StringComparison.Ordinal);

        var refused = await Tools.OpensslAsync("verify", "-partial_chain", "-purpose", "sslclient", "-CAfile", caCrt, stranger);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("unable to get local issuer certificate", refused.ToString(), StringComparison.Ordinal);

        // Without partial-chain verification even the listed leaf fails: no self-signed anchor.
        var strict = await Tools.OpensslAsync("verify", "-purpose", "sslclient", "-CAfile", caCrt, listed);
        Assert.NotEqual(0, strict.ExitCode);
    }

    [Fact]
    public async Task In_issuers_mode_ca_crt_accepts_the_unlisted_leaf_from_the_same_ca_even_without_partial_chain()
    {
        using var dir = new TempDirectory();
        var caCrt = CaCrt(dir, TrustMode.Issuers);
        var stranger = dir.Write("d.pem", pki.D.CertificatePem);

        var run = await Tools.OpensslAsync("verify", "-purpose", "sslclient", "-CAfile", caCrt, stranger);
        Assert.True(run.ExitCode == 0, run.ToString());
    }

    /// <summary>svc-a's ca.crt: svc-a itself and svc-b upstream (same CA as svc-d, which it does not list).</summary>
    private string CaCrt(TempDirectory dir, TrustMode mode)
    {
        var entries = TruststorePolicy.Select(TestPki.Source("ns-a", "svc-a", pki.RsaA), [TestPki.Source("ns-b", "svc-b", pki.B)], [], mode);
        return dir.Write($"ca-{mode}.crt", string.Concat(entries.Select(e => e.CertificatePem)));
    }
}
