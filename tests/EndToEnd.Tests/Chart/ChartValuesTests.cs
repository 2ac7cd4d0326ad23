using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Notary.Aws;
using Notary.Aws.Acm;
using Notary.CustomResources;
using Notary.Grains;
using Notary.Silo;
using Notary.Silo.Alerts;
using Notary.Silo.Tls;
using Orleans.Hosting.Kubernetes;

namespace Notary.EndToEnd.Tests.Chart;

/// <summary>
/// The chart's values against the code, both ways: every value in values.yaml changes what helm
/// renders (no dead value), and the environment a production values file renders (ACM, Secrets
/// Manager, Redis from a Secret, a webhook from a Secret, dashboard, JSON logs) is read by the real
/// host into its options with the values' meaning (no variable the code ignores, no misspelt key).
/// </summary>
[Trait("Category", "Slow")]
public sealed class ChartValuesTests
{
    /// <summary>A production install: every backend on, credentials in Secrets.</summary>
    private const string ProductionValues = """
        replicas: 3
        issuer:
          type: acm
          acm:
            region: eu-west-1
            serviceUrl: https://acm.vpce.example
            privateCaArn: arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/0f0e0d0c-0b0a-0908-0706-050403020100
            onRetire: Keep
            stsServiceUrl: https://sts.vpce.example
            allowNamespaced: true
        store:
          type: secretsmanager
          secretsManager:
            region: eu-central-1
            serviceUrl: https://secretsmanager.vpce.example
            prefix: certs/
            recoveryWindowDays: 7
            kmsKeyId: alias/notary
        cluster:
          serviceId: notary-svc
          clusterId: blue
          redis:
            existingSecret:
              name: notary-redis
              key: url
        state:
          secretName: notary-keys
          kmsKeyId: alias/notary-state
          kmsRegion: eu-west-3
          allowPlaintextKeys: true
        alerts:
          existingSecret:
            name: notary-webhook
            key: url
            signingKey: hmac
        api:
          audiences: [notary, notary.certs.svc]
          rateLimit:
            permitsPerWindow: 12
            window: "00:00:20"
            ipv6PrefixLength: 64
          tokenCache:
            ttl: "00:00:05"
            negativeTtl: "00:00:01"
        health:
          apiServerContactMaxAge: "00:01:00"
          thresholds: ["14.00:00:00", "2.00:00:00"]
        policy:
          clusterDomain: corp.internal
        rotation:
          propagationDelay: "00:02:00"
          overlap: "7.00:00:00"
          maxWait: "12:00:00"
          maxConcurrentReissues: 7
        dashboard:
          enabled: true
          port: 9091
        tls:
          certificateLifetime: "3.00:00:00"
          caRotateBefore: "400.00:00:00"
        logging:
          json: true
        serviceMonitor:
          enabled: true
        prometheusRule:
          enabled: true
        grafanaDashboard:
          enabled: true
        serviceAccount:
          annotations:
            eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/notary
        """;

    /// <summary>What the referenced Secrets hold in this test's imaginary cluster.</summary>
    private static readonly Dictionary<(string Secret, string Key), string> Secrets = new()
    {
        [("notary-redis", "url")] = "redis.data.svc:6380,password=not-a-real-one,ssl=true",
        [("notary-webhook", "url")] = "https://hooks.example/services/T000/B000",
        [("notary-webhook", "hmac")] = "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a",
    };

    private static readonly string ValuesFile = WriteValues();

    private static string WriteValues()
    {
        var path = Path.Combine(Path.GetTempPath(), $"notary-production-values-{Environment.ProcessId}.yaml");
        File.WriteAllText(path, ProductionValues);
        return path;
    }

    /// <summary>
    /// By default the API accepts only tokens made for Notary (kubectl create token ... --audience
    /// notary): a token captured by whoever impersonates the API is no API-server credential.
    /// </summary>
    [Fact]
    public async Task Default_values_make_the_API_accept_only_tokens_for_the_notary_audience()
    {
        var objects = await Helm.TemplateAsync("notary", "notary");
        var container = ChartTests.Single(objects, "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();
        var audiences = container["env"]!.AsArray()
            .Where(e => e!["name"]!.GetValue<string>().StartsWith("Notary__Api__Audiences__", StringComparison.Ordinal))
            .Select(e => e!["value"]!.GetValue<string>());
        Assert.Equal(["notary"], audiences);
    }

    [Fact]
    public async Task Production_values_render_an_environment_the_host_reads_into_its_options()
    {
        const string ns = "certs";
        var lint = await Helm.RunAsync("lint", "--strict", Helm.ChartDirectory, "-f", ValuesFile);
        Assert.True(lint.ExitCode == 0, lint.ToString());
        var objects = await Helm.TemplateAsync("notary", ns, "-f", ValuesFile);
        var pod = ChartTests.Single(objects, "Deployment")["spec"]!["template"]!.AsObject();
        var labels = pod["metadata"]!["labels"]!.AsObject();
        var container = pod["spec"]!["containers"]![0]!.AsObject();

        // The environment as the kubelet would give it: downward API and Secret references resolved.
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in container["env"]!.AsArray())
        {
            var name = entry!["name"]!.GetValue<string>();
            env[name] = entry["value"]?.GetValue<string>() ?? Resolve(entry["valueFrom"]!.AsObject(), ns, labels);
        }

        // Credentials come from Secrets, never as plain values in the Deployment.
        Assert.Equal("notary-redis", container["env"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == "Notary__Cluster__Redis__ConnectionString")!["valueFrom"]!["secretKeyRef"]!["name"]!.GetValue<string>());
        Assert.DoesNotContain(container["env"]!.AsArray(), e => e!["value"]?.GetValue<string>() is { } v && Secrets.ContainsValue(v));

        var configuration = env.ToDictionary(e => e.Key.Replace("__", ":", StringComparison.Ordinal), e => (string?)e.Value);
        configuration["KUBERNETES_SERVICE_HOST"] = "10.96.0.1";
        await using var app = NotaryHost.Build(new NotaryHostSettings
        {
            Kubernetes = new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" },
            Configuration = configuration,
        });

        // Each rendered variable, and where the host shows it read it with the values' meaning.
        var checks = new Dictionary<string, Action<string>>(StringComparer.Ordinal);
        var cluster = Options<NotaryClusterOptions>(app);
        checks["Notary__Cluster__Provider"] = v => Assert.Equal(NotaryClusterOptions.Redis, cluster.Provider);
        checks["Notary__Cluster__Redis__ConnectionString"] = v => Assert.Equal(Secrets[("notary-redis", "url")], cluster.RedisConnectionString);
        checks["Notary__Cluster__ServiceId"] = v => Assert.Equal("notary-svc", cluster.ServiceId);
        checks["Notary__Cluster__ClusterId"] = v => Assert.Equal("blue", cluster.ClusterId);
        // Orleans' Kubernetes hosting takes the ids from these; the host's validator (which passed
        // above, or Options would have thrown) requires them equal to Notary's own.
        checks["ORLEANS_SERVICE_ID"] = v => Assert.Equal("notary-svc", cluster.PodServiceId);
        checks["ORLEANS_CLUSTER_ID"] = v => Assert.Equal("blue", cluster.PodClusterId);
        checks["POD_IP"] = v => Assert.Equal(v, cluster.AdvertisedAddress);
        checks[KubernetesHostingOptions.PodNameEnvironmentVariable] = v => Assert.True(cluster.KubernetesHosting, "in a pod with redis, Orleans' Kubernetes hosting reads POD_NAME");
        checks[KubernetesHostingOptions.PodNamespaceEnvironmentVariable] = v => Assert.Equal(ns, v);

        var acm = Options<AcmIssuerOptions>(app);
        checks["Notary__Issuer__Type"] = v => Assert.Equal(BackendOptions.Acm, Options<BackendOptions>(app).IssuerType);
        checks["Notary__Issuer__Acm__Region"] = v => Assert.Equal("eu-west-1", acm.Region);
        checks["Notary__Issuer__Acm__ServiceUrl"] = v => Assert.Equal("https://acm.vpce.example", acm.ServiceUrl);
        checks["Notary__Issuer__Acm__PrivateCaArn"] = v => Assert.StartsWith("arn:aws:acm-pca:eu-west-1:111122223333:", acm.PrivateCaArn, StringComparison.Ordinal);
        checks["Notary__Issuer__Acm__OnRetire"] = v => Assert.Equal("Keep", acm.OnRetire);
        checks["Notary__Issuer__Acm__AllowNamespacedAcm"] = v => Assert.True(
            app.Services.GetRequiredService<IOptionsMonitor<AcmIssuerOptions>>().Get(AcmIssuerOptions.PerIssuer).AllowNamespacedAcm);
        checks["Notary__Issuer__Acm__StsServiceUrl"] = v => Assert.Equal(
            "https://sts.vpce.example", app.Services.GetRequiredService<IOptionsMonitor<AcmIssuerOptions>>().Get(AcmIssuerOptions.PerIssuer).StsServiceUrl);

        var store = Options<SecretsManagerStoreOptions>(app);
        checks["Notary__Store__Type"] = v => Assert.Equal(BackendOptions.SecretsManagerStore, Options<BackendOptions>(app).StoreType);
        checks["Notary__Store__SecretsManager__Region"] = v => Assert.Equal("eu-central-1", store.Region);
        checks["Notary__Store__SecretsManager__ServiceUrl"] = v => Assert.Equal("https://secretsmanager.vpce.example", store.ServiceUrl);
        checks["Notary__Store__SecretsManager__Prefix"] = v => Assert.Equal("certs/", store.Prefix);
        checks["Notary__Store__SecretsManager__RecoveryWindowDays"] = v => Assert.Equal(7, store.RecoveryWindowDays);
        checks["Notary__Store__SecretsManager__KmsKeyId"] = v => Assert.Equal("alias/notary", store.KmsKeyId);

        checks["Notary__State__SecretName"] = v => Assert.Equal("notary-keys", Options<Notary.Adapters.Kubernetes.StateKeyOptions>(app).SecretName);
        var kms = Options<KmsStateKeyOptions>(app);
        checks["Notary__State__KmsKeyId"] = v => Assert.Equal("alias/notary-state", kms.KmsKeyId);
        checks["Notary__State__Kms__Region"] = v => Assert.Equal("eu-west-3", kms.Kms.Region);
        checks["Notary__State__AllowPlaintextKeys"] = v => Assert.True(Options<Notary.Adapters.Kubernetes.StateKeyOptions>(app).AllowPlaintextKeys);
        checks["Notary__Alerts__WebhookUrl"] = v => Assert.Equal(Secrets[("notary-webhook", "url")], Options<NotaryAlertOptions>(app).WebhookUrl);
        checks["Notary__Alerts__SigningKey"] = v => Assert.Equal(Secrets[("notary-webhook", "hmac")], Options<NotaryAlertOptions>(app).SigningKey);
        checks["Notary__Alerts__AllowInsecureHttp"] = v => Assert.False(Options<NotaryAlertOptions>(app).AllowInsecureHttp);
        var api = Options<Notary.Adapters.Kubernetes.ApiAuthenticationOptions>(app);
        checks["Notary__Api__Audiences__0"] = v => Assert.Equal(["notary", "notary.certs.svc"], api.Audiences);
        checks["Notary__Api__Audiences__1"] = checks["Notary__Api__Audiences__0"];
        checks["Notary__Api__TokenCache__Ttl"] = v => Assert.Equal(TimeSpan.FromSeconds(5), api.TokenCache.Ttl);
        checks["Notary__Api__TokenCache__NegativeTtl"] = v => Assert.Equal(TimeSpan.FromSeconds(1), api.TokenCache.NegativeTtl);
        var rateLimit = Options<ApiRateLimitOptions>(app);
        checks["Notary__Api__RateLimit__PermitsPerWindow"] = v => Assert.Equal(12, rateLimit.PermitsPerWindow);
        checks["Notary__Api__RateLimit__Window"] = v => Assert.Equal(TimeSpan.FromSeconds(20), rateLimit.Window);
        checks["Notary__Api__RateLimit__Ipv6PrefixLength"] = v => Assert.Equal(64, rateLimit.Ipv6PrefixLength);
        checks["Notary__Health__ApiServerContactMaxAge"] = v => Assert.Equal(TimeSpan.FromMinutes(1), Options<ReadinessOptions>(app).ApiServerContactMaxAge);
        var lifecycle = Options<LifecycleOptions>(app);
        checks["Notary__Alerts__Thresholds__0"] = v => Assert.Equal(TimeSpan.FromDays(14), lifecycle.Thresholds[0]);
        checks["Notary__Alerts__Thresholds__1"] = v => Assert.Equal(TimeSpan.FromDays(2), lifecycle.Thresholds[1]);
        checks["Notary__Policy__ClusterDomain"] = v => Assert.Equal("corp.internal", Options<PolicyOptions>(app).ClusterDomain);
        var rotation = Options<RotationOptions>(app);
        checks["Notary__Rotation__PropagationDelay"] = v => Assert.Equal(TimeSpan.FromMinutes(2), rotation.PropagationDelay);
        checks["Notary__Rotation__Overlap"] = v => Assert.Equal(TimeSpan.FromDays(7), rotation.Overlap);
        checks["Notary__Rotation__MaxWait"] = v => Assert.Equal(TimeSpan.FromHours(12), rotation.MaxWait);
        checks["Notary__Rotation__MaxConcurrentReissues"] = v => Assert.Equal(7, rotation.MaxConcurrentReissues);
        checks["Notary__Kubernetes__Namespace"] = v => Assert.Equal(ns, Options<NotaryKubernetesOptions>(app).Namespace);
        checks["Notary__Dashboard__Enabled"] = v => Assert.Contains(Routes(app), r => r.StartsWith(NotaryHost.DashboardPath + "/", StringComparison.Ordinal));
        checks["Notary__Dashboard__Port"] = v => Assert.Equal(9091, app.Configuration.GetValue<int>(NotaryHost.DashboardPortKey));
        var tls = Options<NotaryTlsOptions>(app);
        checks["Notary__Tls__ServiceName"] = v => Assert.Equal("notary", tls.ServiceName);
        checks["Notary__Tls__CertificateLifetime"] = v => Assert.Equal(TimeSpan.FromDays(3), tls.CertificateLifetime);
        checks["Notary__Ca__RotateBefore"] = v => Assert.Equal(TimeSpan.FromDays(400), Options<BuiltInCaOptions>(app).RotateBefore);
        // Read by the run command itself (SiloHost.ParseRun), like the ports below.
        checks["Notary__Tls__Api"] = v =>
        {
            Assert.Equal("true", v);
            Assert.Contains("\"Notary:Tls:Api\"", File.ReadAllText(Path.Combine(Helm.RepositoryRoot, "src", "Silo", "SiloHost.cs")), StringComparison.Ordinal);
        };
        checks["Notary__Logging__Json"] = v => Assert.Equal(ConsoleFormatterNames.Json, app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);

        // The ports are read by the run command itself (SiloHost.ParseRun, from the process
        // environment) before the host is built: they must match the container's named ports.
        var siloHost = File.ReadAllText(Path.Combine(Helm.RepositoryRoot, "src", "Silo", "SiloHost.cs"));
        foreach (var (variable, port) in new[] { ("Notary__Api__Port", "https"), ("Notary__Cluster__SiloPort", "silo") })
        {
            checks[variable] = v =>
            {
                Assert.Contains($"\"{variable.Replace("__", ":", StringComparison.Ordinal)}\"", siloHost, StringComparison.Ordinal);
                Assert.Equal(v, container["ports"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == port)!["containerPort"]!.GetValue<string>());
            };
        }

        Assert.Empty(env.Keys.Except(checks.Keys));
        foreach (var (name, value) in env)
        {
            checks[name](value);
        }

        Assert.Equal("3", ChartTests.Single(objects, "Deployment")["spec"]!["replicas"]!.GetValue<string>());
    }

    [Fact]
    public async Task Every_value_changes_what_the_chart_renders()
    {
        var leaves = new List<(string Path, JsonNode? Value)>();
        Leaves(Helm.ParseDocuments(File.ReadAllText(Path.Combine(Helm.ChartDirectory, "values.yaml"))).Single(), "", leaves);
        Assert.True(leaves.Count > 30, $"only {leaves.Count} values found");

        var baselines = new[] { await RenderAsync(), await RenderAsync("-f", ValuesFile) };
        var unused = new List<string>();
        foreach (var (path, value) in leaves)
        {
            var changed = Changed(value);
            var differs = false;
            for (var i = 0; i < baselines.Length && !differs; i++)
            {
                string[] extra = i == 0 ? [] : ["-f", ValuesFile];
                differs = await RenderAsync([.. extra, "--set-json", $"{path}={changed}"]) != baselines[i];
            }

            if (!differs)
            {
                unused.Add(path);
            }
        }

        Assert.True(unused.Count == 0, "values no template uses: " + string.Join(", ", unused));
    }

    /// <summary>helm template's output, or its error: a value that makes the chart fail is read too.</summary>
    private static async Task<string> RenderAsync(params string[] args)
    {
        var result = await Helm.RunAsync(["template", "notary", Helm.ChartDirectory, "--namespace", "notary", .. args]);
        return result.ExitCode == 0 ? result.StdOut : "error: " + result.StdErr;
    }

    private static void Leaves(JsonNode? node, string path, List<(string, JsonNode?)> leaves)
    {
        if (node is JsonObject map && map.Count > 0)
        {
            foreach (var (key, child) in map)
            {
                Leaves(child, path.Length == 0 ? key : path + "." + key, leaves);
            }
        }
        else
        {
            leaves.Add((path, node));
        }
    }

    /// <summary>Another value of the same kind, as JSON for --set-json (YAML scalars arrive as strings).</summary>
    private static string Changed(JsonNode? value) => value switch
    {
        JsonObject => """{"notary-test":"x"}""",
        JsonArray => """["notary-test"]""",
        _ when value?.GetValue<string>() is "true" or "false" => value.GetValue<string>() == "true" ? "false" : "true",
        _ when int.TryParse(value?.GetValue<string>(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) => (n + 1).ToString(CultureInfo.InvariantCulture),
        _ => "\"" + (value?.GetValue<string>() ?? "") + "notary-test\"",
    };

    private static string Resolve(JsonObject valueFrom, string ns, JsonObject labels)
    {
        if (valueFrom["secretKeyRef"] is { } secret)
        {
            var key = (secret["name"]!.GetValue<string>(), secret["key"]!.GetValue<string>());
            Assert.True(Secrets.ContainsKey(key), $"a Secret reference this test does not expect: {key}");
            return Secrets[key];
        }

        var field = valueFrom["fieldRef"]!["fieldPath"]!.GetValue<string>();
        return field switch
        {
            "metadata.name" => "notary-7d9f8-abcde",
            "metadata.namespace" => ns,
            "status.podIP" => "10.1.2.3",
            _ when field.StartsWith("metadata.labels['", StringComparison.Ordinal) => labels[field["metadata.labels['".Length..^2]]!.GetValue<string>(),
            _ => throw new InvalidOperationException("a downward API field this test does not know: " + field),
        };
    }

    private static T Options<T>(WebApplication app)
        where T : class => app.Services.GetRequiredService<IOptions<T>>().Value;

    private static string[] Routes(WebApplication app) =>
        [.. ((Microsoft.AspNetCore.Routing.IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>().Select(e => e.RoutePattern.RawText ?? "")];
}
