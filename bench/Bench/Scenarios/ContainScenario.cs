using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Notary.Adapters.Kubernetes;
using Notary.Bench.ApplyLatency;
using Notary.Bench.Contain;
using Notary.Bench.Grains;
using Notary.CustomResources.Models;
using CrdCertificateSpec = Notary.CustomResources.Models.CertificateSpec;
using CrdTruststoreSpec = Notary.CustomResources.Models.TruststoreSpec;
using Notary.Dev;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Notary.Pki;
using PkiTrustSource = Notary.Pki.TrustSource;

namespace Notary.Bench.Scenarios;

/// <summary>
/// contain (issue 20): the time to contain a breach. One certificate ("breached") is trusted by N
/// pinned truststores, each of its own service and each mounted by a Deployment, all in dev mode
/// (DevCluster over HTTPS, the watcher, the grains, the Kubernetes Secret store, the restarter).
/// An incident responder reports a quarantine through the HTTP API (POST /v1/breaches with a
/// ServiceAccount token that TokenReview accepts and RBAC allows to create breaches); measured
/// until a client watching the API server has seen every truststore Secret without the
/// certificate (its ca.crt read, and at the end every PKCS#12 opened) and every Deployment with
/// its restart annotation. Ceiling: the same N truststores re-encoded (the StoreBuilder call the
/// grain makes) and written to DevCluster directly by one client, no grains. Goal at N = 1,000:
/// ratio >= 0.5 (target: under 10 s on the 2-core machine).
/// </summary>
public sealed class ContainScenario : IScenario
{
    private const string Breached = "breached";
    private const string TruststoreFile = "bench-truststore.p12";
    // Not a secret of anyone's: the benchmark's throwaway cluster, deleted with the process.
    private const string TruststorePassword = "bench-ts-pass";

    public string Name => "contain";

    public string Description => "a quarantine reported through the HTTP API until N truststore Secrets no longer hold the certificate and N Deployments have their restart annotation; goal ratio >= 0.5 at N = 1,000";

    public int DefaultCount => 1000;

    public async Task<BenchResult> RunAsync(BenchArgs args, TextWriter output, CancellationToken cancellationToken)
    {
        var count = args.CountOr(DefaultCount);
        var warmUp = args.IntOption("warm-up", Math.Min(count, 20), minimum: 0);
        var parallel = args.IntOption("parallel", 16);
        var timeout = TimeSpan.FromSeconds(args.IntOption("timeout-seconds", 300));
        var root = Directory.CreateTempSubdirectory("notary-bench-contain-").FullName;
        // The product's own logging (appsettings.json: Information, Orleans and ASP.NET Core at
        // Warning): every store written and every workload restarted is logged, as in production.
        var configuration = new Dictionary<string, string?>();
        foreach (var (key, value) in args.Options.Where(o => o.Key.StartsWith("Notary:", StringComparison.Ordinal) || o.Key.StartsWith("Logging:", StringComparison.Ordinal)))
        {
            configuration[key] = value;
        }

        try
        {
            await using var dev = await DevEnvironment.StartAsync(new DevModeOptions
            {
                KubeconfigPath = Path.Combine(root, "kubeconfig"),
                ApiPort = FreePorts.Next(),
                SiloPort = FreePorts.Next(),
                Configuration = configuration,
            }, cancellationToken);
            using var client = new k8s.Kubernetes(dev.Cluster.ClientConfiguration());
            using var watchClient = new k8s.Kubernetes(dev.Cluster.ClientConfiguration());
            using var http = new HttpClient { BaseAddress = dev.ApiUrl, Timeout = timeout };
            var grains = dev.App.Services.GetRequiredService<IGrainFactory>();

            if (warmUp > 0)
            {
                output.WriteLine($"warm-up: {warmUp} truststores contained in namespace contain-warm");
                var warm = await SetUpAsync(client, grains, "contain-warm", warmUp, parallel, timeout, output, cancellationToken);
                await ContainAsync(dev, client, watchClient, http, warm, timeout, output, cancellationToken);
                await CeilingAsync(client, warm, parallel, cancellationToken);
            }

            output.WriteLine($"load average {Services.LoadAverage()}: setting up {count} services trusting {Breached}, each with a pinned Truststore and a Deployment mounting it");
            var world = await SetUpAsync(client, grains, "contain", count, parallel, timeout, output, cancellationToken);

            // The ceiling before and after, the mean kept: a burst of the machine's other users weighs on both sides alike.
            output.WriteLine($"load average {Services.LoadAverage()}: ceiling, before");
            var before = await CeilingAsync(client, world, parallel, cancellationToken);
            output.WriteLine($"load average {Services.LoadAverage()}: quarantine of {world.Namespace}/{Breached} through POST /v1/breaches");
            var load = Services.LoadAverage();
            var contained = await ContainAsync(dev, client, watchClient, http, world, timeout, output, cancellationToken);
            output.WriteLine($"load average {Services.LoadAverage()}: ceiling, after");
            var after = await CeilingAsync(client, world, parallel, cancellationToken);
            var ceiling = (before.Wall + after.Wall) / 2;

            output.WriteLine($"contained: {contained.Cost.Describe(count, "truststore and workload")}");
            output.WriteLine($"  secrets clean after {contained.SecretsSeconds:0.000} s, workloads annotated after {contained.WorkloadsSeconds:0.000} s, breach report finished after {contained.ReportSeconds:0.000} s ({contained.Phase})");
            output.WriteLine($"ceiling before: {before.Describe(count, "truststore")}");
            output.WriteLine($"ceiling after: {after.Describe(count, "truststore")}");
            output.WriteLine($"load average at the quarantine: {load}; now {Services.LoadAverage()} (other engineers may be building on this machine)");
            return new BenchResult(Name)
                .Add("count", count)
                .Add("seconds", contained.Cost.Wall.TotalSeconds, 3)
                .Add("ceiling_seconds", ceiling.TotalSeconds, 3)
                .Add("ratio", ceiling / contained.Cost.Wall, 3);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>One namespace's services: the breached certificate and every client's own certificate (for the ceiling's encoding).</summary>
    private sealed record World(string Namespace, string BreachedPem, string BreachedSerial, string[] Names, PkiTrustSource[] Own, string Token);

    private sealed record Contained(Cost Cost, double SecretsSeconds, double WorkloadsSeconds, double ReportSeconds, string Phase);

    private static string Fqdn(string ns, string name) => $"{name}.{ns}.svc.cluster.local";

    private static string TruststoreOf(string name) => name + "-ts";

    /// <summary>
    /// The namespace, its metadata Secret, the breached Certificate, N services (Certificate,
    /// pinned Truststore trusting the breached one, a Deployment mounting the truststore's
    /// Secret) created through the API server, all Ready; and the responder's ServiceAccount,
    /// allowed to create breaches in the namespace, with its token.
    /// </summary>
    private static async Task<World> SetUpAsync(k8s.Kubernetes client, IGrainFactory grains, string ns, int count, int parallel, TimeSpan timeout, TextWriter output, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: cancellationToken);
        await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = StoreDefaults.MetadataSecret },
            StringData = new Dictionary<string, string> { ["metadata.json"] = MetadataJson },
        }, ns, cancellationToken: cancellationToken);
        await using var ready = await ReadyWatch.StartAsync(client, ns, NotaryResources.CertificatePlural, cancellationToken);
        await CreateAsync(client, ns, NotaryResources.CertificatePlural, Certificate(ns, Breached), cancellationToken);
        var names = Enumerable.Range(0, count).Select(i => $"s{i}").ToArray();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (name, ct) =>
        {
            await CreateAsync(client, ns, NotaryResources.CertificatePlural, Certificate(ns, name), ct);
            await CreateAsync(client, ns, NotaryResources.TruststorePlural, new Truststore
            {
                Metadata = new V1ObjectMeta { Name = TruststoreOf(name), NamespaceProperty = ns },
                Spec = new CrdTruststoreSpec
                {
                    Fqdn = Fqdn(ns, name),
                    CertName = name,
                    Upstream = [new PeerReference { Tag = Breached, Fqdn = Fqdn(ns, Breached), Namespace = ns }],
                    Trust = TrustModes.Pinned,
                },
            }, ct);
            await client.AppsV1.CreateNamespacedDeploymentAsync(Deployment(name), ns, cancellationToken: ct);
        });

        await Wait(Task.WhenAll(names.Append(Breached).Select(ready.ReadyAsync)).ContinueWith(_ => 0L, TaskScheduler.Default), timeout,
            () => $"the Certificates of {ns} are not all Ready after {timeout.TotalSeconds} s", cancellationToken);

        // Ready, with the breached certificate in every truststore Secret (the quarantine has something to remove).
        var breached = await MaterialAsync(grains, ns, Breached);
        var body = PemBody(breached.CertificatePem);
        await using (var trusting = await ContainWatch.SecretsAsync(client, ns, names.Select(TruststoreOf), s => CaCrt(s).Contains(body, StringComparison.Ordinal), cancellationToken))
        {
            await Wait(trusting.AllPassed, timeout, () => $"{trusting.Passed} of {count} truststore Secrets hold {Breached} after {timeout.TotalSeconds} s", cancellationToken);
        }

        var own = new PkiTrustSource[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (i, _) =>
        {
            var material = await MaterialAsync(grains, ns, names[i]);
            own[i] = Services.Source(ns, names[i], material.CertificatePem, material.ChainPem);
        });

        var token = await ResponderAsync(client, ns, cancellationToken);
        output.WriteLine($"set up {count} services in {ns} in {clock.Elapsed.TotalSeconds:0.0} s; every truststore Secret holds {Breached} (serial {breached.SerialNumber})");
        return new World(ns, breached.CertificatePem, breached.SerialNumber, names, own, token);
    }

    /// <summary>
    /// Reports the quarantine and waits, timed, until a client's watches saw every truststore
    /// Secret without the certificate and every Deployment with its restart annotation; then
    /// follows the breach's report to its end and checks every Secret decoded.
    /// </summary>
    private static async Task<Contained> ContainAsync(DevEnvironment dev, k8s.Kubernetes client, k8s.Kubernetes watchClient, HttpClient http, World world, TimeSpan timeout, TextWriter output, CancellationToken cancellationToken)
    {
        var ns = world.Namespace;
        var body = PemBody(world.BreachedPem);
        var stores = world.Names.Select(TruststoreOf).ToList();
        await using var secrets = await ContainWatch.SecretsAsync(watchClient, ns, stores, s => CaCrt(s) is { Length: > 0 } crt && !crt.Contains(body, StringComparison.Ordinal), cancellationToken);
        await using var workloads = await ContainWatch.DeploymentsAsync(watchClient, ns, world.Names,
            d => d.Spec?.Template?.Metadata?.Annotations?.ContainsKey(KubernetesWorkloads.RestartedAtAnnotation) == true, cancellationToken);
        if (secrets.Passed > 0 || workloads.Passed > 0)
        {
            throw new InvalidOperationException($"before the quarantine {secrets.Passed} Secrets lack {Breached} and {workloads.Passed} Deployments were restarted");
        }

        var auditFrom = dev.Cluster.Audit.Count;
        var cost = Cost.Start();
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/breaches")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", world.Token) },
            Content = new StringContent(JsonSerializer.Serialize(new { certificate = $"{ns}/{Breached}", mode = "quarantine", reason = "bench: key leaked", dryRun = false }), Encoding.UTF8, "application/json"),
        };
        using var answer = await http.SendAsync(request, cancellationToken);
        if (answer.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"POST /v1/breaches answered {(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync(cancellationToken)}");
        }

        var location = answer.Headers.Location?.ToString() ?? throw new InvalidOperationException("POST /v1/breaches answered 202 without a Location");
        var secretsClean = await Wait(secrets.AllPassed, timeout, () => $"{secrets.Passed} of {stores.Count} truststore Secrets are without {Breached} after {timeout.TotalSeconds} s", cancellationToken);
        var annotated = await Wait(workloads.AllPassed, timeout, () => $"{workloads.Passed} of {world.Names.Length} Deployments have {KubernetesWorkloads.RestartedAtAnnotation} after {timeout.TotalSeconds} s", cancellationToken);
        cost.Stop();
        var audit = dev.Cluster.Audit;
        // DevCluster keeps the latest 100,000 requests: past that the window cannot be told apart.
        var window = audit.Count >= 100_000 ? null : audit.Skip(auditFrom).ToList();

        // Not timed: the breach's own report (its status lags the work it reports).
        string phase;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(timeout);
            while (true)
            {
                using var get = new HttpRequestMessage(HttpMethod.Get, location) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", world.Token) } };
                using var followed = await http.SendAsync(get, deadline.Token);
                using var json = JsonDocument.Parse(await followed.Content.ReadAsStringAsync(deadline.Token));
                if (json.RootElement.TryGetProperty("done", out var done) && done.GetBoolean())
                {
                    phase = json.RootElement.GetProperty("phase").GetString() ?? "?";
                    break;
                }

                await Task.Delay(50, deadline.Token);
            }
        }

        var reported = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (phase != "Completed")
        {
            throw new InvalidOperationException($"the quarantine's breach ended {phase}");
        }

        // Decoded: every truststore's PKCS#12 opened with the service's password; the service's own certificate in, the breached one out.
        var listed = (await client.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: cancellationToken)).Items.ToDictionary(s => s.Metadata.Name, StringComparer.Ordinal);
        Parallel.For(0, world.Names.Length, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            var name = TruststoreOf(world.Names[i]);
            var secret = listed.GetValueOrDefault(name) ?? throw new InvalidOperationException($"Secret {ns}/{name} is missing");
            var serials = Serials(secret.Data[TruststoreFile]);
            using var own = X509Certificate2.CreateFromPem(world.Own[i].CertificatePem);
            if (serials.Contains(world.BreachedSerial, StringComparer.OrdinalIgnoreCase) || !serials.Contains(own.SerialNumber, StringComparer.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"Secret {ns}/{name}'s {TruststoreFile} trusts [{string.Join(", ", serials)}]; expected {own.SerialNumber} without {world.BreachedSerial}");
            }
        });

        output.WriteLine($"{ns}: quarantine {location} {phase}; watches saw {secrets.Events} Secret and {workloads.Events} Deployment events");
        // The API round trips of the measured part, as DevCluster's audit saw them (a profile of the requests).
        output.WriteLine(window is null
            ? "  (the audit was full: no request profile)"
            : $"  requests to the API server while measured ({window.Count}): " + string.Join(", ", window
                .GroupBy(r => $"{r.Verb} {r.Resource}{(r.Subresource.Length > 0 ? "/" + r.Subresource : "")}")
                .OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}")));
        return new Contained(cost, Stopwatch.GetElapsedTime(started, secretsClean).TotalSeconds, Stopwatch.GetElapsedTime(started, annotated).TotalSeconds, reported, phase);
    }

    /// <summary>The ceiling: each truststore re-encoded without the breached certificate (the grain's StoreBuilder call) and written with one PUT, one client, <paramref name="parallel"/> in flight.</summary>
    private static async Task<Cost> CeilingAsync(k8s.Kubernetes client, World world, int parallel, CancellationToken cancellationToken)
    {
        var ns = world.Namespace + "-ceiling";
        var metadata = Metadata(ns);
        if ((await client.CoreV1.ListNamespaceAsync(fieldSelector: $"metadata.name={ns}", cancellationToken: cancellationToken)).Items.Count == 0)
        {
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: cancellationToken);
            await Parallel.ForEachAsync(world.Names, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (name, ct) =>
                await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = TruststoreOf(name) }, Data = new Dictionary<string, byte[]>() }, ns, cancellationToken: ct));
        }

        var last = new StoreWrite[1];
        var cost = Cost.Start();
        await Parallel.ForEachAsync(Enumerable.Range(0, world.Names.Length), new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var name = world.Names[i];
            var own = world.Own[i] with { Namespace = ns };
            var write = StoreBuilder.Truststore(new ResourceKey(ns, TruststoreOf(name)), Fqdn(world.Namespace, name), StoreFormat.Pkcs12, metadata, TruststorePolicy.Select(own, [], [])).Write;
            await client.CoreV1.ReplaceNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = TruststoreOf(name), NamespaceProperty = ns, Labels = new Dictionary<string, string> { [KubernetesSecretStore.ManagedByLabel] = "bench" } },
                Type = "Opaque",
                Data = write.Files.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal),
            }, TruststoreOf(name), ns, cancellationToken: ct);
            last[0] = write;
        });
        cost.Stop();

        // One sample decoded: the ceiling wrote a real store of the service's own certificate.
        var sample = await client.CoreV1.ReadNamespacedSecretAsync(TruststoreOf(world.Names[^1]), ns, cancellationToken: cancellationToken);
        using var ownLast = X509Certificate2.CreateFromPem(world.Own[^1].CertificatePem);
        if (!Serials(sample.Data[TruststoreFile]).Contains(ownLast.SerialNumber, StringComparer.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException("the ceiling's truststore does not hold the service's certificate");
        }

        return cost;
    }

    private static List<string> Serials(byte[] pkcs12)
    {
        var collection = X509CertificateLoader.LoadPkcs12Collection(pkcs12, TruststorePassword, X509KeyStorageFlags.EphemeralKeySet);
        try
        {
            return [.. collection.Select(c => c.SerialNumber)];
        }
        finally
        {
            foreach (var c in collection)
            {
                c.Dispose();
            }
        }
    }

    private static async Task<long> Wait(Task<long> task, TimeSpan timeout, Func<string> describe, CancellationToken cancellationToken)
    {
        try
        {
            return await task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException(describe());
        }
    }

    private static async Task<PublicMaterial> MaterialAsync(IGrainFactory grains, string ns, string name) =>
        (await grains.GetGrain<ICertificateGrain>($"{ns}/{name}").GetSnapshotAsync()).Material
        ?? throw new InvalidOperationException($"Certificate {ns}/{name} has no material");

    /// <summary>A ServiceAccount "responder" allowed to create (and read) breaches in <paramref name="ns"/>, and a token for it (TokenRequest).</summary>
    private static async Task<string> ResponderAsync(k8s.Kubernetes client, string ns, CancellationToken cancellationToken)
    {
        const string name = "responder";
        await client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = name } }, ns, cancellationToken: cancellationToken);
        await client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = name },
            Rules = [new V1PolicyRule { ApiGroups = [NotaryResources.Group], Resources = [NotaryResources.BreachPlural], Verbs = ["create", "get"] }],
        }, ns, cancellationToken: cancellationToken);
        await client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = name },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = name },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = name, NamespaceProperty = ns }],
        }, ns, cancellationToken: cancellationToken);
        var token = await client.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec() }, name, ns, cancellationToken: cancellationToken);
        return token.Status.Token;
    }

    private static async Task CreateAsync(k8s.Kubernetes client, string ns, string plural, object body, CancellationToken cancellationToken) =>
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(body, NotaryResources.Group, NotaryResources.Version, ns, plural, cancellationToken: cancellationToken);

    private static Certificate Certificate(string ns, string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new CrdCertificateSpec { Type = CertificateTypes.Private, Fqdn = Fqdn(ns, name), PrivateKey = new PrivateKeySpec { Algorithm = KeyAlgorithms.Ecdsa } },
    };

    /// <summary>A Deployment whose pod template mounts the service's truststore Secret, as a Java service would.</summary>
    private static V1Deployment Deployment(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1DeploymentSpec
        {
            Replicas = 1,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name } },
                Spec = new V1PodSpec
                {
                    Containers = [new V1Container { Name = "app", Image = $"registry.example/{name}:1", VolumeMounts = [new V1VolumeMount { Name = "tls", MountPath = "/etc/tls", ReadOnlyProperty = true }] }],
                    Volumes = [new V1Volume { Name = "tls", Secret = new V1SecretVolumeSource { SecretName = TruststoreOf(name) } }],
                },
            },
        },
    };

    private static string MetadataJson => $$"""
        {"tlsStoreRootPath": "/etc/tls", "tlsKeyStoreName": "bench-keystore.p12", "tlsTrustStoreName": "{{TruststoreFile}}",
         "tlsKeyStorePassword": "bench-ks-pass", "tlsTrustStorePassword": "{{TruststorePassword}}"}
        """;

    private static ServiceMetadata Metadata(string ns) =>
        ServiceMetadata.Parse(new MetadataSecretContent(true, MetadataJson), ns, StoreDefaults.MetadataSecret).Metadata
        ?? throw new InvalidOperationException("the bench metadata does not parse");

    private static string CaCrt(V1Secret secret) =>
        secret.Data is not null && secret.Data.TryGetValue("ca.crt", out var pem) ? Encoding.ASCII.GetString(pem).Replace("\n", "", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal) : string.Empty;

    /// <summary>The base64 of the certificate's DER, as a PEM bundle carries it (line breaks removed).</summary>
    private static string PemBody(string pem) =>
        string.Concat(pem.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));
}
