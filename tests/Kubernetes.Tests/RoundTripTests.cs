using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Notary.Adapters.Kubernetes.Tests.Support;
using Notary.CustomResources.Models;

namespace Notary.Adapters.Kubernetes.Tests;

/// <summary>
/// What KubernetesJson writes from the models is valid against the CRD schemas, and reads back to
/// the same object; invalid objects are refused by the schema with the field named.
/// </summary>
public sealed class RoundTripTests
{
    [Fact]
    public void Certificate_serializes_to_a_schema_valid_object_that_reads_back_unchanged() =>
        AssertValidRoundTrip(Samples.Certificate(), NotaryResources.CertificatePlural);

    [Fact]
    public void Keystore_serializes_to_a_schema_valid_object_that_reads_back_unchanged() =>
        AssertValidRoundTrip(Samples.Keystore(), NotaryResources.KeystorePlural);

    [Fact]
    public void Truststore_serializes_to_a_schema_valid_object_that_reads_back_unchanged() =>
        AssertValidRoundTrip(Samples.Truststore(), NotaryResources.TruststorePlural);

    [Fact]
    public void Timestamps_are_written_as_RFC_3339_in_UTC()
    {
        var json = JsonNode.Parse(KubernetesJson.Serialize(Samples.Certificate()))!;

        Assert.Equal("2026-11-22T16:17:00Z", json["status"]!["notBefore"]!.GetValue<string>());
        Assert.Equal("2026-11-22T16:17:00Z", json["status"]!["conditions"]![0]!["lastTransitionTime"]!.GetValue<string>());
        Assert.Equal("2027-01-21T16:17:00.123456Z", json["status"]!["renewalTime"]!.GetValue<string>());
    }

    [Fact]
    public void A_new_object_without_status_omits_status_and_optional_fields()
    {
        var certificate = new Certificate
        {
            Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = "shop" },
            Spec = new CertificateSpec { Type = CertificateTypes.Private, Fqdn = "api.shop.svc.cluster.local" },
        };

        var json = JsonNode.Parse(KubernetesJson.Serialize(certificate))!.AsObject();

        Assert.Equal(["apiVersion", "kind", "metadata", "spec"], json.Select(property => property.Key));
        Assert.Equal(["type", "fqdn"], json["spec"]!.AsObject().Select(property => property.Key));
        Assert.Empty(Validate(NotaryResources.CertificatePlural, json).Errors);
    }

    [Fact]
    public void A_manifest_as_a_user_writes_it_reads_with_KubernetesYaml()
    {
        const string Yaml = """
            apiVersion: notary.dev/v1alpha1
            kind: Truststore
            metadata:
              name: test-service
              namespace: test-service
            spec:
              fqdn: test-service.test-service.svc.cluster.local
              certName: test-service
              format: JKS
              upstream:
                - tag: orders
                  fqdn: orders.orders.svc.cluster.local
                  namespace: orders
              downstream: []
            """;

        var truststore = KubernetesYaml.Deserialize<Truststore>(Yaml);

        Assert.Equal("test-service", truststore.Metadata.Name);
        Assert.Equal(StoreFormats.Jks, truststore.Spec.Format);
        Assert.Equal(StoreDefaults.MetadataSecret, truststore.Spec.MetadataSecret);
        var upstream = Assert.Single(truststore.Spec.Upstream);
        Assert.Equal(("orders", "orders.orders.svc.cluster.local", "orders"), (upstream.Tag, upstream.Fqdn, upstream.Namespace));
        Assert.Empty(truststore.Spec.Downstream);
        Assert.Null(truststore.Status);
        Assert.Empty(Validate(NotaryResources.TruststorePlural, JsonNode.Parse(KubernetesJson.Serialize(truststore))!).Errors);
    }

    [Fact]
    public void Lists_read_as_the_API_server_returns_them()
    {
        var list = new CertificateList { Metadata = new V1ListMeta { ResourceVersion = "42" }, Items = [Samples.Certificate()] };

        var read = KubernetesJson.Deserialize<CertificateList>(KubernetesJson.Serialize(list));

        Assert.Equal("CertificateList", read.Kind);
        Assert.Equal("42", read.Metadata.ResourceVersion);
        Assert.Equal("test-service", Assert.Single(read.Items).Metadata.Name);
    }

    [Fact]
    public void GetCondition_finds_a_condition_by_type()
    {
        var status = Samples.Certificate().Status!;

        Assert.Equal(ConditionStatuses.False, status.GetCondition(ConditionTypes.Ready)?.Status);
        Assert.Null(status.GetCondition(ConditionTypes.Compromised));
        Assert.Null(new KeystoreStatus().GetCondition(ConditionTypes.Ready));
    }

    public static TheoryData<string, string, string, string> InvalidCertificates => new()
    {
        // field to replace (dotted), JSON value, expected error path, expected error fragment
        { "spec.type", "\"public\"", "spec.type", "is not one of [Public, Private]" },
        { "spec.fqdn", "\"Test.Example.com\"", "spec.fqdn", "does not match" },
        { "spec.fqdn", "\"" + string.Join('.', Enumerable.Repeat(new string('a', 63), 4)) + "\"", "spec.fqdn", "exceeds maxLength 253" },
        { "spec.alt", "[" + string.Join(',', Enumerable.Range(0, 101).Select(i => $"\"a{i}.example.com\"")) + "]", "spec.alt", "exceed maxItems 100" },
        { "spec.alt", "[\"a.example.com\",\"a.example.com\"]", "spec.alt", "duplicate entry" },
        { "spec.duration", "\"90 days\"", "spec.duration", "does not match" },
        { "spec.renewBefore", "\"720\"", "spec.renewBefore", "does not match" },
        { "spec.privateKey.size", "1024", "spec.privateKey.size", "is not one of" },
        { "spec.privateKey.algorithm", "\"DSA\"", "spec.privateKey.algorithm", "is not one of [RSA, ECDSA]" },
        { "spec.color", "\"blue\"", "spec.color", "unknown field" },
        { "status.revision", "\"two\"", "status.revision", "expected integer" },
        { "status.notAfter", "\"next year\"", "status.notAfter", "is not an RFC 3339 date-time" },
        { "status.conditions", "[{\"type\":\"Ready\",\"status\":\"Yes\"}]", "status.conditions[0].status", "is not one of [True, False, Unknown]" },
        { "status.conditions", "[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"False\"}]", "status.conditions", "duplicate entry" },
    };

    [Theory]
    [MemberData(nameof(InvalidCertificates))]
    public void An_invalid_certificate_is_refused_with_the_field_named(string field, string value, string errorPath, string fragment)
    {
        var json = JsonNode.Parse(KubernetesJson.Serialize(Samples.Certificate()))!;
        var segments = field.Split('.');
        var parent = segments[..^1].Aggregate(json, (node, name) => node[name]!);
        parent[segments[^1]] = JsonNode.Parse(value);

        var errors = Validate(NotaryResources.CertificatePlural, json).Errors;

        Assert.Contains(errors, error => error.StartsWith(errorPath + ":", StringComparison.Ordinal) && error.Contains(fragment, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("type")]
    [InlineData("fqdn")]
    public void A_certificate_without_a_required_field_is_refused(string field)
    {
        var json = JsonNode.Parse(KubernetesJson.Serialize(Samples.Certificate()))!;
        json["spec"]!.AsObject().Remove(field);

        Assert.Contains($"spec.{field}: required", Validate(NotaryResources.CertificatePlural, json).Errors);
    }

    [Theory]
    [InlineData("upstream")]
    [InlineData("downstream")]
    [InlineData("certName")]
    public void A_truststore_without_a_required_field_is_refused(string field)
    {
        var json = JsonNode.Parse(KubernetesJson.Serialize(Samples.Truststore()))!;
        json["spec"]!.AsObject().Remove(field);

        Assert.Contains($"spec.{field}: required", Validate(NotaryResources.TruststorePlural, json).Errors);
    }

    [Fact]
    public void A_truststore_peer_needs_a_tag_and_a_valid_namespace()
    {
        var json = JsonNode.Parse(KubernetesJson.Serialize(Samples.Truststore()))!;
        json["spec"]!["upstream"] = JsonNode.Parse("""[{"fqdn":"orders.orders.svc.cluster.local","namespace":"Orders"}]""");

        var errors = Validate(NotaryResources.TruststorePlural, json).Errors;

        Assert.Contains("spec.upstream[0].tag: required", errors);
        Assert.Contains(errors, error => error.StartsWith("spec.upstream[0].namespace: 'Orders' does not match", StringComparison.Ordinal));
    }

    private static void AssertValidRoundTrip<T>(T sample, string plural)
        where T : IKubernetesObject
    {
        var json = KubernetesJson.Serialize(sample);

        var validation = Validate(plural, JsonNode.Parse(json)!);
        Assert.True(validation.Errors.Count == 0, $"{plural}: {string.Join("; ", validation.Errors)}");

        // The sample must reach every field, or the validation above proved less than it claims.
        var unvisited = Crds.Walk(Crds.Root(Crds.Load(plural)), "")
            .Select(field => field.Path)
            .Where(path => !path.StartsWith("metadata", StringComparison.Ordinal) && !validation.Visited.Contains(path))
            .ToList();
        Assert.True(unvisited.Count == 0, $"{plural}: the sample leaves out {string.Join(", ", unvisited)}");

        var read = KubernetesJson.Deserialize<T>(json);
        Assert.Equal(json, KubernetesJson.Serialize(read));
    }

    private static SchemaValidator Validate(string plural, JsonNode json)
    {
        using var document = JsonDocument.Parse(json.ToJsonString());
        return SchemaValidator.Validate(Crds.Root(Crds.Load(plural)), document.RootElement.Clone());
    }
}
