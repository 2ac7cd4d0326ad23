using System.Text;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class TrustSourceReaderTests(ClusterFixture cluster)
{
    private const string Pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    private KubernetesTrustSourceReader Reader(string? defaultCAsPath = null) =>
        new(cluster.Client, Options.Create(new TrustSourceOptions { DefaultCAsPath = defaultCAsPath ?? "/nonexistent/ca-certificates.crt" }));

    private static TrustSourceSpec ConfigMap(string name, string key) => new() { Kind = TrustSourceKinds.ConfigMap, Name = name, Key = key };

    [Fact]
    public async Task A_ConfigMap_key_is_read_and_a_missing_ConfigMap_or_key_is_reported()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "partner-ca" },
            Data = new Dictionary<string, string> { ["ca.pem"] = Pem },
        }, ns);

        Assert.Equal(new TrustSourceContent(TrustSourceReadOutcome.Found, Pem), await Reader().ReadAsync(ns, ConfigMap("partner-ca", "ca.pem"), CancellationToken.None));
        Assert.Equal(TrustSourceReadOutcome.KeyMissing, (await Reader().ReadAsync(ns, ConfigMap("partner-ca", "other.pem"), CancellationToken.None)).Outcome);
        Assert.Equal(TrustSourceReadOutcome.ObjectMissing, (await Reader().ReadAsync(ns, ConfigMap("absent", "ca.pem"), CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task Another_namespaces_ConfigMap_of_the_same_name_is_never_read()
    {
        var own = await cluster.NamespaceAsync();
        var other = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "partner-ca" },
            Data = new Dictionary<string, string> { ["ca.pem"] = Pem },
        }, other);

        var content = await Reader().ReadAsync(own, ConfigMap("partner-ca", "ca.pem"), CancellationToken.None);

        Assert.Equal(TrustSourceReadOutcome.ObjectMissing, content.Outcome);
        Assert.Null(content.Pem);
    }

    [Fact]
    public async Task A_Secret_key_is_read_as_UTF_8()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "db-ca" },
            Data = new Dictionary<string, byte[]> { ["bundle"] = Encoding.UTF8.GetBytes(Pem) },
        }, ns);

        var content = await Reader().ReadAsync(ns, new TrustSourceSpec { Kind = TrustSourceKinds.Secret, Name = "db-ca", Key = "bundle" }, CancellationToken.None);

        Assert.Equal(new TrustSourceContent(TrustSourceReadOutcome.Found, Pem), content);
        Assert.DoesNotContain("BEGIN", content.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DefaultCAs_reads_the_configured_bundle_file_and_reports_a_missing_one()
    {
        var path = Path.Combine(Path.GetTempPath(), $"notary-roots-{Guid.NewGuid():N}.crt");
        await File.WriteAllTextAsync(path, Pem);
        try
        {
            var source = new TrustSourceSpec { Kind = TrustSourceKinds.DefaultCAs };
            Assert.Equal(new TrustSourceContent(TrustSourceReadOutcome.Found, Pem), await Reader(path).ReadAsync("any", source, CancellationToken.None));
            Assert.Equal(TrustSourceReadOutcome.ObjectMissing, (await Reader().ReadAsync("any", source, CancellationToken.None)).Outcome);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// The default path is Debian's (and Ubuntu's) bundle, the layout of this machine and of the
    /// image (Dockerfile: ca-certificates): read with the defaults, it holds the public roots.
    /// </summary>
    [Fact]
    public async Task DefaultCAs_with_the_default_path_reads_this_machines_public_root_bundle()
    {
        var defaults = new TrustSourceOptions();
        Assert.Equal("/etc/ssl/certs/ca-certificates.crt", defaults.DefaultCAsPath);
        var reader = new KubernetesTrustSourceReader(cluster.Client, Options.Create(defaults));

        var content = await reader.ReadAsync("any", new TrustSourceSpec { Kind = TrustSourceKinds.DefaultCAs }, CancellationToken.None);

        Assert.Equal(TrustSourceReadOutcome.Found, content.Outcome);
        var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        roots.ImportFromPem(content.Pem);
        Assert.True(roots.Count > 50, $"{roots.Count} roots in {defaults.DefaultCAsPath}");
        foreach (var root in roots)
        {
            root.Dispose();
        }
    }

    [Theory]
    [InlineData("/etc/ssl/certs/ca-certificates.crt", true)]
    [InlineData("", false)]
    [InlineData("ca-certificates.crt", false)]
    public void The_bundle_path_must_be_absolute(string path, bool valid)
    {
        var result = new TrustSourceOptionsValidator().Validate(null, new TrustSourceOptions { DefaultCAsPath = path });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Notary__TrustSources__DefaultCAsPath=", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_API_server_keeps_sources_and_refuses_an_item_with_two_kinds()
    {
        var ns = await cluster.NamespaceAsync();
        var truststore = Objects.Truststore(ns, "api");
        truststore.Spec.Sources = [new() { ConfigMap = new() { Name = "partner-ca", Key = "ca.pem" } }, new() { Inline = Pem }, new() { DefaultCAs = true }];

        var created = await cluster.Client.CreateAsync(truststore);

        Assert.Equal("partner-ca", created.Spec.Sources![0].ConfigMap!.Name);
        Assert.Equal(Pem, created.Spec.Sources[1].Inline);
        Assert.True(created.Spec.Sources[2].DefaultCAs);

        var both = Objects.Truststore(ns, "both");
        both.Spec.Sources = [new TrustSource { Inline = Pem, DefaultCAs = true }];
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => cluster.Client.CreateAsync(both));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.Response.StatusCode);
    }
}
