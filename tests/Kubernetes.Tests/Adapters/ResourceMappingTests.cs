using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Notary.Adapters.Kubernetes.Tests.Support;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Abs = Notary.Grains.Abstractions;
using Models = Notary.CustomResources.Models;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>ResourceMapping, table by table: specs into grain specs, grain status into the status subresource.</summary>
public sealed class ResourceMappingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 16, 17, 0, TimeSpan.Zero);

    public static TheoryData<string, Models.CertificateSpec, Abs.CertificateSpec> CertificateSpecs => new()
    {
        {
            "every field",
            new Models.CertificateSpec
            {
                Type = "Private", Fqdn = "api.shop.svc.cluster.local", Alt = ["api.example.com"], Issuer = "builtin",
                Duration = "2160h", RenewBefore = "720h", PrivateKey = new PrivateKeySpec { Algorithm = "ECDSA", Size = 384 },
            },
            new Abs.CertificateSpec
            {
                Type = "Private", Fqdn = "api.shop.svc.cluster.local", Alt = ["api.example.com"], Issuer = "builtin",
                Duration = "2160h", RenewBefore = "720h", KeyAlgorithm = "ECDSA", KeySize = 384,
            }
        },
        {
            "an issuerRef without a kind names an Issuer of the namespace",
            new Models.CertificateSpec { Type = "Private", Fqdn = "a.b", IssuerRef = new IssuerReference { Name = "team-ca" } },
            new Abs.CertificateSpec { Type = "Private", Fqdn = "a.b", IssuerRef = new IssuerRef("team-ca", IssuerKinds.Issuer) }
        },
        {
            "an issuerRef to a ClusterIssuer",
            new Models.CertificateSpec { Type = "Private", Fqdn = "a.b", IssuerRef = new IssuerReference { Name = "shared", Kind = "ClusterIssuer" } },
            new Abs.CertificateSpec { Type = "Private", Fqdn = "a.b", IssuerRef = new IssuerRef("shared", IssuerKinds.ClusterIssuer) }
        },
        {
            "only the required fields",
            new Models.CertificateSpec { Type = "Public", Fqdn = "a.b" },
            new Abs.CertificateSpec { Type = "Public", Fqdn = "a.b" }
        },
        {
            "empty strings mean unset",
            new Models.CertificateSpec { Type = "Private", Fqdn = "a.b", Issuer = "", Duration = "", RenewBefore = "", Alt = [] },
            new Abs.CertificateSpec { Type = "Private", Fqdn = "a.b" }
        },
        {
            "a key without a size keeps the algorithm's default",
            new Models.CertificateSpec { Type = "Private", Fqdn = "a.b", PrivateKey = new PrivateKeySpec { Algorithm = "RSA" } },
            new Abs.CertificateSpec { Type = "Private", Fqdn = "a.b", KeyAlgorithm = "RSA" }
        },
        {
            "values the schema should have refused are passed on for the grain to report",
            new Models.CertificateSpec { Type = "Secret", Fqdn = "NOT A NAME", PrivateKey = new PrivateKeySpec { Algorithm = "DSA", Size = 1024 } },
            new Abs.CertificateSpec { Type = "Secret", Fqdn = "NOT A NAME", KeyAlgorithm = "DSA", KeySize = 1024 }
        },
    };

    [Theory]
    [MemberData(nameof(CertificateSpecs))]
    public void Certificate_spec(string because, Models.CertificateSpec model, Abs.CertificateSpec expected)
    {
        var mapped = ResourceMapping.ToSpec(model);

        Assert.True(Same(expected, mapped), $"{because}: expected {Show(expected)}, got {Show(mapped)}");
    }

    public static TheoryData<string, Models.KeystoreSpec, Abs.KeystoreSpec> KeystoreSpecs => new()
    {
        {
            "every field",
            new Models.KeystoreSpec { Fqdn = "a.b", CertName = "api", Format = "JKS", MetadataSecret = "api-metadata" },
            new Abs.KeystoreSpec { Fqdn = "a.b", CertName = "api", Format = "JKS", MetadataSecret = "api-metadata" }
        },
        {
            "empty format and metadata Secret mean the defaults",
            new Models.KeystoreSpec { Fqdn = "a.b", CertName = "api", Format = "", MetadataSecret = "" },
            new Abs.KeystoreSpec { Fqdn = "a.b", CertName = "api" }
        },
    };

    [Theory]
    [MemberData(nameof(KeystoreSpecs))]
    public void Keystore_spec(string because, Models.KeystoreSpec model, Abs.KeystoreSpec expected) =>
        Assert.True(expected == ResourceMapping.ToSpec(model), because);

    public static TheoryData<string, Models.TruststoreSpec, Abs.TruststoreSpec> TruststoreSpecs => new()
    {
        {
            "references with and without a namespace",
            new Models.TruststoreSpec
            {
                Fqdn = "a.b", CertName = "api", Format = "PKCS12", MetadataSecret = "m", Trust = "Issuers",
                Upstream = [new PeerReference { Tag = "orders", Fqdn = "orders.o", Namespace = "orders" }],
                Downstream = [new PeerReference { Tag = "gw", Fqdn = "gw.e" }, new PeerReference { Tag = "batch", Fqdn = "b.j", Namespace = "" }],
            },
            new Abs.TruststoreSpec
            {
                Fqdn = "a.b", CertName = "api", Format = "PKCS12", MetadataSecret = "m", Trust = "Issuers",
                Upstream = [new TrustReference { Tag = "orders", Fqdn = "orders.o", Namespace = "orders" }],
                Downstream = [new TrustReference { Tag = "gw", Fqdn = "gw.e" }, new TrustReference { Tag = "batch", Fqdn = "b.j" }],
            }
        },
        {
            "empty lists",
            new Models.TruststoreSpec { Fqdn = "a.b", CertName = "api", Format = "", MetadataSecret = "", Trust = "" },
            new Abs.TruststoreSpec { Fqdn = "a.b", CertName = "api" }
        },
    };

    [Theory]
    [MemberData(nameof(TruststoreSpecs))]
    public void Truststore_spec(string because, Models.TruststoreSpec model, Abs.TruststoreSpec expected)
    {
        var mapped = ResourceMapping.ToSpec(model);

        Assert.True(
            (expected.Fqdn, expected.CertName, expected.Format, expected.MetadataSecret, expected.Trust) == (mapped.Fqdn, mapped.CertName, mapped.Format, mapped.MetadataSecret, mapped.Trust)
            && expected.Upstream.SequenceEqual(mapped.Upstream) && expected.Downstream.SequenceEqual(mapped.Downstream),
            because);
    }

    public static TheoryData<string, TrustSource, TrustSourceSpec> TrustSources => new()
    {
        { "a ConfigMap key", new TrustSource { ConfigMap = new() { Name = "partner-ca", Key = "ca.pem" } }, new TrustSourceSpec { Kind = TrustSourceKinds.ConfigMap, Name = "partner-ca", Key = "ca.pem" } },
        { "a Secret key", new TrustSource { Secret = new() { Name = "db-ca", Key = "bundle" } }, new TrustSourceSpec { Kind = TrustSourceKinds.Secret, Name = "db-ca", Key = "bundle" } },
        { "inline PEM", new TrustSource { Inline = "PEM" }, new TrustSourceSpec { Kind = TrustSourceKinds.Inline, Inline = "PEM" } },
        { "the machine's roots", new TrustSource { DefaultCAs = true }, new TrustSourceSpec { Kind = TrustSourceKinds.DefaultCAs } },
        { "defaultCAs false is no source", new TrustSource { DefaultCAs = false }, new TrustSourceSpec { Kind = "" } },
        { "two kinds at once (the CRD refuses it) is no source", new TrustSource { Inline = "PEM", DefaultCAs = true }, new TrustSourceSpec { Kind = "" } },
    };

    [Theory]
    [MemberData(nameof(TrustSources))]
    public void Trust_source(string because, TrustSource model, TrustSourceSpec expected)
    {
        Assert.True(expected == ResourceMapping.ToSource(model), because);
        var spec = ResourceMapping.ToSpec(new Models.TruststoreSpec { Fqdn = "a.b", CertName = "api", Sources = [model] });
        Assert.Equal([expected], spec.Sources);
    }

    [Theory]
    [InlineData("uid-1", 7L, "uid-1", 7L)]
    [InlineData(null, null, "", 0L)]
    public void Origin_is_uid_and_generation(string? uid, long? generation, string expectedUid, long expectedGeneration)
    {
        var certificate = new Certificate { Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = "shop", Uid = uid, Generation = generation } };

        Assert.Equal(new ResourceVersionInfo(expectedUid, expectedGeneration), ResourceMapping.OriginOf(certificate));
        Assert.Equal(new ResourceKey("shop", "api"), ResourceMapping.KeyOf(certificate));
    }

    [Theory]
    [InlineData(null, "notary-metadata")]
    [InlineData("", "notary-metadata")]
    [InlineData("api-metadata", "api-metadata")]
    public void Metadata_secret_defaults_as_the_CRD_does(string? name, string expected) =>
        Assert.Equal(expected, ResourceMapping.MetadataSecretOf(name));

    [Fact]
    public void Certificate_status_maps_every_field_and_is_valid_against_the_CRD()
    {
        var status = new Abs.CertificateStatus
        {
            Arn = "urn:notary:builtin:certificate/0a1b",
            SerialNumber = "0a1b",
            NotBefore = T0,
            NotAfter = T0.AddDays(90),
            RenewalTime = T0.AddDays(60),
            Revision = 3,
            Tags = new Dictionary<string, string> { ["team"] = "shop" },
            Conditions =
            [
                new StatusCondition(Conditions.Ready, Conditions.True, Reasons.Issued, "Issued serial 0a1b.", T0, 4),
                new StatusCondition(Conditions.Issuing, Conditions.False, Reasons.Issued, "", T0, 4),
            ],
            ObservedGeneration = 4,
        };

        var model = ResourceMapping.ToModel(status);

        Assert.Equal(("urn:notary:builtin:certificate/0a1b", "0a1b", T0, T0.AddDays(90), T0.AddDays(60), 3L, 4L),
            (model.Arn, model.SerialNumber, model.NotBefore, model.NotAfter, model.RenewalTime, model.Revision, model.ObservedGeneration));
        Assert.Equal("shop", model.Tags!["team"]);
        var ready = model.GetCondition(ConditionTypes.Ready)!;
        Assert.Equal(("True", "Issued", "Issued serial 0a1b.", T0, 4L), (ready.Status, ready.Reason, ready.Message, ready.LastTransitionTime, ready.ObservedGeneration));
        AssertValidStatus(NotaryResources.CertificatePlural, model);
    }

    [Fact]
    public void An_empty_certificate_status_omits_what_it_does_not_know()
    {
        var json = JsonNode.Parse(KubernetesJson.Serialize(ResourceMapping.ToModel(new Abs.CertificateStatus())))!.AsObject();

        Assert.Equal(["revision", "observedGeneration"], json.Select(p => p.Key).Order().Reverse());
    }

    public static TheoryData<string, Dictionary<string, long>, long?> KeystoreRevisions => new()
    {
        { "one certificate", new() { ["shop/api"] = 5 }, 5 },
        { "not built yet", new(), null },
    };

    [Theory]
    [MemberData(nameof(KeystoreRevisions))]
    public void Keystore_status_carries_the_single_certificate_revision(string because, Dictionary<string, long> revisions, long? expected)
    {
        var model = ResourceMapping.ToKeystoreModel(new StoreStatus
        {
            Arn = "k8s://shop/secrets/api",
            Location = "k8s://shop/secrets/api",
            CertificateRevisions = revisions,
            Conditions = [new StatusCondition(Conditions.Ready, Conditions.True, Reasons.Stored, "Stored.", T0, 1)],
            ObservedGeneration = 1,
        });

        Assert.True(expected == model.CertificateRevision, because);
        Assert.Equal("k8s://shop/secrets/api", model.Location);
        AssertValidStatus(NotaryResources.KeystorePlural, model);
    }

    [Fact]
    public void Truststore_status_carries_the_revision_map_and_entries()
    {
        var model = ResourceMapping.ToTruststoreModel(new StoreStatus
        {
            Arn = "k8s://shop/secrets/api-trust",
            Location = "k8s://shop/secrets/api-trust",
            CertificateRevisions = new Dictionary<string, long> { ["shop/api"] = 2, ["orders/orders"] = 1 },
            Entries = ["api", "orders", "notary-built-in-root-ca"],
            Conditions = [new StatusCondition(Conditions.Ready, Conditions.False, Reasons.MetadataMissing, "Secret shop/notary-metadata has no key metadata.json.", T0, 2)],
            ObservedGeneration = 2,
            References = [new BoundReference("orders", "orders", "uid-o"), new BoundReference("old", "legacy", null)],
        });

        Assert.Equal([("orders", "orders", "uid-o"), ("old", "legacy", null)], model.References!.Select(r => (r.Tag, r.Namespace, r.Uid)));
        Assert.Null(ResourceMapping.ToTruststoreModel(new StoreStatus()).References);
        Assert.Equal(2, model.CertificateRevision!["shop/api"]);
        Assert.Equal(1, model.CertificateRevision["orders/orders"]);
        Assert.Equal(["api", "orders", "notary-built-in-root-ca"], model.Entries);
        Assert.Equal(Reasons.MetadataMissing, model.GetCondition(ConditionTypes.Ready)!.Reason);
        AssertValidStatus(NotaryResources.TruststorePlural, model);
    }

    [Fact]
    public void A_condition_message_longer_than_the_CRD_allows_is_cut()
    {
        var condition = ResourceMapping.ToModel(new StatusCondition(Conditions.Ready, Conditions.False, "Broken", new string('x', 40000), T0, 1));

        Assert.Equal(ResourceMapping.MaxConditionMessageLength, condition.Message!.Length);
        Assert.EndsWith("…", condition.Message, StringComparison.Ordinal);
    }

    private static void AssertValidStatus<TStatus>(string plural, TStatus status)
    {
        var crd = Crds.Load(plural);
        using var document = JsonDocument.Parse(KubernetesJson.Serialize(status));
        var errors = SchemaValidator.Validate(Crds.At(crd, "status"), document.RootElement.Clone()).Errors;
        Assert.True(errors.Count == 0, $"{plural} status is invalid: {string.Join("; ", errors)}");
    }

    private static bool Same(Abs.CertificateSpec a, Abs.CertificateSpec b) =>
        (a.Type, a.Fqdn, a.Issuer, a.IssuerRef, a.Duration, a.RenewBefore, a.KeyAlgorithm, a.KeySize) == (b.Type, b.Fqdn, b.Issuer, b.IssuerRef, b.Duration, b.RenewBefore, b.KeyAlgorithm, b.KeySize)
        && a.Alt.SequenceEqual(b.Alt);

    private static string Show(Abs.CertificateSpec spec) => $"{spec} Alt=[{string.Join(",", spec.Alt)}]";
}
