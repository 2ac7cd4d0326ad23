using System.Text.Json;
using k8s.Models;
using Notary.Adapters.Kubernetes.Tests.Support;
using Notary.CustomResources.Models;

namespace Notary.Adapters.Kubernetes.Tests;

/// <summary>The CRD manifests declare exactly the resources, fields and columns the spec asks for.</summary>
public sealed class CrdManifestTests
{
    public static TheoryData<string, string, string, string> Resources => new()
    {
        { NotaryResources.CertificatePlural, Certificate.KubeKind, "certificate", "cert" },
        { NotaryResources.KeystorePlural, Keystore.KubeKind, "keystore", "ks" },
        { NotaryResources.TruststorePlural, Truststore.KubeKind, "truststore", "ts" },
        { NotaryResources.BreachPlural, Breach.KubeKind, "breach", "br" },
    };

    [Theory]
    [MemberData(nameof(Resources))]
    public void Names_scope_and_version_are_as_specified(string plural, string kind, string singular, string shortName)
    {
        var crd = Crds.Load(plural);

        Assert.Equal("apiextensions.k8s.io/v1", crd.ApiVersion);
        Assert.Equal("CustomResourceDefinition", crd.Kind);
        Assert.Equal($"{plural}.{NotaryResources.Group}", crd.Metadata.Name);
        Assert.Equal(NotaryResources.Group, crd.Spec.Group);
        Assert.Equal("Namespaced", crd.Spec.Scope);
        Assert.Equal(kind, crd.Spec.Names.Kind);
        Assert.Equal(kind + "List", crd.Spec.Names.ListKind);
        Assert.Equal(plural, crd.Spec.Names.Plural);
        Assert.Equal(singular, crd.Spec.Names.Singular);
        Assert.Equal([shortName], crd.Spec.Names.ShortNames);
        Assert.Equal(["notary"], crd.Spec.Names.Categories);

        var version = Crds.Version(crd);
        Assert.Equal(NotaryResources.Version, version.Name);
        Assert.True(version.Served);
        Assert.True(version.Storage);
        Assert.NotNull(version.Subresources?.Status);
        Assert.Null(version.Subresources.Scale);
    }

    [Fact]
    public void Model_constants_agree_with_the_manifests()
    {
        Assert.Equal("notary.dev/v1alpha1", NotaryResources.ApiVersion);
        Assert.Equal(NotaryResources.ApiVersion, new Certificate().ApiVersion);
        Assert.Equal(NotaryResources.ApiVersion, new KeystoreList().ApiVersion);
        Assert.Equal(CertificateList.KubeKind, Crds.Load(Certificate.KubePluralName).Spec.Names.ListKind);
        Assert.Equal(KeystoreList.KubeKind, Crds.Load(Keystore.KubePluralName).Spec.Names.ListKind);
        Assert.Equal(TruststoreList.KubeKind, Crds.Load(Truststore.KubePluralName).Spec.Names.ListKind);
        Assert.Equal(new Certificate().Kind, Crds.Load(Certificate.KubePluralName).Spec.Names.Kind);
        Assert.Equal(new Truststore().Kind, Crds.Load(Truststore.KubePluralName).Spec.Names.Kind);
        Assert.Equal(BreachList.KubeKind, Crds.Load(Breach.KubePluralName).Spec.Names.ListKind);
        Assert.Equal(new Breach().Kind, Crds.Load(Breach.KubePluralName).Spec.Names.Kind);
    }

    [Fact]
    public void Breach_spec_requires_certificate_mode_and_reason_and_shows_the_specified_columns()
    {
        var crd = Crds.Load(NotaryResources.BreachPlural);
        var spec = Crds.At(crd, "spec");

        Assert.Equal(["certificate", "mode", "reason"], spec.Required);
        Assert.Equal(["rotate", "quarantine"], Crds.At(crd, "spec", "mode").EnumProperty.Select(v => v.ToString()));
        Assert.Equal(1024, Crds.At(crd, "spec", "reason").MaxLength);
        Assert.Equal("boolean", Crds.At(crd, "spec", "dryRun").Type);
        Assert.Equal(["Certificate", "Mode", "Phase", "Age"], Crds.Version(crd).AdditionalPrinterColumns.Select(c => c.Name));
        Assert.Equal([".spec.certificate", ".spec.mode", ".status.phase", ".metadata.creationTimestamp"], Crds.Version(crd).AdditionalPrinterColumns.Select(c => c.JsonPath));
    }

    [Fact]
    public void Certificate_spec_requires_type_and_fqdn_and_enumerates_its_choices()
    {
        var crd = Crds.Load(NotaryResources.CertificatePlural);

        Assert.Equal(["spec"], Crds.Root(crd).Required);
        Assert.Equal(["type", "fqdn"], Crds.At(crd, "spec").Required);
        Assert.Equal([CertificateTypes.Public, CertificateTypes.Private], Crds.EnumOf(Crds.At(crd, "spec", "type")));

        var fqdn = Crds.At(crd, "spec", "fqdn");
        Assert.Equal("string", fqdn.Type);
        Assert.Equal(253, fqdn.MaxLength);

        var alt = Crds.At(crd, "spec", "alt");
        Assert.Equal("array", alt.Type);
        Assert.Equal(100, alt.MaxItems);
        Assert.Equal(fqdn.Pattern, Crds.Items(alt).Pattern);

        Assert.Equal("string", Crds.At(crd, "spec", "issuer").Type);
        Assert.NotNull(Crds.At(crd, "spec", "duration").Pattern);
        Assert.Equal(Crds.At(crd, "spec", "duration").Pattern, Crds.At(crd, "spec", "renewBefore").Pattern);

        var algorithm = Crds.At(crd, "spec", "privateKey", "algorithm");
        Assert.Equal([KeyAlgorithms.Rsa, KeyAlgorithms.Ecdsa], Crds.EnumOf(algorithm));
        Assert.Equal(KeyAlgorithms.Rsa, algorithm.DefaultProperty?.ToString());
        var size = Crds.At(crd, "spec", "privateKey", "size");
        Assert.Equal("integer", size.Type);
        Assert.Equal(["256", "384", "2048", "3072", "4096"], Crds.EnumOf(size));
    }

    [Fact]
    public void Certificate_key_size_rule_is_declared_in_CEL_with_a_message_that_says_what_is_allowed()
    {
        // No API server here evaluates CEL; the controller checks the same rule. This guards the
        // rule's presence and its message, which is what a user sees from kubectl apply.
        var privateKey = Crds.At(Crds.Load(NotaryResources.CertificatePlural), "spec", "privateKey");

        var rule = Assert.Single(privateKey.XKubernetesValidations);
        Assert.Contains("'ECDSA'", rule.Rule, StringComparison.Ordinal);
        Assert.Contains("[256, 384]", rule.Rule, StringComparison.Ordinal);
        Assert.Contains("[2048, 3072, 4096]", rule.Rule, StringComparison.Ordinal);
        Assert.Equal("privateKey.size must be 256 or 384 for ECDSA, and 2048, 3072 or 4096 for RSA", rule.Message);
        Assert.Equal(".size", rule.FieldPath);
    }

    [Fact]
    public void Certificate_status_has_the_issued_certificate_conditions_and_validation_records()
    {
        var crd = Crds.Load(NotaryResources.CertificatePlural);

        Assert.Equal(
            ["arn", "serialNumber", "notBefore", "notAfter", "renewalTime", "previousSerialNumber", "lastManualRenewal", "revision", "tags", "observedGeneration", "validationRecords", "conditions"],
            Crds.At(crd, "status").Properties.Keys);
        foreach (var timestamp in new[] { "notBefore", "notAfter", "renewalTime" })
        {
            Assert.Equal("date-time", Crds.At(crd, "status", timestamp).Format);
        }

        Assert.Equal("integer", Crds.At(crd, "status", "revision").Type);
        Assert.Equal("string", Crds.AdditionalProperties(Crds.At(crd, "status", "tags"))?.Type);
        var record = Crds.Items(Crds.At(crd, "status", "validationRecords"));
        Assert.Equal(["name", "type", "value"], record.Required);
    }

    [Theory]
    [InlineData("certificates")]
    [InlineData("keystores")]
    [InlineData("truststores")]
    public void Conditions_are_a_list_map_keyed_by_type(string plural)
    {
        var conditions = Crds.At(Crds.Load(plural), "status", "conditions");

        Assert.Equal("map", conditions.XKubernetesListType);
        Assert.Equal(["type"], conditions.XKubernetesListMapKeys);
        var condition = Crds.Items(conditions);
        Assert.Equal(["type", "status"], condition.Required);
        Assert.Equal(["type", "status", "reason", "message", "lastTransitionTime", "observedGeneration"], condition.Properties.Keys);
        Assert.Equal(
            [ConditionStatuses.True, ConditionStatuses.False, ConditionStatuses.Unknown],
            Crds.EnumOf(condition.Properties["status"]));
        Assert.Equal("date-time", condition.Properties["lastTransitionTime"].Format);
        Assert.Equal("integer", condition.Properties["observedGeneration"].Type);
    }

    [Theory]
    [InlineData("keystores")]
    [InlineData("truststores")]
    public void Store_specs_require_fqdn_and_certName_and_default_format_and_metadata_secret(string plural)
    {
        var crd = Crds.Load(plural);

        Assert.Contains("fqdn", Crds.At(crd, "spec").Required);
        Assert.Contains("certName", Crds.At(crd, "spec").Required);
        var format = Crds.At(crd, "spec", "format");
        Assert.Equal([StoreFormats.Pkcs12, StoreFormats.Jks], Crds.EnumOf(format));
        Assert.Equal(StoreFormats.Pkcs12, format.DefaultProperty?.ToString());
        Assert.Equal(StoreDefaults.MetadataSecret, Crds.At(crd, "spec", "metadataSecret").DefaultProperty?.ToString());
        Assert.NotNull(Crds.At(crd, "spec", "certName").Pattern);
        Assert.Equal(Crds.At(Crds.Load("certificates"), "spec", "fqdn").Pattern, Crds.At(crd, "spec", "fqdn").Pattern);
    }

    [Fact]
    public void Keystore_status_records_one_certificate_revision()
    {
        var crd = Crds.Load(NotaryResources.KeystorePlural);

        Assert.Equal(["fqdn", "certName"], Crds.At(crd, "spec").Required);
        Assert.Equal(["arn", "location", "certificateRevision", "observedGeneration", "conditions"], Crds.At(crd, "status").Properties.Keys);
        Assert.Equal("integer", Crds.At(crd, "status", "certificateRevision").Type);
    }

    [Fact]
    public void Truststore_requires_upstream_and_downstream_peers_and_records_a_revision_per_certificate()
    {
        var crd = Crds.Load(NotaryResources.TruststorePlural);

        Assert.Equal(["fqdn", "certName", "upstream", "downstream"], Crds.At(crd, "spec").Required);
        foreach (var direction in new[] { "upstream", "downstream" })
        {
            var peers = Crds.At(crd, "spec", direction);
            Assert.Equal("array", peers.Type);
            Assert.Null(peers.MinItems);
            var peer = Crds.Items(peers);
            Assert.Equal(["tag", "fqdn"], peer.Required);
            Assert.Equal(["tag", "fqdn", "namespace"], peer.Properties.Keys);
        }

        var revisions = Crds.At(crd, "status", "certificateRevision");
        Assert.Equal("object", revisions.Type);
        Assert.Equal("integer", Crds.AdditionalProperties(revisions)?.Type);
        Assert.Equal("string", Crds.Items(Crds.At(crd, "status", "entries")).Type);
    }

    [Fact]
    public void Certificate_printer_columns_are_type_fqdn_ready_expires_age_then_arn_and_alt_names_in_wide_output()
    {
        AssertColumns(
            NotaryResources.CertificatePlural,
            ("Type", "string", ".spec.type", 0),
            ("FQDN", "string", ".spec.fqdn", 0),
            ("Ready", "string", """.status.conditions[?(@.type=="Ready")].status""", 0),
            ("Expires", "string", ".status.notAfter", 0),
            ("Age", "date", ".metadata.creationTimestamp", 0),
            ("ARN", "string", ".status.arn", 1),
            ("AltName", "string", ".spec.alt", 1));
    }

    [Theory]
    [InlineData("keystores")]
    [InlineData("truststores")]
    public void Store_printer_columns_are_fqdn_ready_location_age(string plural)
    {
        AssertColumns(
            plural,
            ("FQDN", "string", ".spec.fqdn", 0),
            ("Ready", "string", """.status.conditions[?(@.type=="Ready")].status""", 0),
            ("Location", "string", ".status.location", 0),
            ("Age", "date", ".metadata.creationTimestamp", 0));
    }

    [Theory]
    [InlineData("certificates")]
    [InlineData("keystores")]
    [InlineData("truststores")]
    [InlineData("issuers")]
    [InlineData("clusterissuers")]
    public void Every_field_has_a_description_for_kubectl_explain(string plural)
    {
        var crd = Crds.Load(plural);

        Assert.False(string.IsNullOrWhiteSpace(Crds.Root(crd).Description));
        var undescribed = Crds.Walk(Crds.Root(crd), "")
            .Where(field => field.Path != "metadata" && !field.Path.EndsWith("{}", StringComparison.Ordinal))
            .Where(field => string.IsNullOrWhiteSpace(field.Schema.Description))
            .Select(field => field.Path)
            .ToList();
        Assert.True(undescribed.Count == 0, $"{plural}: fields without a description: {string.Join(", ", undescribed)}");
    }

    [Theory]
    [InlineData("certificates")]
    [InlineData("keystores")]
    [InlineData("truststores")]
    [InlineData("issuers")]
    [InlineData("clusterissuers")]
    public void Schema_is_structural(string plural)
    {
        // Structural: every node below the root declares a type, and no node preserves unknown
        // fields, so the API server prunes anything the schema does not name.
        var untyped = Crds.Walk(Crds.Root(Crds.Load(plural)), "")
            .Where(field => string.IsNullOrEmpty(field.Schema.Type) || field.Schema.XKubernetesPreserveUnknownFields == true)
            .Select(field => field.Path)
            .ToList();
        Assert.True(untyped.Count == 0, $"{plural}: fields without a type or preserving unknown fields: {string.Join(", ", untyped)}");
    }

    [Theory]
    [InlineData("certificates")]
    [InlineData("keystores")]
    [InlineData("truststores")]
    [InlineData("issuers")]
    [InlineData("clusterissuers")]
    public void Enum_values_and_defaults_have_their_field_type(string plural)
    {
        // YAML 1.1, which Go's parser speaks, reads an unquoted True as a boolean: a string enum
        // must quote it, or the API server refuses the CRD.
        var mistyped = Crds.Walk(Crds.Root(Crds.Load(plural)), "")
            .SelectMany(field => (field.Schema.EnumProperty ?? []).Append(field.Schema.DefaultProperty)
                .Where(value => value is not null && !HasType(value, field.Schema.Type))
                .Select(value => $"{field.Path}: {value} ({value!.GetType().Name}) is not a {field.Schema.Type}"))
            .ToList();

        Assert.True(mistyped.Count == 0, $"{plural}: {string.Join("; ", mistyped)}");
    }

    // Values straight from YAML are CLR scalars; those inside items (see Crds.Items) are JsonElements.
    private static bool HasType(object value, string type) => (type, value) switch
    {
        ("string", string) => true,
        ("string", JsonElement { ValueKind: JsonValueKind.String }) => true,
        ("integer", sbyte or byte or short or ushort or int or uint or long or ulong) => true,
        ("integer", JsonElement { ValueKind: JsonValueKind.Number } number) => number.TryGetInt64(out _),
        ("boolean", bool) => true,
        ("boolean", JsonElement { ValueKind: JsonValueKind.True or JsonValueKind.False }) => true,
        _ => false,
    };

    private static void AssertColumns(string plural, params (string Name, string Type, string JsonPath, int Priority)[] expected)
    {
        var columns = Crds.Version(Crds.Load(plural)).AdditionalPrinterColumns
            .Select(column => (column.Name, column.Type, column.JsonPath, column.Priority ?? 0))
            .ToArray();
        Assert.Equal(expected, columns);
    }
}
