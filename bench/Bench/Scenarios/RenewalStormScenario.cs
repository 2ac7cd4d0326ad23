using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Notary.Bench.Grains;
using Notary.Bench.Storm;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;
using Notary.Pki;

namespace Notary.Bench.Scenarios;

/// <summary>
/// A renewal storm across a mesh (issue 20): N services, each a Certificate, a Keystore and a
/// pinned Truststore trusting K others (a seeded random graph), in the in-process silo; the
/// grains' clock is moved past every renewal time and every certificate's lifecycle reminder
/// fires at once, so every certificate renews make-before-break together (Rotation
/// PropagationDelay and Overlap zero). Timed until every keystore serves its new certificate and
/// every truststore holds exactly the new certificates; against the ceiling of the same
/// issuances, encodings and writes done directly (the fewest writes, on every core). Counts the
/// store writes against the fewest that give the same stores in make-before-break order, and
/// fails when a keystore was published before every dependent truststore held its new
/// certificate, or when a dependent truststore dropped the old certificate before the keystore
/// serving the new one was written.
/// </summary>
public sealed class RenewalStormScenario : IScenario
{
    private const int PerNamespace = 100;

    public string Name => "renewal-storm";

    public string Description => "every certificate of a mesh of N services (each trusting --degree K others) renews at once, make-before-break, against the same issuances and the fewest writes done directly; goal at N = 2,000, K = 10: ratio >= 0.5, writes_ratio <= 1.25";

    public int DefaultCount => 2000;

    public async Task<BenchResult> RunAsync(BenchArgs args, TextWriter output, CancellationToken cancellationToken)
    {
        var count = args.CountOr(DefaultCount);
        var degree = args.IntOption("degree", 10, minimum: 0);
        var seed = args.IntOption("seed", 1, minimum: 0);
        var parallel = args.IntOption("parallel", 16 * Environment.ProcessorCount);
        var timeout = TimeSpan.FromSeconds(args.IntOption("timeout-seconds", 900));
        if (degree >= count)
        {
            throw new ArgumentException($"--degree {degree} must be less than --count {count}: a service trusts K others");
        }

        var clock = new ShiftedTime();
        WriteLog? log = null;
        StormStatus? status = null;
        await using var silo = await BenchSilo.StartAsync(cancellationToken, clock, (ports, services) =>
        {
            log = new WriteLog(ports.Store);
            status = new StormStatus(ports.Status);
            services.AddSingleton<ISecretStore>(log);
            services.AddSingleton<IStatusWriter>(status);
        });
        var mesh = Mesh.Random(count, degree, seed);
        output.WriteLine($"load average {Services.LoadAverage()}: setting up {count} services, each trusting {degree} others (seed {seed}, {mesh.Edges} references)");
        var setup = Cost.Start();
        var renewalTimes = await SetUpAsync(silo, mesh, parallel, cancellationToken);
        var old = await MaterialAsync(silo, mesh, revision: 1);
        output.WriteLine($"set up in {setup.Stop().Wall.TotalSeconds:0.0} s");

        // Warm the ceiling's code paths (the grains' were warmed by the setup).
        DirectlyOnce(silo.Ports.Authority.Authority, mesh, old, Math.Min(count, 50), cancellationToken);
        output.WriteLine($"load average {Services.LoadAverage()}: ceiling, before");
        var ceilingBefore = Directly(silo.Ports.Authority.Authority, mesh, old, cancellationToken);

        // Every certificate due at once: the clock past the latest renewal time, then every
        // lifecycle reminder delivered (what Orleans does when it fires; its reminder timers run
        // on the system clock, so they are delivered here, all together).
        clock.Offset = renewalTimes.Max() - clock.GetUtcNow() + TimeSpan.FromMinutes(1);
        var before = log!.Sequence;
        status!.Arm(2 * count, (kind, resource, s) => IsFinal(mesh, kind, resource, s));
        output.WriteLine($"load average {Services.LoadAverage()}: clock moved {clock.Offset.TotalDays:0.0} days; every certificate renews");
        var storm = Cost.Start();
        var clockStarted = Stopwatch.StartNew();
        var now = clock.GetUtcNow().UtcDateTime;
        var fired = Task.WhenAll(mesh.Services.Select(s =>
            silo.Grains.GetGrain<ICertificateGrain>(s.Key.ToString()).AsReference<IRemindable>().ReceiveReminder("lifecycle", new TickStatus(now, TimeSpan.FromDays(7), now))));
        await fired.WaitAsync(timeout, cancellationToken);
        var renewedAfter = clockStarted.Elapsed;
        await status.Done.Task.WaitAsync(timeout, cancellationToken);
        storm.Stop();
        output.WriteLine($"storm: every certificate renewed after {renewedAfter.TotalSeconds:0.00} s; every store final after {storm.Wall.TotalSeconds:0.00} s; {storm.Describe(count, "service")}");

        output.WriteLine($"load average {Services.LoadAverage()}: ceiling, after");
        var ceilingAfter = Directly(silo.Ports.Authority.Authority, mesh, old, cancellationToken);
        var ceiling = (ceilingBefore.Wall + ceilingAfter.Wall) / 2;
        output.WriteLine($"ceiling before: {ceilingBefore.Describe(count, "service")}");
        output.WriteLine($"ceiling after: {ceilingAfter.Describe(count, "service")}; load average {Services.LoadAverage()}");

        // Not timed: what was written, in which order, and what the stores hold at the end.
        var renewed = await MaterialAsync(silo, mesh, revision: 2);
        var writes = log.Since(before);
        var verdict = StormOrder.Check(mesh, old, renewed, writes);
        output.WriteLine($"writes: {verdict.KeystoreWrites} keystore, {verdict.TruststoreWrites} truststore; every roll kept its order ({verdict.OrderChecks} truststore/keystore pairs checked: the new certificate in every dependent truststore before its keystore's switch, the old one in each until that switch was written)");
        CheckFinalStores(silo, mesh, old, renewed, cancellationToken);
        output.WriteLine("final stores decoded: every keystore holds its new key, every truststore exactly the new certificates of its service and the services it trusts");

        // The fewest writes: each truststore twice (the new certificates beside the old ones
        // before any of its certificates' keystores switch, then without the old ones after the
        // last of them switched: no one write can be both), each keystore once.
        var minWrites = 3L * count;
        var written = (long)writes.Count;
        return new BenchResult(Name)
            .Add("count", count)
            .Add("degree", degree)
            .Add("seconds", storm.Wall.TotalSeconds, 3)
            .Add("ceiling_seconds", ceiling.TotalSeconds, 3)
            .Add("ratio", ceiling / storm.Wall, 3)
            .Add("writes", written)
            .Add("min_writes", minWrites)
            .Add("writes_ratio", (double)written / minWrites, 3);
    }

    /// <summary>A keystore serves revision 2; a truststore holds revision 2 of each of its certificates and nothing else.</summary>
    private static bool IsFinal(Mesh mesh, ResourceKind kind, ResourceKey resource, StoreStatus status)
    {
        if (!status.IsReady)
        {
            return false;
        }

        if (kind == ResourceKind.Keystore)
        {
            return status.CertificateRevisions.Values.All(r => r >= 2) && status.CertificateRevisions.Count == 1;
        }

        return mesh.ByTruststore.TryGetValue(resource, out var service)
            && status.CertificateRevisions.Count == service.Upstream.Count + 1
            && status.CertificateRevisions.Values.All(r => r >= 2)
            && status.Entries.Count == service.Upstream.Count + 1;
    }

    /// <summary>Every Certificate, then every Keystore and Truststore (as the watcher forwards them), all Ready; the certificates' renewal times.</summary>
    private static async Task<DateTimeOffset[]> SetUpAsync(BenchSilo silo, Mesh mesh, int parallel, CancellationToken cancellationToken)
    {
        foreach (var ns in mesh.Services.Select(s => s.Key.Namespace).Distinct())
        {
            silo.Ports.Metadata.Set(ns, "notary-metadata", Services.MetadataJson);
        }

        var grains = silo.Grains;
        var options = new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken };
        var renewal = new DateTimeOffset[mesh.Services.Count];
        await Parallel.ForAsync(0, mesh.Services.Count, options, async (i, _) =>
        {
            var key = mesh.Services[i].Key;
            var issued = await grains.GetGrain<ICertificateGrain>(key.ToString()).ApplyAsync(Services.Certificate(key.Namespace, key.Name), Services.Origin);
            Check(issued.IsReady && issued.RenewalTime is not null, $"Certificate {key} is not Ready");
            renewal[i] = issued.RenewalTime!.Value;
        });
        await Parallel.ForAsync(0, mesh.Services.Count, options, async (i, _) =>
        {
            var service = mesh.Services[i];
            var key = service.Key;
            var references = service.Upstream.Select(u => new TrustReference { Tag = u.Name, Fqdn = Services.Fqdn(u.Namespace, u.Name), Namespace = u.Namespace }).ToList();
            var keystore = grains.GetGrain<IKeystoreGrain>(service.Keystore.ToString()).ApplyAsync(Services.Keystore(key.Namespace, key.Name), Services.Origin);
            var truststore = await grains.GetGrain<ITruststoreGrain>(service.Truststore.ToString()).ApplyAsync(Services.Truststore(key.Namespace, key.Name, references), Services.Origin);
            Check((await keystore).IsReady, $"Keystore {service.Keystore} is not Ready");
            Check(truststore.IsReady, $"Truststore {service.Truststore} is not Ready: {truststore.Condition(Conditions.Ready)?.Message}");
        });
        return renewal;
    }

    /// <summary>Every certificate's current material, which must be at <paramref name="revision"/> and out of any roll.</summary>
    private static async Task<PublicMaterial[]> MaterialAsync(BenchSilo silo, Mesh mesh, long revision)
    {
        var snapshots = await Task.WhenAll(mesh.Services.Select(s => silo.Grains.GetGrain<ICertificateGrain>(s.Key.ToString()).GetSnapshotAsync()));
        foreach (var snapshot in snapshots)
        {
            Check(snapshot.Revision == revision && snapshot.Material is not null && !snapshot.Rolling,
                $"Certificate {snapshot.Resource} is at revision {snapshot.Revision} (rolling: {snapshot.Rolling}), expected {revision} and no roll");
        }

        return [.. snapshots.Select(s => s.Material!)];
    }

    /// <summary>Decodes every final keystore and truststore (PKCS12, with their passwords).</summary>
    private static void CheckFinalStores(BenchSilo silo, Mesh mesh, PublicMaterial[] old, PublicMaterial[] renewed, CancellationToken cancellationToken)
    {
        var store = silo.Ports.Store;
        Parallel.For(0, mesh.Services.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            var service = mesh.Services[i];
            Services.CheckKeystore(store.Get(ResourceKind.Keystore, service.Keystore), renewed[i].SerialNumber, $"Keystore {service.Keystore}");
            var sources = service.Sources.ToList();
            Services.CheckTruststore(store.Get(ResourceKind.Truststore, service.Truststore),
                sources.Select(s => renewed[s].SerialNumber), sources.Select(s => old[s].SerialNumber), $"Truststore {service.Truststore}");
        });
    }

    /// <summary>
    /// The ceiling: the same work, done directly on every core, with the fewest writes: N
    /// issuances, every truststore with the new certificates beside the old ones, every keystore,
    /// every truststore with the new ones alone, each written to an in-memory store (each phase
    /// after the previous one, which is the make-before-break order).
    /// </summary>
    private static Cost Directly(CertificateAuthority authority, Mesh mesh, PublicMaterial[] old, CancellationToken cancellationToken) =>
        DirectlyOnce(authority, mesh, old, mesh.Services.Count, cancellationToken);

    private static Cost DirectlyOnce(CertificateAuthority authority, Mesh mesh, PublicMaterial[] old, int services, CancellationToken cancellationToken)
    {
        var store = new InMemorySecretStore();
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        var metadata = Services.Metadata(mesh.Services[0].Key.Namespace);
        var issued = new IssuedMaterial[services];
        var cost = Cost.Start();
        Parallel.For(0, services, options, i => issued[i] = Services.Issue(authority, mesh.Services[i].Key.Namespace, mesh.Services[i].Key.Name));
        TrustSource Source(int i, bool withOld)
        {
            // The neighbours beyond the measured subset (warm-up only) keep their old certificate.
            var key = mesh.Services[i].Key;
            var current = i < services ? issued[i] : null;
            var pem = current?.CertificatePem ?? old[i].CertificatePem;
            var chain = current?.ChainPem ?? old[i].ChainPem;
            return new TrustSource(key.Namespace, key.Name, pem, chain,
                withOld && current is not null ? [string.Join('\n', [old[i].CertificatePem, .. old[i].ChainPem])] : null);
        }

        void Truststores(bool withOld) => Parallel.For(0, services, options, i =>
        {
            var service = mesh.Services[i];
            var write = Services.EncodeTruststore(service.Key.Namespace, service.Key.Name, metadata, Source(i, withOld), [.. service.Upstream.Select(u => Source(mesh.Index[u], withOld))]);
            store.PutAsync(write, cancellationToken).GetAwaiter().GetResult();
        });

        Truststores(withOld: true);
        Parallel.For(0, services, options, i =>
        {
            var key = mesh.Services[i].Key;
            store.PutAsync(Services.EncodeKeystore(key.Namespace, key.Name, metadata, issued[i]), cancellationToken).GetAwaiter().GetResult();
        });
        Truststores(withOld: false);
        cost.Stop();
        Check(store.Puts == 3 * services, $"the ceiling wrote {store.Puts} stores, not {3 * services}");
        var last = mesh.Services[services - 1];
        Services.CheckKeystore(store.Get(ResourceKind.Keystore, last.Keystore), issued[services - 1].SerialNumber, "ceiling keystore");
        Services.CheckTruststore(store.Get(ResourceKind.Truststore, last.Truststore), [issued[services - 1].SerialNumber], [old[services - 1].SerialNumber], "ceiling truststore");
        return cost;
    }

    internal static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }
}
