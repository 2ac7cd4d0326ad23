using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Notary.Adapters.Kubernetes;
using Notary.Bench.ApplyLatency;
using Notary.CustomResources.Models;
using Notary.Dev;
using Notary.DevCluster;
using Notary.Grains.Abstractions.Ports;
using Notary.Silo;
using Notary.Watcher;

namespace Notary.Bench.Scenarios;

/// <summary>
/// apply-latency (issue 7): N Certificates created at once through the Kubernetes API of dev mode
/// (DevCluster over HTTP on loopback, the watcher, the grains, the built-in CA), and the time from
/// each create to Ready=True in its status as a client's WATCH sees it. Goal: p99 ≤ 250 ms at
/// N = 200. With <c>--keystores yes</c> each Certificate also gets a Keystore (the Kubernetes
/// Secret store), whose latency is reported separately.
/// </summary>
/// <remarks>
/// Hosted in process, as the end-to-end tests host dev mode: the client's timestamps and the
/// probes inside Notary (<see cref="PathProbe"/>) then read one Stopwatch, so the time can be
/// split along the path. A child process would share the same two cores anyway. Each
/// Certificate's status is checked against what its grain issued; the optional Keystores are
/// checked down to their Secret (a Certificate alone stores nothing).
/// </remarks>
public sealed class ApplyLatencyScenario : IScenario
{
    private const string Namespace = "bench-apply";
    private const string KeystoreFile = "bench-keystore.p12";
    // Enough for the CA and the code paths to exist (--warm-up N).
    private const int DefaultWarmUp = 5;
    // Rounds of N certificates before the measured one (--warm-up-rounds R), see the warm-up.
    // Three: after two, tiered compilation (with its instrumented tier) still compiled up to
    // ~90 ms of methods during some measured bursts; after three, 1-6 ms in 12 of 13 runs (bench/RESULTS.md).
    private const int DefaultWarmUpRounds = 3;

    public string Name => "apply-latency";

    public string Description => "N Certificates created at once through DevCluster's API: create to Ready=True as a WATCH sees it; goal p99 <= 250 ms at N = 200 (--keystores yes adds a Keystore each)";

    public int DefaultCount => 200;

    public async Task<BenchResult> RunAsync(BenchArgs args, TextWriter output, CancellationToken cancellationToken)
    {
        var count = args.CountOr(DefaultCount);
        var algorithm = args.Option("algorithm", KeyAlgorithms.Ecdsa);
        var withKeystores = args.Option("keystores", "no") switch
        {
            "yes" => true,
            "no" => false,
            var other => throw new ArgumentException($"--keystores is yes or no, not '{other}'"),
        };
        var timeout = TimeSpan.FromSeconds(args.IntOption("timeout-seconds", 120));
        var warmUp = args.IntOption("warm-up", DefaultWarmUp);
        var warmUpRounds = args.IntOption("warm-up-rounds", DefaultWarmUpRounds, minimum: 0);
        var root = Path.Combine(Path.GetTempPath(), "notary-bench-apply-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var probe = new PathProbe();
        // The product's default logging (its appsettings.json, loaded by the host: Information),
        // measured with the rest since issue 20; before, the bench set warnings only.
        var configuration = new Dictionary<string, string?>();
        foreach (var (key, value) in args.Options.Where(o => o.Key.StartsWith("Notary:", StringComparison.Ordinal)))
        {
            configuration[key] = value;
        }

        // --controller floor: DevCluster and a controller that only writes Ready (FloorController),
        // to measure what the client, the API server and one status write cost here.
        var floor = args.Option("controller", "notary") switch
        {
            "notary" => false,
            "floor" => true,
            var other => throw new ArgumentException($"--controller is notary or floor, not '{other}'"),
        };
        if (floor && withKeystores)
        {
            throw new ArgumentException("--controller floor writes Certificates' status only; it takes no --keystores yes");
        }

        await using var bare = floor ? await DevClusterServer.StartAsync(new DevClusterOptions { Port = 0, CrdDirectories = [NotaryHost.CrdDirectory] }, cancellationToken) : null;
        await using var dev = floor ? null : await DevEnvironment.StartAsync(new DevModeOptions
        {
            KubeconfigPath = Path.Combine(root, "kubeconfig"),
            ApiPort = FreePorts.Next(),
            SiloPort = FreePorts.Next(),
            Configuration = configuration,
            ConfigureServices = services =>
            {
                // Later registrations win: the real forwarder and status writer, timed.
                services.AddSingleton<IResourceEventSink>(sp => new ProbedSink(new GrainForwarder(sp.GetRequiredService<IGrainFactory>()), probe));
                services.AddSingleton<IStatusWriter>(sp => new ProbedStatusWriter(sp.GetRequiredService<KubernetesStatusWriter>(), probe));
            },
        }, cancellationToken);
        try
        {
            var cluster = bare ?? dev!.Cluster;
            using var client = new k8s.Kubernetes(cluster.ClientConfiguration());
            using var watchClient = new k8s.Kubernetes(cluster.ClientConfiguration());
            using var floorClient = floor ? new k8s.Kubernetes(cluster.ClientConfiguration()) : null;
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } }, cancellationToken: cancellationToken);
            await client.CoreV1.CreateNamespacedSecretAsync(MetadataSecret(), Namespace, cancellationToken: cancellationToken);
            await using var floorController = floorClient is null ? null
                : await FloorController.StartAsync(floorClient, Namespace, args.IntOption("Notary:Watcher:Workers", new NotaryWatcherOptions().Workers), cancellationToken);
            await using var certificates = await ReadyWatch.StartAsync(watchClient, Namespace, NotaryResources.CertificatePlural, cancellationToken);
            await using var keystores = await ReadyWatch.StartAsync(watchClient, Namespace, NotaryResources.KeystorePlural, cancellationToken);

            // Warm-up: the CA is created and the code paths compiled. Then rounds of the measured
            // shape (N at once), each followed by a pause: the tiered JIT only starts counting calls
            // once no new method was compiled for a while, so the first burst runs unoptimized code
            // and the promotion to optimized code happens in the *next* burst, on its CPU. A
            // controller that has run for a while has long finished that: measure that state.
            var warm = await CreateAllAsync(client, Enumerable.Range(0, warmUp).Select(i => $"w{i}").ToList(), algorithm, withKeystores, cancellationToken);
            await WaitAllAsync(client, certificates, keystores, warm, withKeystores, timeout, cancellationToken);
            output.WriteLine($"warm-up: {warmUp} certificates Ready");
            for (var round = 1; round <= warmUpRounds; round++)
            {
                var (quiet, jitted, jitMsQuiet) = await JitQuietAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), cancellationToken);
                var roundJit = System.Runtime.JitInfo.GetCompiledMethodCount();
                var roundJitTime = System.Runtime.JitInfo.GetCompilationTime();
                var burst = await CreateAllAsync(client, Enumerable.Range(0, count).Select(i => $"r{round}-{i}").ToList(), algorithm, withKeystores, cancellationToken);
                await WaitAllAsync(client, certificates, keystores, burst, withKeystores, timeout, cancellationToken);
                output.WriteLine($"warm-up round {round}: before it the JIT compiled {jitted} methods in {jitMsQuiet:F0} ms{(quiet ? "" : " (not quiet after 60 s)")}; " +
                    $"during its {count} certificates {System.Runtime.JitInfo.GetCompiledMethodCount() - roundJit} methods in {(System.Runtime.JitInfo.GetCompilationTime() - roundJitTime).TotalMilliseconds:F0} ms");
            }

            if (warmUpRounds > 0)
            {
                var (settled, settling, settlingMs) = await JitQuietAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), cancellationToken);
                output.WriteLine($"before the measured round the JIT compiled {settling} methods in {settlingMs:F0} ms{(settled ? "" : " (not quiet after 60 s)")}");
            }

            var load = File.ReadAllText("/proc/loadavg").Trim();
            var allocated = GC.GetTotalAllocatedBytes();
            // CPU time of the whole process (client, DevCluster and Notary): on a shared machine
            // it says what the work costs where wall time says how long others made it wait.
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            // What of that CPU is the runtime compiling code or collecting garbage, not doing the work.
            using var jitLog = args.Option("jit-log", "no") == "yes" ? new JitLog() : null;
            jitLog?.Start();
            using var allocLog = args.Option("alloc-log", "no") == "yes" ? new AllocLog() : null;
            allocLog?.Start();
            var jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount();
            var jitTime = System.Runtime.JitInfo.GetCompilationTime();
            var gcPause = GC.GetTotalPauseDuration();
            var gcCount = GC.CollectionCount(0);
            var writesBefore = floorController?.Writes ?? probe.StatusWrites;
            var names = Enumerable.Range(0, count).Select(i => $"c{i}").ToList();
            var started = Stopwatch.GetTimestamp();
            var created = await CreateAllAsync(client, names, algorithm, withKeystores, cancellationToken);
            var createdAll = Stopwatch.GetTimestamp();
            await WaitAllAsync(client, certificates, keystores, created, withKeystores, timeout, cancellationToken);
            var readyAll = Stopwatch.GetTimestamp();
            var allocatedMeasured = GC.GetTotalAllocatedBytes() - allocated;
            var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
            jitLog?.Stop();
            allocLog?.Stop();
            var jitMethodsMeasured = System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethods;
            var jitMs = (System.Runtime.JitInfo.GetCompilationTime() - jitTime).TotalMilliseconds;
            var gcPauseMs = (GC.GetTotalPauseDuration() - gcPause).TotalMilliseconds;
            var gcs = GC.CollectionCount(0) - gcCount;
            var statusWrites = (floorController?.Writes ?? probe.StatusWrites) - writesBefore;

            await VerifyAsync(client, dev?.App.Services.GetRequiredService<IGrainFactory>(), created, withKeystores, cancellationToken);

            var ready = created.Select(c => Ms(c.CertificateSent, certificates.ReadyAsync(c.Name).Result)).ToList();
            var result = new BenchResult(Name)
                .Add("count", count)
                .Add("p50_ms", Percentile(ready, 0.50), 1)
                .Add("p99_ms", Percentile(ready, 0.99), 1)
                .Add("max_ms", ready.Max(), 1);
            output.WriteLine($"load average at start: {load}; at end: {File.ReadAllText("/proc/loadavg").Trim()}");
            output.WriteLine($"creates all answered after {Ms(started, createdAll):F0} ms; all Ready after {Ms(started, readyAll):F0} ms; " +
                $"{statusWrites} status writes for {count} certificates{(withKeystores ? $" and {count} keystores" : "")}; {allocatedMeasured / count / 1024} KiB allocated and {cpuMs / count:F1} ms of CPU per certificate");
            if (certificates.Rewatches + certificates.Relists + keystores.Rewatches + keystores.Relists > 0)
            {
                // Over the whole run: a relist timestamps what it finds Ready late (see ReadyWatch).
                output.WriteLine($"the client's watches were re-opened {certificates.Rewatches + keystores.Rewatches} times and relisted {certificates.Relists + keystores.Relists} times during the run");
            }

            output.WriteLine($"while measured: the JIT compiled {jitMethodsMeasured} methods in {jitMs:F0} ms; {gcs} collections paused {gcPauseMs:F0} ms");
            jitLog?.Report(output);
            allocLog?.Report(output, count);
            if (!floor)
            {
                Breakdown(output, created, probe, certificates);
            }
            if (withKeystores)
            {
                var keystoreReady = created.Select(c => Ms(c.KeystoreSent, keystores.ReadyAsync(c.Keystore).Result)).ToList();
                result.Add("keystore_p50_ms", Percentile(keystoreReady, 0.50), 1)
                    .Add("keystore_p99_ms", Percentile(keystoreReady, 0.99), 1)
                    .Add("keystore_max_ms", keystoreReady.Max(), 1);
            }

            result.Add("all_ready_ms", Ms(started, readyAll), 0)
                .Add("cpu_ms_per_certificate", cpuMs / count, 1)
                .Add("controller", floor ? "floor" : "notary")
                .Add("status_writes", statusWrites)
                .Add("jit_ms", jitMs, 0)
                .Add("gc_pause_ms", gcPauseMs, 0)
                .Add("load1", load.Split(' ')[0]);
            return result;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// Waits until the JIT has compiled nothing for <paramref name="quietFor"/> (tiered compilation
    /// re-compiles hot methods in the background for a while after they got hot), at most
    /// <paramref name="limit"/>: a long-running controller has long finished that.
    /// </summary>
    private static async Task<(bool Quiet, long Compiled, double Milliseconds)> JitQuietAsync(TimeSpan quietFor, TimeSpan limit, CancellationToken cancellationToken)
    {
        var start = System.Runtime.JitInfo.GetCompiledMethodCount();
        var time = System.Runtime.JitInfo.GetCompilationTime();
        var last = start;
        var since = Stopwatch.GetTimestamp();
        var begun = since;
        while (Stopwatch.GetElapsedTime(begun) < limit)
        {
            await Task.Delay(100, cancellationToken);
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != last)
            {
                last = now;
                since = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(since) >= quietFor)
            {
                return (true, now - start, (System.Runtime.JitInfo.GetCompilationTime() - time).TotalMilliseconds);
            }
        }

        return (false, last - start, (System.Runtime.JitInfo.GetCompilationTime() - time).TotalMilliseconds);
    }

    /// <summary>One created pair: the names and when each create was sent and answered.</summary>
    private sealed record Created(string Name, string Keystore, long CertificateSent, long CertificateAnswered, long KeystoreSent);

    /// <summary>
    /// Every create in flight at once (as kubectl apply -f of many objects or a GitOps sync sends
    /// them): a Certificate and, beside it, its Keystore, each send time taken just before the call.
    /// </summary>
    private static async Task<List<Created>> CreateAllAsync(k8s.Kubernetes client, IReadOnlyList<string> names, string algorithm, bool withKeystores, CancellationToken cancellationToken)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var creates = names.Select(async name =>
        {
            await gate.Task.ConfigureAwait(false);
            // In a manifest's order (the Certificate, then its Keystore), without waiting in between.
            var sent = Stopwatch.GetTimestamp();
            var certificate = client.CustomObjects.CreateNamespacedCustomObjectAsync(CertificateOf(name, algorithm), NotaryResources.Group, NotaryResources.Version, Namespace, NotaryResources.CertificatePlural, cancellationToken: cancellationToken);
            var keystoreSent = 0L;
            var keystore = Task.CompletedTask;
            if (withKeystores)
            {
                keystoreSent = Stopwatch.GetTimestamp();
                keystore = client.CustomObjects.CreateNamespacedCustomObjectAsync(KeystoreOf(name), NotaryResources.Group, NotaryResources.Version, Namespace, NotaryResources.KeystorePlural, cancellationToken: cancellationToken);
            }

            await certificate.ConfigureAwait(false);
            var answered = Stopwatch.GetTimestamp();
            await keystore.ConfigureAwait(false);
            return new Created(name, KeystoreName(name), sent, answered, keystoreSent);
        }).ToList();
        gate.SetResult();
        return [.. await Task.WhenAll(creates).ConfigureAwait(false)];
    }

    private static async Task WaitAllAsync(k8s.Kubernetes client, ReadyWatch certificates, ReadyWatch keystores, IReadOnlyList<Created> created, bool withKeystores, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var all = created.Select(c => (Task)certificates.ReadyAsync(c.Name))
            .Concat(withKeystores ? created.Select(c => (Task)keystores.ReadyAsync(c.Keystore)) : [])
            .ToList();
        try
        {
            await Task.WhenAll(all).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            certificates.ThrowIfFailed();
            keystores.ThrowIfFailed();
            var missing = created.Where(c => !certificates.ReadyAsync(c.Name).IsCompleted).Select(c => c.Name)
                .Concat(withKeystores ? created.Where(c => !keystores.ReadyAsync(c.Keystore).IsCompleted).Select(c => c.Keystore) : [])
                .ToList();
            string server;
            try
            {
                server = await ReadyInApiServerAsync(client, NotaryResources.CertificatePlural, cancellationToken).ConfigureAwait(false)
                    + (withKeystores ? "; " + await ReadyInApiServerAsync(client, NotaryResources.KeystorePlural, cancellationToken).ConfigureAwait(false) : "");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                server = $"listing them failed too: {ex.Message}";
            }

            throw new InvalidOperationException($"{missing.Count} resources not Ready after {timeout.TotalSeconds} s, e.g. {string.Join(", ", missing.Take(10))}; " +
                $"{certificates.Describe()}; {keystores.Describe()}; {server}");
        }
    }

    /// <summary>The benchmark namespace's <paramref name="plural"/>, typed (the client answers untyped JSON).</summary>
    private static async Task<TList> ListAsync<TList>(k8s.Kubernetes client, string plural, CancellationToken cancellationToken) =>
        KubernetesJson.Deserialize<TList>(KubernetesJson.Serialize(
            await client.CustomObjects.ListNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, Namespace, plural, cancellationToken: cancellationToken).ConfigureAwait(false)));

    /// <summary>What the API server says, to tell a stalled controller from a watch that missed events.</summary>
    private static async Task<string> ReadyInApiServerAsync(k8s.Kubernetes client, string plural, CancellationToken cancellationToken)
    {
        // Only metadata and conditions are read, which Certificates and Keystores share.
        var items = (await ListAsync<CertificateList>(client, plural, cancellationToken).ConfigureAwait(false)).Items;
        return $"the API server holds {items.Count} {plural}, {items.Count(i => i.Status?.GetCondition(ConditionTypes.Ready)?.Status == ConditionStatuses.True)} Ready, " +
            $"{items.Count(i => i.Metadata.Finalizers?.Count > 0)} with a finalizer";
    }

    /// <summary>
    /// Reads everything back: every Certificate Ready in the API server with the serial,
    /// revision and expiry of the certificate its grain issued, and that certificate is for the
    /// Certificate's fqdn; with Keystores, every Keystore Ready with location k8s://ns/secrets/name
    /// naming a Secret that exists, whose tls.crt is that Certificate (serial, CN) and whose
    /// PKCS12 opens with the service's password and holds the key.
    /// </summary>
    private static async Task VerifyAsync(k8s.Kubernetes client, IGrainFactory? grains, IReadOnlyList<Created> created, bool withKeystores, CancellationToken cancellationToken)
    {
        var certificates = (await ListAsync<CertificateList>(client, NotaryResources.CertificatePlural, cancellationToken))
            .Items.ToDictionary(c => c.Metadata.Name, StringComparer.Ordinal);
        foreach (var c in created)
        {
            var certificate = certificates.GetValueOrDefault(c.Name) ?? throw new InvalidOperationException($"Certificate {c.Name} is missing");
            if (grains is null)
            {
                // The floor controller issues nothing: Ready is all it writes.
                if (certificate.Status?.GetCondition(ConditionTypes.Ready)?.Status != ConditionStatuses.True)
                {
                    throw new InvalidOperationException($"Certificate {c.Name} is not Ready");
                }

                continue;
            }

            if (certificate.Status?.GetCondition(ConditionTypes.Ready)?.Status != ConditionStatuses.True || string.IsNullOrEmpty(certificate.Status.SerialNumber))
            {
                throw new InvalidOperationException($"Certificate {c.Name} is not Ready with a serial: {certificate.Status?.GetCondition(ConditionTypes.Ready)?.Message}");
            }

            await VerifyIssuedAsync(grains, c.Name, certificate.Status);
        }

        if (!withKeystores)
        {
            return;
        }

        var keystores = (await ListAsync<KeystoreList>(client, NotaryResources.KeystorePlural, cancellationToken))
            .Items.ToDictionary(k => k.Metadata.Name, StringComparer.Ordinal);
        var secrets = (await client.CoreV1.ListNamespacedSecretAsync(Namespace, cancellationToken: cancellationToken)).Items.ToDictionary(s => s.Metadata.Name, StringComparer.Ordinal);
        foreach (var c in created)
        {
            var keystore = keystores.GetValueOrDefault(c.Keystore) ?? throw new InvalidOperationException($"Keystore {c.Keystore} is missing");
            var location = keystore.Status?.Location;
            if (keystore.Status?.GetCondition(ConditionTypes.Ready)?.Status != ConditionStatuses.True || location != $"k8s://{Namespace}/secrets/{c.Keystore}")
            {
                throw new InvalidOperationException($"Keystore {c.Keystore} is not Ready at its Secret: location {location}, {keystore.Status?.GetCondition(ConditionTypes.Ready)?.Message}");
            }

            var secret = secrets.GetValueOrDefault(c.Keystore) ?? throw new InvalidOperationException($"Keystore {c.Keystore} points at {location}, which does not exist");
            var serial = certificates[c.Name].Status!.SerialNumber!;
            using var leaf = X509CertificateLoader.LoadCertificate(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(secret.Data["tls.crt"]).Split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----"));
            if (!SameSerial(leaf.SerialNumber, serial) || leaf.GetNameInfo(X509NameType.DnsName, false) != Fqdn(c.Name))
            {
                throw new InvalidOperationException($"Secret {c.Keystore}'s tls.crt is serial {leaf.SerialNumber} for {leaf.Subject}; the Certificate says {serial} for {Fqdn(c.Name)}");
            }

            var store = X509CertificateLoader.LoadPkcs12Collection(secret.Data[KeystoreFile], KeystorePassword);
            try
            {
                if (!store.Any(x => x.HasPrivateKey && x.SerialNumber == leaf.SerialNumber))
                {
                    throw new InvalidOperationException($"Secret {c.Keystore}'s {KeystoreFile} does not hold the key of serial {leaf.SerialNumber}");
                }
            }
            finally
            {
                foreach (var x in store)
                {
                    x.Dispose();
                }
            }
        }
    }

    /// <summary>The Certificate's status names what its grain issued: same serial, revision and expiry (to the second, as JSON carries it), a certificate for its fqdn.</summary>
    private static async Task VerifyIssuedAsync(IGrainFactory grains, string name, CertificateStatus status)
    {
        var snapshot = await grains.GetGrain<Notary.Grains.Abstractions.ICertificateGrain>(Key(name)).GetSnapshotAsync();
        var material = snapshot.Material ?? throw new InvalidOperationException($"Certificate {name} is Ready but its grain holds no certificate");
        if (!SameSerial(material.SerialNumber, status.SerialNumber!) || snapshot.Revision != status.Revision
            || status.NotAfter is not { } notAfter || Math.Abs((notAfter - material.NotAfter).TotalSeconds) >= 1)
        {
            throw new InvalidOperationException($"Certificate {name}'s status says serial {status.SerialNumber}, revision {status.Revision}, notAfter {status.NotAfter:O}; " +
                $"its grain issued serial {material.SerialNumber}, revision {snapshot.Revision}, notAfter {material.NotAfter:O}");
        }

        using var issued = X509Certificate2.CreateFromPem(material.CertificatePem);
        if (!SameSerial(issued.SerialNumber, status.SerialNumber!) || issued.GetNameInfo(X509NameType.DnsName, false) != Fqdn(name))
        {
            throw new InvalidOperationException($"Certificate {name}'s grain holds serial {issued.SerialNumber} for {issued.Subject}; the status says {status.SerialNumber} for {Fqdn(name)}");
        }
    }

    private static bool SameSerial(string a, string b) =>
        string.Equals(a.Replace(":", "", StringComparison.Ordinal).TrimStart('0'), b.Replace(":", "", StringComparison.Ordinal).TrimStart('0'), StringComparison.OrdinalIgnoreCase);

    /// <summary>Where each certificate's time went, p50 and p99 of each leg along the path.</summary>
    private static void Breakdown(TextWriter output, IReadOnlyList<Created> created, PathProbe probe, ReadyWatch certificates)
    {
        var legs = new List<(string Leg, List<double> Ms)>
        {
            ("create answered", created.Select(c => Ms(c.CertificateSent, c.CertificateAnswered)).ToList()),
            ("sent -> grain called (watch, queue, finalizer)", created.Select(c => Ms(c.CertificateSent, probe.ForwardStart[Key(c.Name)])).ToList()),
            ("grain called -> Ready status write sent (issue, save, event)", created.Select(c => Ms(probe.ForwardStart[Key(c.Name)], probe.ReadyWriteStart[Key(c.Name)])).ToList()),
            ("status write round trip", created.Select(c => Ms(probe.ReadyWriteStart[Key(c.Name)], probe.ReadyWriteEnd[Key(c.Name)])).ToList()),
            ("status written -> client watch saw Ready", created.Select(c => Ms(probe.ReadyWriteEnd[Key(c.Name)], certificates.ReadyAsync(c.Name).Result)).ToList()),
            ("grain call total (watcher's worker busy)", created.Select(c => Ms(probe.ForwardStart[Key(c.Name)], probe.ForwardEnd[Key(c.Name)])).ToList()),
        };
        foreach (var (leg, ms) in legs)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {leg,-62} p50 {Percentile(ms, 0.5),7:F1} ms  p99 {Percentile(ms, 0.99),7:F1} ms  max {ms.Max(),7:F1} ms"));
        }
    }

    private static string Key(string name) => $"{Namespace}/{name}";

    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    /// <summary>Nearest-rank percentile.</summary>
    private static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    private static string Fqdn(string name) => $"{name}.{Namespace}.svc.cluster.local";

    private static string KeystoreName(string name) => $"{name}-ks";

    // Not a secret of anyone's: the benchmark's own throwaway namespace, deleted with the process.
    private const string KeystorePassword = "bench-ks-pass";

    private static V1Secret MetadataSecret() => new()
    {
        Metadata = new V1ObjectMeta { Name = StoreDefaults.MetadataSecret, NamespaceProperty = Namespace },
        Type = "Opaque",
        StringData = new Dictionary<string, string>
        {
            ["metadata.json"] = $$"""
                {"tlsStoreRootPath": "/etc/tls", "tlsKeyStoreName": "{{KeystoreFile}}", "tlsTrustStoreName": "bench-truststore.p12",
                 "tlsKeyStorePassword": "{{KeystorePassword}}", "tlsTrustStorePassword": "bench-ts-pass"}
                """,
        },
    };

    private static Certificate CertificateOf(string name, string algorithm) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace },
        Spec = new CertificateSpec
        {
            Type = CertificateTypes.Private,
            Fqdn = Fqdn(name),
            PrivateKey = new PrivateKeySpec { Algorithm = algorithm },
        },
    };

    private static Keystore KeystoreOf(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = KeystoreName(name), NamespaceProperty = Namespace },
        Spec = new KeystoreSpec { Fqdn = Fqdn(name), CertName = name },
    };
}
