using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notary.Silo;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Dev mode with nothing faked: the breach API in front of the real breach grains, the real
/// workload restarter, TokenReview and SubjectAccessReview against DevCluster. Everything is set
/// up and read back with real kubectl; every log line of the host is captured so that tests can
/// prove no token reaches one.
/// </summary>
public class RealBreachFixture : DevFixture
{
    public LogCapture Logs { get; } = new();

    public HttpClient Http { get; private set; } = null!;

    /// <summary>Every token handed out (or made up), to prove none reaches a log line.</summary>
    public ConcurrentBag<string> Tokens { get; } = [];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Http = new HttpClient { BaseAddress = Dev.ApiUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    public override async Task DisposeAsync()
    {
        Http?.Dispose(); // null when the fixture failed to start
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            // The folder holds the kubeconfig with the admin token: never leave it behind, even
            // when stopping the host throws (the error still fails the collection).
            if (Directory.Exists(Root))
            {
                Directory.Delete(Root, recursive: true);
            }
        }
    }

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(Logs);

    /// <summary>A fresh namespace (kubectl create namespace).</summary>
    public async Task<string> NamespaceAsync(string prefix)
    {
        var ns = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        await OkAsync("create", "namespace", ns);
        return ns;
    }

    /// <summary>kubectl apply of a YAML document.</summary>
    public async Task ApplyAsync(string yaml) =>
        await OkAsync("apply", "-f", WriteText($"apply-{Guid.NewGuid():N}.yaml", yaml));

    /// <summary>The metadata Secret a namespace's services are onboarded with (PKCS12 stores, passwords <c>ks-NS</c>/<c>ts-NS</c>).</summary>
    public static string Metadata(string ns) => $$"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: notary-metadata
          namespace: {{ns}}
        stringData:
          metadata.json: |
            {"tlsStoreRootPath": "/etc/tls", "tlsKeyStoreName": "keystore.p12", "tlsTrustStoreName": "truststore.p12",
             "tlsKeyStorePassword": "{{KeystorePassword(ns)}}", "tlsTrustStorePassword": "{{TruststorePassword(ns)}}"}
        ---

        """;

    public static string KeystorePassword(string ns) => "ks-" + ns;

    public static string TruststorePassword(string ns) => "ts-" + ns;

    public static string Fqdn(string ns, string name) => $"{name}.{ns}.svc.cluster.local";

    public static string Certificate(string ns, string name) => $"""
        apiVersion: notary.dev/v1alpha1
        kind: Certificate
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          type: Private
          fqdn: {Fqdn(ns, name)}
          privateKey:
            algorithm: ECDSA
            size: 256
        ---

        """;

    public static string Keystore(string ns, string name, string certificate) => $"""
        apiVersion: notary.dev/v1alpha1
        kind: Keystore
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          fqdn: {Fqdn(ns, certificate)}
          certName: {certificate}
        ---

        """;

    /// <summary>A Truststore of <paramref name="certificate"/>; each peer is (namespace, certificate name).</summary>
    public static string Truststore(string ns, string name, string certificate, (string Ns, string Name)[] upstream, (string Ns, string Name)[] downstream)
    {
        static string Peers((string Ns, string Name)[] peers) => peers.Length == 0
            ? " []"
            : string.Concat(peers.Select(p => $"\n    - tag: {p.Name}\n      fqdn: {Fqdn(p.Ns, p.Name)}\n      namespace: {p.Ns}"));
        return $"""
            apiVersion: notary.dev/v1alpha1
            kind: Truststore
            metadata:
              name: {name}
              namespace: {ns}
            spec:
              fqdn: {Fqdn(ns, certificate)}
              certName: {certificate}
              upstream:{Peers(upstream)}
              downstream:{Peers(downstream)}
            ---

            """;
    }

    /// <summary>An apps/v1 Deployment whose pod template uses a Secret in the given way.</summary>
    public static string Deployment(string ns, string name, string secret, SecretUse use, bool reload = false)
    {
        var volume = use switch
        {
            SecretUse.Volume => $"""
                      volumes:
                        - name: tls
                          secret:
                            secretName: {secret}
                """,
            SecretUse.Projected => $"""
                      volumes:
                        - name: tls
                          projected:
                            sources:
                              - secret:
                                  name: {secret}
                """,
            _ => string.Empty,
        };
        var container = use == SecretUse.EnvFrom
            ? $"""
                          envFrom:
                            - secretRef:
                                name: {secret}
                """
            : """
                          volumeMounts:
                            - name: tls
                              mountPath: /etc/tls
                              readOnly: true
                """;
        var annotations = reload ? "\n  annotations:\n    notary.dev/reload: \"true\"" : string.Empty;
        return $"""
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: {name}
              namespace: {ns}{annotations}
            spec:
              replicas: 1
              selector:
                matchLabels:
                  app: {name}
              template:
                metadata:
                  labels:
                    app: {name}
                spec:
                  containers:
                    - name: app
                      image: registry.example/{name}:1
            {container}
            {volume}
            ---

            """;
    }

    /// <summary>Waits until every Certificate, Keystore and Truststore of the namespaces is Ready.</summary>
    public async Task ReadyAsync(params string[] namespaces)
    {
        foreach (var ns in namespaces)
        {
            await OkAsync("wait", "--for=condition=Ready", "certificates,keystores,truststores", "--all", "-n", ns, "--timeout=60s");
        }
    }

    /// <summary>
    /// A ServiceAccount and its token (kubectl create token); with <paramref name="verbs"/>, a Role
    /// and RoleBinding granting them on breaches.notary.dev in <paramref name="ns"/>.
    /// </summary>
    public async Task<(string Token, string User)> ServiceAccountAsync(string ns, string name, params string[] verbs)
    {
        await OkAsync("create", "serviceaccount", name, "-n", ns);
        if (verbs.Length > 0)
        {
            await GrantAsync(ns, name, verbs);
        }

        var token = (await OkAsync("create", "token", name, "-n", ns, "--duration=1h")).Trim();
        Assert.Equal(3, token.Split('.').Length); // a JWT
        Tokens.Add(token);
        return (token, $"system:serviceaccount:{ns}:{name}");
    }

    /// <summary>
    /// Grants (or re-grants) <paramref name="verbs"/> on breaches.notary.dev in <paramref name="ns"/>
    /// to a ServiceAccount. Applied as YAML: breaches are not an API resource, so kubectl create role
    /// cannot name them.
    /// </summary>
    public Task GrantAsync(string ns, string serviceAccount, params string[] verbs) => ApplyAsync($"""
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata:
          name: {serviceAccount}-breaches
          namespace: {ns}
        rules:
          - apiGroups: ["notary.dev"]
            resources: ["breaches"]
            verbs: [{string.Join(", ", verbs.Select(v => $"\"{v}\""))}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata:
          name: {serviceAccount}-breaches
          namespace: {ns}
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: Role
          name: {serviceAccount}-breaches
        subjects:
          - kind: ServiceAccount
            name: {serviceAccount}
            namespace: {ns}
        """);

    /// <summary>One call to the breach API.</summary>
    public async Task<ApiAnswer> CallAsync(HttpMethod method, string path, string? token, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new ApiAnswer((int)response.StatusCode, text, response.Headers.Location?.ToString(),
            string.Join(", ", response.Headers.WwwAuthenticate.Select(h => h.ToString())), response.Content.Headers.ContentType?.MediaType);
    }

    public Task<ApiAnswer> PostAsync(string? token, string certificate, string mode, string reason, bool dryRun = false) =>
        CallAsync(HttpMethod.Post, BreachApiEndpoints.BasePath, token, JsonSerializer.Serialize(new { certificate, mode, reason, dryRun }));

    /// <summary>GETs a breach until it is done (a real breach takes its time), up to a deadline.</summary>
    public async Task<ApiAnswer> FollowAsync(string location, string token) =>
        await UntilAsync(async () =>
        {
            var answer = await CallAsync(HttpMethod.Get, location, token);
            Assert.True(answer.Status == 200, answer.ToString());
            return answer;
        }, a => a.Json.GetProperty("done").GetBoolean(), $"breach {location} to finish");

    /// <summary>Probes until <paramref name="done"/> holds, every 100 ms, for at most <paramref name="seconds"/>; fails with the last value.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, int seconds = 30, int intervalMilliseconds = 100)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"waited {seconds}s for {what}; last: {value}");
            await Task.Delay(TimeSpan.FromMilliseconds(intervalMilliseconds));
        }
    }

    /// <summary>kubectl get ... -o json, parsed.</summary>
    public async Task<JsonElement> JsonAsync(params string[] args)
    {
        using var json = JsonDocument.Parse(await OkAsync([.. args, "-o", "json"]));
        return json.RootElement.Clone();
    }

    /// <summary>A Certificate's status as kubectl shows it: serial, revision and the status of a condition.</summary>
    public async Task<CertificateView> CertificateStatusAsync(string ns, string name)
    {
        var status = (await JsonAsync("get", "certificate", name, "-n", ns)).GetProperty("status");
        var conditions = status.TryGetProperty("conditions", out var list)
            ? list.EnumerateArray().ToDictionary(c => c.GetProperty("type").GetString()!, c => c.GetProperty("status").GetString()!)
            : [];
        return new CertificateView(status.GetProperty("serialNumber").GetString()!.ToUpperInvariant(), status.GetProperty("revision").GetInt64(), conditions);
    }

    /// <summary>The serial numbers of the certificates in a Secret's PEM key (ca.crt of a truststore, tls.crt of a keystore).</summary>
    public async Task<List<string>> PemSerialsAsync(string ns, string secret, string key)
    {
        return SerialsOf(Encoding.ASCII.GetString((await SecretDataAsync(ns, secret))[key]));
    }

    /// <summary>The serial numbers of the certificates in a PEM bundle, in order.</summary>
    public static List<string> SerialsOf(string pem)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPem(pem);
        try
        {
            return [.. certificates.Select(c => c.SerialNumber.ToUpperInvariant())];
        }
        finally
        {
            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }

    /// <summary>The pod template annotation <c>notary.dev/restartedAt</c> of every Deployment in the namespace (null where absent).</summary>
    public async Task<Dictionary<string, string?>> RestartedAtAsync(string ns)
    {
        var items = (await JsonAsync("get", "deployments", "-n", ns)).GetProperty("items");
        return items.EnumerateArray().ToDictionary(
            d => d.GetProperty("metadata").GetProperty("name").GetString()!,
            d => d.GetProperty("spec").GetProperty("template").TryGetProperty("metadata", out var meta)
                 && meta.TryGetProperty("annotations", out var annotations)
                 && annotations.TryGetProperty("notary.dev/restartedAt", out var at)
                ? at.GetString()
                : null);
    }

    /// <summary>The reasons and types of the Events on a Certificate (kubectl get events --field-selector).</summary>
    public async Task<List<(string Type, string Reason, string Message)>> EventsAsync(string ns, string certificate)
    {
        var items = (await JsonAsync("get", "events", "-n", ns, "--field-selector", $"involvedObject.kind=Certificate,involvedObject.name={certificate}")).GetProperty("items");
        return [.. items.EnumerateArray().Select(e => (e.GetProperty("type").GetString()!, e.GetProperty("reason").GetString()!, e.GetProperty("message").GetString()!))];
    }

    /// <summary>Asserts that no token handed out reaches a log line.</summary>
    public void AssertNoTokenLogged(params string[] more)
    {
        Assert.NotEmpty(Logs.Lines);
        foreach (var secret in Tokens.Concat(more))
        {
            Assert.DoesNotContain(Logs.Lines, l => l.Message.Contains(secret, StringComparison.Ordinal));
        }
    }
}

/// <summary>How a Deployment's pod template uses a Secret.</summary>
public enum SecretUse
{
    Volume,
    EnvFrom,
    Projected,
}

public sealed record CertificateView(string Serial, long Revision, Dictionary<string, string> Conditions)
{
    public override string ToString() => $"serial {Serial}, revision {Revision}, {string.Join(", ", Conditions.Select(c => $"{c.Key}={c.Value}"))}";
}

[CollectionDefinition(Name)]
public sealed class RealBreachCollection : ICollectionFixture<RealBreachFixture>
{
    public const string Name = "breach end to end";
}
