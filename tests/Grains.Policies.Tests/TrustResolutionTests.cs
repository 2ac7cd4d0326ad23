using Notary.Grains.Abstractions;
using Notary.Pki;

namespace Notary.Grains.Policies.Tests;

/// <summary>What PolicyTests leaves out of a truststore's resolution: namespaces given, combined problems, sources by side.</summary>
public sealed class TrustResolutionTests
{
    private static readonly DateTimeOffset NotAfter = new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static CertificateSnapshot Issued(string ns, string name, string fqdn) =>
        new(new ResourceKey(ns, name), true, fqdn, 1, new PublicMaterial($"arn:{name}", $"pem:{name}", [$"chain:{name}"], "01", NotAfter));

    [Fact]
    public void A_reference_with_a_namespace_is_not_looked_up_and_an_empty_one_is()
    {
        var spec = new TruststoreSpec
        {
            Fqdn = "me.ns.svc",
            CertName = "me",
            Upstream = [new TrustReference { Tag = "given", Fqdn = "g.x.svc", Namespace = "x" }, new TrustReference { Tag = "empty", Fqdn = "e.svc", Namespace = "" }],
            Downstream = [new TrustReference { Tag = "empty", Fqdn = "e.svc" }],
        };
        Assert.Equal(["empty"], TrustResolution.TagsToLookUp(spec));
        var (resolved, problem) = TrustResolution.Resolve("ns", spec, new Dictionary<string, IReadOnlyList<TagRegistration>> { ["empty"] = [new("z", "e.svc")] });
        Assert.Null(problem);
        Assert.Equal(
            [("spec.certName", "ns/me", "me.ns.svc"), ("spec.upstream[0]", "x/given", "g.x.svc"), ("spec.upstream[1]", "z/empty", "e.svc"), ("spec.downstream[0]", "z/empty", "e.svc")],
            resolved.Select(r => (r.Field, r.Certificate.ToString(), r.ExpectedFqdn)));
    }

    [Fact]
    public void Sources_put_the_own_certificate_first_then_upstream_and_downstream_in_spec_order()
    {
        var references = new List<ResolvedReference>
        {
            new("spec.certName", new ResourceKey("ns", "me"), "me.ns.svc"),
            new("spec.upstream[0]", new ResourceKey("a", "up0"), "up0.a.svc"),
            new("spec.downstream[0]", new ResourceKey("b", "down0"), "down0.b.svc"),
            new("spec.upstream[1]", new ResourceKey("c", "up1"), "up1.c.svc"),
        };
        var snapshots = new Dictionary<ResourceKey, CertificateSnapshot>
        {
            [new("ns", "me")] = Issued("ns", "me", "me.ns.svc"),
            [new("a", "up0")] = Issued("a", "up0", "up0.a.svc"),
            [new("b", "down0")] = Issued("b", "down0", "down0.b.svc"),
            [new("c", "up1")] = Issued("c", "up1", "up1.c.svc"),
        };

        var (own, upstream, downstream) = TrustResolution.Sources(references, snapshots);

        Assert.Equal(new TrustSource("ns", "me", "pem:me", ["chain:me"]).ToString(), own.ToString());
        Assert.Equal(("ns", "me", "pem:me"), (own.Namespace, own.Name, own.CertificatePem));
        Assert.Equal(["chain:me"], own.ChainPem);
        Assert.Equal([("a", "up0", "pem:up0"), ("c", "up1", "pem:up1")], upstream.Select(s => (s.Namespace, s.Name, s.CertificatePem)));
        Assert.Equal([("b", "down0", "pem:down0")], downstream.Select(s => (s.Namespace, s.Name, s.CertificatePem)));
    }

    [Fact]
    public void Several_problems_combine_into_the_first_reason_and_every_message()
    {
        Assert.Null(TrustResolution.Combine([]));
        var one = new Problem(Reasons.FqdnMismatch, "one");
        Assert.Same(one, TrustResolution.Combine([one]));
        Assert.Equal(
            new Problem(Reasons.CertificateDeleted, "first; second; third"),
            TrustResolution.Combine([new(Reasons.CertificateDeleted, "first"), new(Reasons.UnresolvedReference, "second"), new(Reasons.FqdnMismatch, "third")]));
    }
}
