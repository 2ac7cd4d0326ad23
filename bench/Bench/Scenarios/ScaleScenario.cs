using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Notary.Bench.Scale;
using Notary.Grains.Abstractions;
using Notary.Silo.Metrics;
using Notary.Watcher;

namespace Notary.Bench.Scenarios;

/// <summary>
/// N certificates managed on one silo (issued, lifecycle reminders registered, then idle): managed
/// memory per certificate, RSS, and the time to resync all after a silo restart. The silo is
/// configured by the product's <c>NotaryClusterOptions</c> (Redis membership, reminders and grain
/// state, on a redis-server of its own), the watcher's <see cref="WatchSession"/> lists N
/// in-memory Certificates and forwards them through <see cref="GrainForwarder"/>, first to issue
/// them, then, on a restarted silo, to resync them. Goal: at most 8 KiB per certificate and a
/// resync of at most 60 s at N = 100,000. See bench/RESULTS.md.
/// </summary>
public sealed class ScaleScenario : IScenario
{
    public string Name => "scale";

    public string Description => "N certificates on one silo (Redis): managed bytes per certificate, RSS, resync after a restart; goal <= 8 KiB and <= 60 s at 100k";

    public int DefaultCount => 100_000;

    public async Task<BenchResult> RunAsync(BenchArgs args, TextWriter output, CancellationToken cancellationToken)
    {
        var count = args.CountOr(DefaultCount);
        // Issuing is the watcher's first term with more workers than the default, so that N
        // ECDSA keys are made on every core; the resync runs with the production default.
        var issueWorkers = args.IntOption("issue-workers", 32);
        var resyncWorkers = args.IntOption("resync-workers", new NotaryWatcherOptions().Workers);
        var timeout = TimeSpan.FromSeconds(args.IntOption("timeout-seconds", 1800));
        var total = Stopwatch.StartNew();

        await using var redis = await RedisProcess.StartAsync(cancellationToken);
        using var world = new ScaleWorld(count);
        var ledger = world.Ledger;
        output.WriteLine($"redis-server at {redis.ConnectionString}; load {Load()}");

        // ---- First silo: issue N certificates, let them go idle, measure memory.
        var silo = await ScaleSilo.StartAsync(redis.ConnectionString, world, cancellationToken);
        var baseline = ManagedBytes();
        var baselineRss = RssBytes();
        output.WriteLine($"silo up; baseline managed {Mb(baseline)} MB, RSS {Mb(baselineRss)} MB");

        ledger.NewPhase();
        var issueClock = Stopwatch.StartNew();
        var session = silo.NewWatchSession(count, ledger, issueWorkers, out var sessionResources);
        using var firstTerm = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var firstRun = session.RunAsync(firstTerm.Token);
        await WaitForAllAsync("issue", ledger, world, firstRun, timeout, output, cancellationToken);
        var issueSeconds = issueClock.Elapsed.TotalSeconds;
        if (world.Events.Count("Issued") != count)
        {
            throw new InvalidOperationException($"{count} certificates should have been issued once each; {world.Events.Count("Issued")} Issued events.");
        }

        output.WriteLine($"issued {count} in {issueSeconds:F1} s ({count / issueSeconds:F0}/s, {issueWorkers} watcher workers); load {Load()}");

        var management = silo.Grains.GetGrain<IManagementGrain>(0);
        var activations = await CertificateActivationsAsync(management);
        var resident = ManagedBytes();
        var residentRss = RssBytes();
        output.WriteLine($"idle, {activations} certificate and tag activations resident: managed {Mb(resident)} MB (+{PerCertificate(resident - baseline, count)} B/certificate), RSS {Mb(residentRss)} MB");

        // What CollectionAge does to idle activations in production, without waiting for it.
        var collectClock = Stopwatch.StartNew();
        await management.ForceActivationCollection(TimeSpan.Zero, cancellationToken);
        int left;
        while ((left = await CertificateActivationsAsync(management)) > 0)
        {
            if (collectClock.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"{left} certificate activations were still resident 2 minutes after an idle collection.");
            }

            await Task.Delay(200, cancellationToken);
        }

        var collected = ManagedBytes();
        var collectedRss = RssBytes();
        output.WriteLine($"after idle collection ({collectClock.Elapsed.TotalSeconds:F1} s): managed {Mb(collected)} MB (+{PerCertificate(collected - baseline, count)} B/certificate), RSS {Mb(collectedRss)} MB");

        // The watcher's share: end its term and measure what goes with it.
        await firstTerm.CancelAsync();
        await firstRun;
        sessionResources.Dispose();
        session = null;
        var withoutWatcher = ManagedBytes();
        var watcherBytes = collected - withoutWatcher;
        output.WriteLine($"without the watcher's session: managed {Mb(withoutWatcher)} MB; the watcher held {PerCertificate(watcherBytes, count)} B/certificate; " +
            $"the rest (reminder service, metrics, Orleans) {PerCertificate(withoutWatcher - baseline, count)} B/certificate");
        var redisBytes = await redis.UsedMemoryAsync();
        output.WriteLine($"redis: {await redis.KeysAsync()} keys, used_memory {Mb(redisBytes)} MB ({PerCertificate(redisBytes, count)} B/certificate)");

        // ---- Restart: a new silo on the same Redis, a new watcher term relisting everything.
        await silo.DisposeAsync();
        var startClock = Stopwatch.StartNew();
        silo = await ScaleSilo.StartAsync(redis.ConnectionString, world, cancellationToken);
        var siloStartSeconds = startClock.Elapsed.TotalSeconds;

        var restartBaseline = ManagedBytes();
        ledger.NewPhase();
        var resyncClock = Stopwatch.StartNew();
        session = silo.NewWatchSession(count, ledger, resyncWorkers, out sessionResources);
        using var secondTerm = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var secondRun = session.RunAsync(secondTerm.Token);
        await WaitForAllAsync("resync", ledger, world, secondRun, timeout, output, cancellationToken);
        var resyncSeconds = resyncClock.Elapsed.TotalSeconds;
        if (world.Events.Count("Issued") != count)
        {
            throw new InvalidOperationException($"The resync re-issued: {world.Events.Count("Issued") - count} more Issued event(s).");
        }

        output.WriteLine($"silo restarted in {siloStartSeconds:F1} s; resync of {count} in {resyncSeconds:F1} s ({count / resyncSeconds:F0}/s, {resyncWorkers} watcher workers), none re-issued; load {Load()}");

        // The peak after a resync (a restart's, or the watcher's periodic one every ResyncPeriod):
        // every certificate grain was just called, so its activation is resident until
        // CollectionAge passes; the tag grains, which a resync does not call, stay collected.
        var steadyActivations = await CertificateActivationsAsync(silo.Grains.GetGrain<IManagementGrain>(0));
        var steady = ManagedBytes();
        var steadyRss = RssBytes();
        output.WriteLine($"after the resync, {steadyActivations} certificate activations resident (CollectionAge {silo.CollectionAge}): managed +{PerCertificate(steady - restartBaseline, count)} B/certificate over the restarted silo's baseline, RSS {Mb(steadyRss)} MB");
        await VerifyAsync(silo, world, count, output);
        await secondTerm.CancelAsync();
        await secondRun;
        sessionResources.Dispose();
        await silo.DisposeAsync();

        var metricsBytes = MetricsBytes(count);
        output.WriteLine($"of the rest, the product's Prometheus metrics (measured alone, same calls): {PerCertificate(metricsBytes, count)} B/certificate");

        var perCertificate = PerCertificate(collected - baseline, count);
        output.WriteLine($"goal: <= 8192 B/certificate ({(perCertificate <= 8192 ? "met" : "missed")}), resync <= 60 s ({(resyncSeconds <= 60 ? "met" : "missed")}); total {total.Elapsed.TotalSeconds:F0} s");
        return new BenchResult(Name)
            .Add("count", count)
            .Add("bytes_per_certificate", perCertificate)
            .Add("rss_mb", collectedRss / 1048576.0, 1)
            .Add("resync_seconds", resyncSeconds)
            .Add("resident_bytes_per_certificate", PerCertificate(resident - baseline, count))
            .Add("resident_rss_mb", residentRss / 1048576.0, 1)
            .Add("after_resync_bytes_per_certificate", PerCertificate(steady - restartBaseline, count))
            .Add("after_resync_rss_mb", steadyRss / 1048576.0, 1)
            .Add("watcher_bytes_per_certificate", PerCertificate(watcherBytes, count))
            .Add("metrics_bytes_per_certificate", PerCertificate(metricsBytes, count))
            .Add("redis_bytes_per_certificate", PerCertificate(redisBytes, count))
            .Add("issue_seconds", issueSeconds)
            .Add("silo_start_seconds", siloStartSeconds)
            .Add("load", Load().Split(' ')[0]);
    }

    /// <summary>Waits until every certificate's apply returned and its status is Ready with its first serial; fails on the first wrong outcome.</summary>
    private static async Task WaitForAllAsync(string phase, CertificateLedger ledger, ScaleWorld world, Task session, TimeSpan timeout, TextWriter output, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        while (ledger.Applied < ledger.Count || ledger.Confirmed < ledger.Count)
        {
            if (ledger.Mismatched > 0 || ledger.NotReady > 0 || world.Alerts.Sent > 0)
            {
                throw new InvalidOperationException($"{phase}: {ledger.Mismatched} certificate(s) Ready with another serial, {ledger.NotReady} status write(s) not Ready, {world.Alerts.Sent} alert(s); events {string.Join(", ", world.Events.ByReason.Select(e => $"{e.Key}={e.Value}"))}.");
            }

            if (session.IsCompleted)
            {
                await session;
                throw new InvalidOperationException($"{phase}: the watcher's session ended early.");
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{phase}: after {timeout.TotalSeconds:F0} s only {ledger.Applied} of {ledger.Count} applies returned and {ledger.Confirmed} are Ready with their serial.");
            }

            if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(10))
            {
                lastReport = clock.Elapsed;
                output.WriteLine($"  {phase}: {ledger.Confirmed}/{ledger.Count} Ready, {ledger.Applied} applied after {clock.Elapsed.TotalSeconds:F0} s; load {Load()}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>
    /// After the resync: every certificate's lifecycle reminder is in the reminder table, and a
    /// sample of certificates decode, chain to the CA and carry the serial first issued.
    /// </summary>
    private static async Task VerifyAsync(ScaleSilo silo, ScaleWorld world, int count, TextWriter output)
    {
        var table = silo.Services.GetRequiredService<IReminderTable>();
        // begin == end reads the whole ring.
        var reminders = (await table.ReadRows(0, 0)).Reminders;
        var lifecycle = reminders.Count(r => r.ReminderName == "lifecycle");
        if (lifecycle != count)
        {
            throw new InvalidOperationException($"{count} lifecycle reminders expected in the reminder table, {lifecycle} found ({reminders.Count} in all).");
        }

        using var root = X509Certificate2.CreateFromPem(world.Authority.Authority.CertificatePem);
        foreach (var index in new[] { 0, count / 2, count - 1 }.Distinct())
        {
            var snapshot = await silo.Grains.GetGrain<ICertificateGrain>(CertificateLedger.Key(index).ToString()).GetSnapshotAsync();
            var material = snapshot.Material ?? throw new InvalidOperationException($"Certificate {index} has no material after the resync.");
            using var certificate = X509Certificate2.CreateFromPem(material.CertificatePem);
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(root);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (!chain.Build(certificate)
                || certificate.GetNameInfo(X509NameType.DnsName, false) != CertificateLedger.Fqdn(index)
                || !string.Equals(certificate.SerialNumber, material.SerialNumber, StringComparison.OrdinalIgnoreCase)
                || !world.Ledger.IsFirstSerial(index, material.SerialNumber))
            {
                throw new InvalidOperationException($"Certificate {index} does not chain to the CA, names another fqdn, or is not the one first issued.");
            }
        }

        output.WriteLine($"verified: {lifecycle} lifecycle reminders in Redis; sample certificates chain to the CA with their first serial");
    }

    /// <summary>
    /// What the silo's <see cref="PrometheusNotaryMetrics"/> keeps for N Ready certificates (the
    /// calls a certificate grain makes when issued: one issuance counted, one observation), on a
    /// registry of its own, so its share of the silo's memory is known.
    /// </summary>
    private static long MetricsBytes(int count)
    {
        var before = ManagedBytes();
        var metrics = new PrometheusNotaryMetrics(Prometheus.Metrics.NewCustomRegistry(), NullLogger<PrometheusNotaryMetrics>.Instance);
        var notAfter = DateTimeOffset.UtcNow.AddDays(90);
        for (var i = 0; i < count; i++)
        {
            var resource = CertificateLedger.Key(i);
            metrics.Count(resource, PrometheusNotaryMetrics.Issued);
            metrics.CertificateObserved(resource, notAfter, notAfter.AddDays(-30), ready: true);
        }

        var after = ManagedBytes();
        GC.KeepAlive(metrics);
        return after - before;
    }

    private static async Task<int> CertificateActivationsAsync(IManagementGrain management)
    {
        var statistics = await management.GetSimpleGrainStatistics();
        return statistics.Where(s => s.GrainType.Contains("Certificate", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
    }

    /// <summary>The managed heap after full, blocking, compacting collections (the large object heap too).</summary>
    private static long ManagedBytes()
    {
        for (var i = 0; i < 2; i++)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: false);
    }

    private static long RssBytes()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    private static long PerCertificate(long bytes, int count) => (long)Math.Round((double)bytes / count);

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
