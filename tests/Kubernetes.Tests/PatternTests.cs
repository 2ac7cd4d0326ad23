using System.Text.RegularExpressions;
using Notary.Adapters.Kubernetes.Tests.Support;

namespace Notary.Adapters.Kubernetes.Tests;

/// <summary>
/// The patterns exactly as the manifests declare them, against tables of valid and invalid input.
/// The API server evaluates them with Go's RE2; <see cref="GoPattern"/> makes .NET agree with it.
/// </summary>
public sealed class PatternTests
{
    private static readonly string DnsNamePattern = PatternOf("certificates", "spec.fqdn");
    private static readonly string DurationPattern = PatternOf("certificates", "spec.duration");
    private static readonly string ObjectNamePattern = PatternOf("keystores", "spec.certName");
    private static readonly Regex DnsName = GoPattern.Compile(DnsNamePattern);
    private static readonly Regex Duration = GoPattern.Compile(DurationPattern);
    private static readonly Regex ObjectName = GoPattern.Compile(ObjectNamePattern);
    private static readonly Regex NamespaceName = GoPattern.Compile(PatternOf("truststores", "spec.upstream[].namespace"));

    [Theory]
    [InlineData("2160h")]
    [InlineData("30m")]
    [InlineData("90m30s")]
    [InlineData("1h30m")]
    [InlineData("1.5h")]
    [InlineData("500ms")]
    [InlineData("1h0m0s")]
    [InlineData("2h45m30s500ms")]
    [InlineData("10us")]
    [InlineData("10ns")]
    [InlineData(".5h")]
    public void Go_durations_match(string value) => Assert.Matches(Duration, value);

    [Theory]
    [InlineData("2160")]
    [InlineData("h")]
    [InlineData("30 m")]
    [InlineData("-")]
    [InlineData("")]
    [InlineData("-1h")]
    [InlineData("+1h")]
    [InlineData("1d")]
    [InlineData("1w")]
    [InlineData("1H")]
    [InlineData("1.5")]
    [InlineData("1..5h")]
    [InlineData(".h")]
    [InlineData("1h 30m")]
    [InlineData("P90D")]
    [InlineData(" 1h")]
    [InlineData("1h\n")]
    public void Non_durations_do_not_match(string value) => Assert.DoesNotMatch(Duration, value);

    [Theory]
    [InlineData("test-service.test-service.svc.cluster.local")]
    [InlineData("localhost")]
    [InlineData("a")]
    [InlineData("*.example.com")]
    [InlineData("*.a")]
    [InlineData("1.2.3.4.nip.io")]
    [InlineData("x-1.y-2.example")]
    [InlineData("xn--bcher-kva.example")]
    public void DNS_names_match(string value) => Assert.Matches(DnsName, value);

    [Fact]
    public void DNS_labels_of_63_characters_match_and_of_64_do_not()
    {
        Assert.Matches(DnsName, new string('a', 63) + ".example.com");
        Assert.DoesNotMatch(DnsName, new string('a', 64) + ".example.com");
    }

    [Theory]
    [InlineData("")]
    [InlineData("Test.example.com")]
    [InlineData("TEST")]
    [InlineData("-a.example.com")]
    [InlineData("a-.example.com")]
    [InlineData("a..example.com")]
    [InlineData(".example.com")]
    [InlineData("example.com.")]
    [InlineData("a_b.example.com")]
    [InlineData("*")]
    [InlineData("*.")]
    [InlineData("*example.com")]
    [InlineData("a.*.example.com")]
    [InlineData("**.example.com")]
    [InlineData("exa mple.com")]
    [InlineData("https://example.com")]
    [InlineData("example.com\n")]
    [InlineData("bücher.example")]
    public void Non_DNS_names_do_not_match(string value) => Assert.DoesNotMatch(DnsName, value);

    [Theory]
    [InlineData("test-service", true)]
    [InlineData("a", true)]
    [InlineData("orders.v2", true)]
    [InlineData("0day", true)]
    [InlineData("Test-service", false)]
    [InlineData("-a", false)]
    [InlineData("a-", false)]
    [InlineData("a_b", false)]
    [InlineData("*.a", false)]
    [InlineData("", false)]
    public void Object_names_are_DNS_1123_subdomains(string value, bool valid) =>
        Assert.Equal(valid, ObjectName.IsMatch(value));

    [Theory]
    [InlineData("default", true)]
    [InlineData("kube-system", true)]
    [InlineData("a.b", false)]
    [InlineData("Orders", false)]
    [InlineData("-a", false)]
    public void Namespaces_are_DNS_1123_labels(string value, bool valid) =>
        Assert.Equal(valid, NamespaceName.IsMatch(value));

    [Fact]
    public void Every_DNS_name_field_uses_the_same_pattern_and_every_object_name_field_the_same_pattern()
    {
        var dnsFields = new[]
        {
            ("certificates", "spec.fqdn"), ("certificates", "spec.alt[]"),
            ("keystores", "spec.fqdn"), ("truststores", "spec.fqdn"),
            ("truststores", "spec.upstream[].fqdn"), ("truststores", "spec.downstream[].fqdn"),
        };
        var nameFields = new[]
        {
            ("keystores", "spec.certName"), ("keystores", "spec.metadataSecret"),
            ("truststores", "spec.certName"), ("truststores", "spec.metadataSecret"),
            ("truststores", "spec.upstream[].tag"), ("truststores", "spec.downstream[].tag"),
        };

        Assert.All(dnsFields, field => Assert.Equal(DnsNamePattern, PatternOf(field.Item1, field.Item2)));
        Assert.All(nameFields, field => Assert.Equal(ObjectNamePattern, PatternOf(field.Item1, field.Item2)));
        Assert.Equal(DurationPattern, PatternOf("certificates", "spec.renewBefore"));
    }

    [Theory]
    [InlineData("certificates")]
    [InlineData("keystores")]
    [InlineData("truststores")]
    public void Defaults_satisfy_their_own_field_schema(string plural)
    {
        var defaulted = Crds.Walk(Crds.Root(Crds.Load(plural)), "").Where(field => field.Schema.DefaultProperty is not null).ToList();

        Assert.NotEmpty(defaulted);
        Assert.All(defaulted, field =>
        {
            var value = Convert.ToString(field.Schema.DefaultProperty, System.Globalization.CultureInfo.InvariantCulture)!;
            if (field.Schema.Pattern is { } pattern)
            {
                Assert.Matches(GoPattern.Compile(pattern), value);
            }

            if (Crds.EnumOf(field.Schema) is { Length: > 0 } values)
            {
                Assert.Contains(value, values);
            }
        });
    }

    private static string PatternOf(string plural, string path) =>
        Crds.Walk(Crds.Root(Crds.Load(plural)), "").Single(field => field.Path == path).Schema.Pattern
        ?? throw new InvalidOperationException($"{plural} {path} has no pattern");
}
