using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using Notary.Adapters.Kubernetes.Tests.Support;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.Adapters.Kubernetes.Tests;

/// <summary>
/// The Issuer and ClusterIssuer CRDs (names, scope, columns, the one-of spec, patterns), their
/// models' round trip through the schema, and the mapping to the issuer grain's terms.
/// </summary>
public sealed class IssuerResourceTests
{
    [Theory]
    [InlineData("issuers", "Issuer", "issuer", "Namespaced")]
    [InlineData("clusterissuers", "ClusterIssuer", "clusterissuer", "Cluster")]
    public void Names_scope_status_subresource_and_columns_are_as_specified(string plural, string kind, string singular, string scope)
    {
        var crd = Crds.Load(plural);

        Assert.Equal($"{plural}.{NotaryResources.Group}", crd.Metadata.Name);
        Assert.Equal(scope, crd.Spec.Scope);
        Assert.Equal(kind, crd.Spec.Names.Kind);
        Assert.Equal(kind + "List", crd.Spec.Names.ListKind);
        Assert.Equal(singular, crd.Spec.Names.Singular);
        Assert.Equal(["notary"], crd.Spec.Names.Categories);
        var version = Crds.Version(crd);
        Assert.Equal(NotaryResources.Version, version.Name);
        Assert.NotNull(version.Subresources?.Status);

        var columns = version.AdditionalPrinterColumns.Select(c => (c.Name, c.JsonPath, c.Priority ?? 0)).ToArray();
        Assert.Equal(
            [
                ("Type", ".status.type", 0),
                ("Ready", ".status.conditions[?(@.type==\"Ready\")].status", 0),
                ("Age", ".metadata.creationTimestamp", 0),
                ("Reason", ".status.conditions[?(@.type==\"Ready\")].reason", 1),
                ("CA Expires", ".status.caNotAfter", 1),
                ("Rotation", ".status.rotation.phase", 1),
                ("Remaining", ".status.rotation.remaining", 1),
            ],
            columns);
    }

    [Fact]
    public void Model_kinds_and_plurals_agree_with_the_manifests()
    {
        Assert.Equal(new Issuer().Kind, Crds.Load(Issuer.KubePluralName).Spec.Names.Kind);
        Assert.Equal(IssuerList.KubeKind, Crds.Load(Issuer.KubePluralName).Spec.Names.ListKind);
        Assert.Equal(new ClusterIssuer().Kind, Crds.Load(ClusterIssuer.KubePluralName).Spec.Names.Kind);
        Assert.Equal(ClusterIssuerList.KubeKind, Crds.Load(ClusterIssuer.KubePluralName).Spec.Names.ListKind);
        Assert.Equal(IssuerKinds.Issuer, Issuer.KubeKind);
        Assert.Equal(IssuerKinds.ClusterIssuer, ClusterIssuer.KubeKind);
    }

    [Theory]
    [InlineData("issuers")]
    [InlineData("clusterissuers")]
    public void Spec_is_exactly_one_of_builtin_ca_acm_for_every_API_server(string plural)
    {
        var crd = Crds.Load(plural);
        var spec = Crds.At(crd, "spec");

        Assert.Equal(["spec"], Crds.Root(crd).Required);
        Assert.Equal(["builtin", "ca", "acm"], spec.Properties.Keys);
        Assert.Equal(1, spec.MinProperties);
        Assert.Equal(1, spec.MaxProperties);
        var rule = Assert.Single(spec.XKubernetesValidations);
        Assert.Equal("[has(self.builtin), has(self.ca), has(self.acm)].filter(x, x).size() == 1", rule.Rule);
        Assert.Equal("spec must set exactly one of builtin, ca, acm", rule.Message);
        Assert.Equal(["secretName"], Crds.At(crd, "spec", "ca").Required);
        Assert.Equal(["region", "privateCaArn"], Crds.At(crd, "spec", "acm").Required);
        Assert.Equal(
            ["observedGeneration", "type", "caFingerprint", "caNotAfter", "certificates", "rotation", "conditions"],
            Crds.At(crd, "status").Properties.Keys);
        Assert.Equal(["phase", "fromFingerprint", "toFingerprint", "total", "remaining", "started", "leftBehind", "leftBehindCount"], Crds.At(crd, "status", "rotation").Properties.Keys);
        Assert.Equal(20L, Crds.At(crd, "status", "rotation", "leftBehind").MaxItems);
    }

    [Fact]
    public void Certificate_issuerRef_requires_a_name_and_defaults_its_kind_to_Issuer()
    {
        var crd = Crds.Load(NotaryResources.CertificatePlural);

        Assert.Equal(["name"], Crds.At(crd, "spec", "issuerRef").Required);
        var kind = Crds.At(crd, "spec", "issuerRef", "kind");
        Assert.Equal([IssuerKinds.Issuer, IssuerKinds.ClusterIssuer], Crds.EnumOf(kind));
        Assert.Equal(IssuerKinds.Issuer, kind.DefaultProperty?.ToString());
    }

    [Fact]
    public void Issuer_samples_together_reach_every_field_and_read_back_unchanged()
    {
        var visited = new HashSet<string>(StringComparer.Ordinal);
        visited.UnionWith(RoundTrip(Samples.CaIssuer(), NotaryResources.IssuerPlural));
        visited.UnionWith(RoundTrip(Samples.BuiltinIssuer(), NotaryResources.IssuerPlural));
        var acm = Samples.AcmClusterIssuer();
        visited.UnionWith(RoundTrip(acm, NotaryResources.ClusterIssuerPlural));

        var unvisited = Crds.Walk(Crds.Root(Crds.Load(NotaryResources.IssuerPlural)), "")
            .Select(field => field.Path)
            .Where(path => !path.StartsWith("metadata", StringComparison.Ordinal) && !visited.Contains(path))
            .ToList();
        Assert.True(unvisited.Count == 0, $"the samples leave out {string.Join(", ", unvisited)}");

        // builtin: {} is written as an empty object, and read back as present.
        var json = JsonNode.Parse(KubernetesJson.Serialize(Samples.BuiltinIssuer()))!;
        Assert.Equal("{}", json["spec"]!["builtin"]!.ToJsonString());
    }

    public static TheoryData<string, string, string> InvalidSpecs => new()
    {
        { "two kinds", """{"builtin":{},"ca":{"secretName":"x"}}""", "spec: 2 properties, more than maxProperties 1" },
        { "no kind", "{}", "spec: 0 properties, fewer than minProperties 1" },
        { "ca without a secret", """{"ca":{}}""", "spec.ca.secretName: required" },
        { "a secret name that is no DNS name", """{"ca":{"secretName":"Team_CA"}}""", "spec.ca.secretName: 'Team_CA' does not match" },
        { "acm without a CA", """{"acm":{"region":"eu-west-1"}}""", "spec.acm.privateCaArn: required" },
        { "a CA ARN of another service", """{"acm":{"region":"eu-west-1","privateCaArn":"arn:aws:acm:eu-west-1:123456789012:certificate/x"}}""", "spec.acm.privateCaArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/x' does not match" },
        { "a region that is not one", """{"acm":{"region":"EU West","privateCaArn":"arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/a"}}""", "spec.acm.region: 'EU West' does not match" },
        { "a role ARN that is a user", """{"acm":{"region":"eu-west-1","privateCaArn":"arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/a","roleArn":"arn:aws:iam::123456789012:user/bob"}}""", "spec.acm.roleArn: 'arn:aws:iam::123456789012:user/bob' does not match" },
        { "plain http to a remote host", """{"acm":{"region":"eu-west-1","privateCaArn":"arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/a","serviceUrl":"http://attacker.example"}}""", "spec.acm.serviceUrl: 'http://attacker.example' does not match" },
    };

    [Theory]
    [MemberData(nameof(InvalidSpecs))]
    public void Invalid_specs_are_refused_naming_the_field(string because, string spec, string expected)
    {
        var json = new JsonObject
        {
            ["apiVersion"] = NotaryResources.ApiVersion,
            ["kind"] = Issuer.KubeKind,
            ["metadata"] = new JsonObject { ["name"] = "x", ["namespace"] = "y" },
            ["spec"] = JsonNode.Parse(spec),
        };

        var errors = Validate(NotaryResources.IssuerPlural, json).Errors;

        Assert.True(errors.Any(error => error.StartsWith(expected, StringComparison.Ordinal)), $"{because}: {string.Join("; ", errors)}");
    }

    [Theory]
    [InlineData("http://localhost:5000")]
    [InlineData("http://127.0.0.1:5000/")]
    [InlineData("https://acm-pca.eu-west-1.amazonaws.com")]
    public void Service_urls_for_tests_and_VPC_endpoints_are_accepted(string url)
    {
        var json = JsonNode.Parse("""{"apiVersion":"notary.dev/v1alpha1","kind":"Issuer","metadata":{"name":"x"},"spec":{"acm":{"region":"us-east-1","privateCaArn":"arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/a"}}}""")!;
        json["spec"]!["acm"]!["serviceUrl"] = url;

        Assert.Empty(Validate(NotaryResources.IssuerPlural, json).Errors);
    }

    [Fact]
    public void Keys_specs_and_status_map_to_the_issuer_grain_terms()
    {
        Assert.Equal("Issuer/payments/team-ca", IssuerMapping.KeyOf(Samples.CaIssuer()));
        Assert.Equal("ClusterIssuer/shared-pca", IssuerMapping.KeyOf(Samples.AcmClusterIssuer()));

        var ca = IssuerMapping.ToSpec(Samples.CaIssuer().Spec);
        Assert.Equal(new IssuerSpec { Ca = new CaIssuerSpec("team-intermediate") }, ca);
        Assert.Equal("ca", ca.Type);
        Assert.Equal("team-intermediate", IssuerMapping.CaSecretOf(Samples.CaIssuer().Spec));
        Assert.Null(IssuerMapping.CaSecretOf(Samples.BuiltinIssuer().Spec));

        var builtin = IssuerMapping.ToSpec(Samples.BuiltinIssuer().Spec);
        Assert.Equal("builtin", builtin.Type);

        var acm = IssuerMapping.ToSpec(Samples.AcmClusterIssuer().Spec);
        Assert.Equal("acm", acm.Type);
        Assert.Equal("arn:aws:iam::210987654321:role/notary-issuer", acm.Acm!.RoleArn);
        Assert.Null(IssuerMapping.ToSpec(new IssuerResourceSpec { Acm = new AcmIssuer { Region = "r", PrivateCaArn = "a", RoleArn = "" } }).Acm!.RoleArn);

        // None or several pass through: the grain reports InvalidSpec (the schema refuses them first where enforced).
        Assert.Null(IssuerMapping.ToSpec(new IssuerResourceSpec()).Type);
        Assert.Null(IssuerMapping.ToSpec(new IssuerResourceSpec { Builtin = new BuiltinIssuer(), Ca = new CaIssuer { SecretName = "x" } }).Type);
    }

    [Fact]
    public void Status_maps_every_field_and_leaves_out_what_is_unset()
    {
        var started = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var status = new IssuerStatus
        {
            Conditions = [new StatusCondition("Ready", "True", "CaLoaded", "ok", started, 4)],
            ObservedGeneration = 4,
            CaFingerprint = "AB",
            CaNotAfter = started.AddDays(30),
            Certificates = 3,
            Type = "ca",
            Rotation = new IssuerRotationStatus { Phase = "Reissuing", FromFingerprint = "AB", ToFingerprint = "CD", Total = 3, Remaining = 1, Started = started, LeftBehind = ["team/orders"], LeftBehindCount = 1 },
        };

        var model = IssuerMapping.ToModel(status);

        Assert.Equal(("ca", "AB", started.AddDays(30), 3, 4L), (model.Type, model.CaFingerprint, model.CaNotAfter, model.Certificates, model.ObservedGeneration));
        Assert.Equal(("Reissuing", "AB", "CD", 3, 1, started), (model.Rotation!.Phase, model.Rotation.FromFingerprint, model.Rotation.ToFingerprint, model.Rotation.Total, model.Rotation.Remaining, model.Rotation.Started));
        Assert.Equal(["team/orders"], model.Rotation.LeftBehind!);
        Assert.Equal(1, model.Rotation.LeftBehindCount);
        Assert.Equal("CaLoaded", Assert.Single(model.Conditions!).Reason);
        var rotating = IssuerMapping.ToModel(status with { Rotation = status.Rotation with { LeftBehind = [], LeftBehindCount = 0 } });
        Assert.DoesNotContain("leftBehind", JsonNode.Parse(KubernetesJson.Serialize(rotating.Rotation))!.AsObject().Select(p => p.Key));

        var bare = IssuerMapping.ToModel(new IssuerStatus());
        var json = JsonNode.Parse(KubernetesJson.Serialize(bare))!.AsObject();
        Assert.DoesNotContain("rotation", json.Select(p => p.Key));
        Assert.DoesNotContain("type", json.Select(p => p.Key));
    }

    private static HashSet<string> RoundTrip<T>(T sample, string plural)
        where T : IKubernetesObject
    {
        var json = KubernetesJson.Serialize(sample);
        var validation = Validate(plural, JsonNode.Parse(json)!);
        Assert.True(validation.Errors.Count == 0, $"{plural}: {string.Join("; ", validation.Errors)}");
        Assert.Equal(json, KubernetesJson.Serialize(KubernetesJson.Deserialize<T>(json)));
        return validation.Visited;
    }

    private static SchemaValidator Validate(string plural, JsonNode json)
    {
        using var document = JsonDocument.Parse(json.ToJsonString());
        return SchemaValidator.Validate(Crds.Root(Crds.Load(plural)), document.RootElement.Clone());
    }
}
