using System.Text.RegularExpressions;
using Notary.Adapters.Kubernetes.Tests.Support;
using Notary.CustomResources;
using Notary.CustomResources.Models;

namespace Notary.Adapters.Kubernetes.Tests;

/// <summary>The CertificatePolicy CRD: cluster-scoped, its enums and patterns, and the mapping into the grains' spec.</summary>
public sealed class CertificatePolicyCrdTests
{
    private static readonly Regex DnsNamePattern = GoPattern.Compile(Crds.Items(Crds.At(Crds.Load(CertificatePolicy.KubePluralName), "spec", "dnsNames")).Pattern);

    [Fact]
    public void It_is_cluster_scoped_with_the_names_kubectl_uses()
    {
        var crd = Crds.Load(CertificatePolicy.KubePluralName);
        Assert.Equal("Cluster", crd.Spec.Scope);
        Assert.Equal("certificatepolicies.notary.dev", crd.Metadata.Name);
        Assert.Equal((CertificatePolicy.KubeKind, CertificatePolicyList.KubeKind, "certificatepolicy"), (crd.Spec.Names.Kind, crd.Spec.Names.ListKind, crd.Spec.Names.Singular));
        Assert.Equal(["notary"], crd.Spec.Names.Categories);
        Assert.NotNull(Crds.Version(crd).Subresources?.Status);
    }

    [Fact]
    public void Enums_and_patterns_refuse_what_the_name_policy_cannot_read()
    {
        var crd = Crds.Load(CertificatePolicy.KubePluralName);
        Assert.Equal(["Public", "Private"], Crds.EnumOf(Crds.Items(Crds.At(crd, "spec", "types"))));
        Assert.Equal(["RSA", "ECDSA"], Crds.EnumOf(Crds.Items(Crds.At(crd, "spec", "keyAlgorithms"))));
        Assert.Equal(["In", "NotIn", "Exists", "DoesNotExist"], Crds.EnumOf(Crds.Items(Crds.At(crd, "spec", "namespaceSelector", "matchExpressions")).Properties["operator"]));
        Assert.Equal(Crds.At(Crds.Load("certificates"), "spec", "duration").Pattern, Crds.At(crd, "spec", "maxDuration").Pattern);
    }

    [Theory]
    [InlineData("orders.orders.svc.cluster.local")]
    [InlineData("*.example.com")]
    [InlineData("**.example.com")]
    [InlineData("orders.*.svc.cluster.local")]
    [InlineData("**.*.example.com")]
    [InlineData("", false)]
    [InlineData("**", false)]
    [InlineData("a.**.com", false)]
    [InlineData("API.example.com", false)]
    [InlineData("a..com", false)]
    [InlineData("a*.example.com", false)]
    [InlineData("-a.example.com", false)]
    public void The_dnsNames_pattern_refuses_what_the_name_policy_refuses(string pattern, bool valid = true) =>
        // The same table as NamePolicyTests.Invalid_patterns_are_named (Grains.Policies.Tests).
        Assert.Equal(valid, DnsNamePattern.IsMatch(pattern));

    [Fact]
    public void A_policy_maps_to_the_grains_spec_as_written()
    {
        var spec = CertificatePolicyMapping.ToSpec(new CertificatePolicySpec
        {
            NamespaceSelector = new NamespaceSelector
            {
                MatchLabels = new Dictionary<string, string> { ["team"] = "a" },
                MatchExpressions = [new NamespaceSelectorRequirement { Key = "tier", Operator = "In", Values = ["edge"] }],
            },
            DnsNames = ["*.example.com"],
            Wildcards = true,
            Types = ["Public"],
            MaxDuration = "720h",
            Issuers = ["acm"],
            KeyAlgorithms = ["ECDSA"],
        });

        Assert.Equal("a", spec.NamespaceSelector!.MatchLabels["team"]);
        var requirement = Assert.Single(spec.NamespaceSelector.MatchExpressions);
        Assert.Equal(("tier", "In", "edge"), (requirement.Key, requirement.Operator, Assert.Single(requirement.Values)));
        Assert.Equal(["*.example.com"], spec.DnsNames);
        Assert.True(spec.Wildcards);
        Assert.Equal(["Public"], spec.Types);
        Assert.Equal("720h", spec.MaxDuration);
        Assert.Equal(["acm"], spec.Issuers);
        Assert.Equal(["ECDSA"], spec.KeyAlgorithms);

        var empty = CertificatePolicyMapping.ToSpec(new CertificatePolicySpec { MaxDuration = "" });
        Assert.Equal((null, false, null), (empty.NamespaceSelector, empty.Wildcards, empty.MaxDuration));
        Assert.Empty(empty.DnsNames);
    }
}
