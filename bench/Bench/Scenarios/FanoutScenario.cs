using System.Diagnostics;
using Notary.Bench.Grains;
using Notary.Grains.Abstractions;
using Notary.Pki;

namespace Notary.Bench.Scenarios;

/// <summary>
/// Breach fan-out: one certificate ("pay") trusted by N truststores (each of its own client
/// service) is rotated through the BreachGrain, as `notary breach rotate` does; measured from the
/// rotation call until every truststore has published a Ready status built from the new
/// revision; against the ceiling of rebuilding the N truststores directly on every core.
/// </summary>
public sealed class FanoutScenario : IScenario
{
    private const string Trusted = "pay";

    public string Name => "fanout";

    public string Description => "one certificate trusted by N truststores rotated through the breach path, until all are rebuilt, against rebuilding them directly on all cores; goal ratio >= 0.5";

    public int DefaultCount => 1000;

    public async Task<BenchResult> RunAsync(BenchArgs args, TextWriter output, CancellationToken cancellationToken)
    {
        var count = args.CountOr(DefaultCount);
        var parallel = args.IntOption("parallel", 16 * Environment.ProcessorCount);
        var warmup = args.IntOption("warmup", Math.Min(count, 50));
        var timeout = TimeSpan.FromSeconds(args.IntOption("timeout-seconds", 600));

        await using var silo = await BenchSilo.StartAsync(cancellationToken);

        output.WriteLine($"warming up both sides with {warmup} truststores");
        var warm = await SetUpAsync(silo, "fan-warm", warmup, parallel, cancellationToken);
        await RotateAsync(silo, warm, timeout, output, cancellationToken);
        Directly(warm, cancellationToken);

        output.WriteLine($"load average {Services.LoadAverage()}: setting up {count} client services trusting {Trusted}");
        var fan = await SetUpAsync(silo, "fan", count, parallel, cancellationToken);

        // The ceiling is measured before and after the rotation, the mean kept, so that a burst
        // of load from the machine's other users weighs on both sides alike.
        output.WriteLine($"load average {Services.LoadAverage()}: ceiling, before");
        var ceilingBefore = Directly(fan, cancellationToken);

        output.WriteLine($"load average {Services.LoadAverage()}: rotating {fan.Namespace}/{Trusted} through the breach path");
        var (fanout, rotated) = await RotateAsync(silo, fan, timeout, output, cancellationToken);

        output.WriteLine($"load average {Services.LoadAverage()}: ceiling, after");
        var ceilingAfter = Directly(fan with { Trusted = rotated }, cancellationToken);
        var ceiling = (ceilingBefore.Wall + ceilingAfter.Wall) / 2;

        output.WriteLine($"breach path: {fanout.Describe(count, "truststore")}");
        output.WriteLine($"ceiling before: {ceilingBefore.Describe(count, "truststore")}");
        output.WriteLine($"ceiling after: {ceilingAfter.Describe(count, "truststore")}; load average {Services.LoadAverage()}");
        var result = new BenchResult(Name)
            .Add("count", count)
            .Add("seconds", fanout.Wall.TotalSeconds, 3)
            .Add("ceiling_seconds", ceiling.TotalSeconds, 3)
            .Add("ratio", ceiling / fanout.Wall, 3);
        if (args.Option("renew", "true") != "true")
        {
            return result;
        }

        // The cost of make-before-break: the same fan renewed (a spec-change re-issue, as a
        // renewal is ordered), where every truststore is written twice: the new certificate
        // beside the old one, then, after the keystore switched, without the old one (the bench
        // silo runs with PropagationDelay and Overlap zero, so only the writes are measured).
        output.WriteLine($"load average {Services.LoadAverage()}: renewing {fan.Namespace}/{Trusted} make-before-break");
        var (held, renewed, writes) = await RenewAsync(silo, fan with { Trusted = rotated }, timeout, output, cancellationToken);
        output.WriteLine($"renewal: new certificate in every truststore after {held.TotalSeconds:0.000} s; old one out of every truststore after {renewed.Wall.TotalSeconds:0.000} s; {writes} truststore writes");
        return result
            .Add("renew_hold_seconds", held.TotalSeconds, 3)
            .Add("renew_seconds", renewed.Wall.TotalSeconds, 3)
            .Add("renew_ceiling_seconds", 2 * ceiling.TotalSeconds, 3)
            .Add("renew_ratio", 2 * ceiling / renewed.Wall, 3)
            .Add("renew_writes", writes)
            .Add("renew_vs_rotate", renewed.Wall / fanout.Wall, 3);
    }

    /// <summary>
    /// Renews the trusted certificate make-before-break (a new generation with another duration)
    /// and waits, timed, until every truststore holds the new certificate, then until every one
    /// holds it alone; checks the keystore switched and counts the truststores' writes.
    /// </summary>
    private static async Task<(TimeSpan Held, Cost Cost, int Writes)> RenewAsync(BenchSilo silo, Fan fan, TimeSpan timeout, TextWriter output, CancellationToken cancellationToken)
    {
        var key = new ResourceKey(fan.Namespace, Trusted);
        var certificate = silo.Grains.GetGrain<ICertificateGrain>(key.ToString());
        var keystore = silo.Grains.GetGrain<IKeystoreGrain>($"{fan.Namespace}/{Trusted}-ks");
        Check((await keystore.ApplyAsync(Services.Keystore(fan.Namespace, Trusted), Services.Origin)).IsReady, $"Keystore {key}-ks is not Ready");
        var old = (await certificate.GetStatusAsync())!;
        var stores = fan.Clients.Select(c => new ResourceKey(fan.Namespace, c.Name + "-ts")).ToArray();
        var writesBefore = stores.Sum(s => silo.Ports.Store.History(ResourceKind.Truststore, s).Count);
        var previousAlias = $"{Trusted}.{fan.Namespace}-";
        var watches = silo.Ports.Status.ExpectAll(
        [
            (key.ToString(), old.Revision + 1, stores.Length, null),
            (key.ToString(), old.Revision + 1, stores.Length, s => !s.Entries.Any(e => e.StartsWith(previousAlias, StringComparison.Ordinal))),
        ]);

        var cost = Cost.Start();
        var clock = Stopwatch.StartNew();
        var spec = Services.Certificate(fan.Namespace, Trusted) with { Duration = "2000h" };
        var applied = await certificate.ApplyAsync(spec, Services.Origin with { Generation = Services.Origin.Generation + 1 });
        Check(applied.IsReady, $"Certificate {key} is not Ready after the renewal's apply");
        await watches[0].WaitAsync(timeout, cancellationToken);
        var held = clock.Elapsed;
        await watches[1].WaitAsync(timeout, cancellationToken);
        cost.Stop();

        var status = (await certificate.GetStatusAsync())!;
        Check(status.Revision == old.Revision + 1 && status.SerialNumber != old.SerialNumber, $"Certificate {key} was not renewed once (revision {status.Revision})");
        using (var deadline = new CancellationTokenSource(timeout))
        {
            // The keystore switched before the old certificate left (its rebuild is not timed).
            while (silo.Ports.Store.Get(ResourceKind.Keystore, new ResourceKey(fan.Namespace, Trusted + "-ks")) is not { } stored || !Services.HoldsSerial(stored, status.SerialNumber!))
            {
                await Task.Delay(20, deadline.Token);
            }
        }

        Parallel.ForEach(stores, new ParallelOptions { CancellationToken = cancellationToken }, store =>
            Services.CheckTruststore(silo.Ports.Store.Get(ResourceKind.Truststore, store), [status.SerialNumber!], [old.SerialNumber!], $"Truststore {store}"));
        var writes = stores.Sum(s => silo.Ports.Store.History(ResourceKind.Truststore, s).Count) - writesBefore;
        output.WriteLine($"renewed {key}: serial {old.SerialNumber} -> {status.SerialNumber}");
        return (held, cost, writes);
    }

    /// <summary>The services of one namespace: the trusted certificate and every client's own certificate.</summary>
    private sealed record Fan(string Namespace, TrustSource Trusted, string TrustedSerial, TrustSource[] Clients);

    /// <summary>Issues the trusted certificate, then N clients each with a certificate and a truststore trusting it; all Ready.</summary>
    private static async Task<Fan> SetUpAsync(BenchSilo silo, string ns, int count, int parallel, CancellationToken cancellationToken)
    {
        silo.Ports.Metadata.Set(ns, "notary-metadata", Services.MetadataJson);
        var grains = silo.Grains;
        var trusted = await grains.GetGrain<ICertificateGrain>($"{ns}/{Trusted}").ApplyAsync(Services.Certificate(ns, Trusted), Services.Origin);
        Check(trusted.IsReady, $"Certificate {ns}/{Trusted} is not Ready");
        var reference = new TrustReference { Tag = Trusted, Fqdn = Services.Fqdn(ns, Trusted), Namespace = ns };
        var clients = new TrustSource[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (i, _) =>
        {
            var name = $"c{i}";
            var certificate = await grains.GetGrain<ICertificateGrain>($"{ns}/{name}").ApplyAsync(Services.Certificate(ns, name), Services.Origin);
            Check(certificate.IsReady, $"Certificate {ns}/{name} is not Ready");
            var truststore = await grains.GetGrain<ITruststoreGrain>($"{ns}/{name}-ts").ApplyAsync(Services.Truststore(ns, name, [reference]), Services.Origin);
            Check(truststore.IsReady, $"Truststore {ns}/{name}-ts is not Ready: {truststore.Condition(Conditions.Ready)?.Message}");
            clients[i] = await SourceAsync(silo, ns, name);
        });
        return new Fan(ns, await SourceAsync(silo, ns, Trusted), trusted.SerialNumber!, clients);
    }

    private static async Task<TrustSource> SourceAsync(BenchSilo silo, string ns, string name)
    {
        var material = (await silo.Grains.GetGrain<ICertificateGrain>($"{ns}/{name}").GetSnapshotAsync()).Material
            ?? throw new InvalidOperationException($"Certificate {ns}/{name} has no material");
        return Services.Source(ns, name, material.CertificatePem, material.ChainPem);
    }

    /// <summary>
    /// Rotates the trusted certificate with a breach and waits until every truststore is Ready
    /// at the new revision (timed), then until the breach reports Completed, and checks every
    /// truststore's content: the new certificate in, the old one out.
    /// </summary>
    private static async Task<(Cost Cost, TrustSource Rotated)> RotateAsync(BenchSilo silo, Fan fan, TimeSpan timeout, TextWriter output, CancellationToken cancellationToken)
    {
        var key = new ResourceKey(fan.Namespace, Trusted);
        var certificate = silo.Grains.GetGrain<ICertificateGrain>(key.ToString());
        var before = (await certificate.GetSnapshotAsync()).Revision;
        var request = new BreachRequest(key, BreachMode.Rotate, "bench: key leaked", DryRun: false, "notary-bench");
        var breach = silo.Grains.GetGrain<IBreachGrain>($"{key}-rotate");
        var rebuilt = silo.Ports.Status.Expect(key.ToString(), before + 1, fan.Clients.Length);

        var cost = Cost.Start();
        var started = await breach.StartAsync(request);
        Check(started.Phase == BreachPhase.InProgress, $"breach {started.Id} did not start: {started.Phase} {started.Message}");
        await rebuilt.WaitAsync(timeout, cancellationToken);
        cost.Stop();
        var clock = Stopwatch.StartNew();
        output.WriteLine($"every truststore of {fan.Namespace} rebuilt after {cost.Wall.TotalSeconds:0.00} s; waiting for the breach to finish");

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        BreachReport? report;
        while ((report = await breach.GetAsync()) is not { IsFinished: true })
        {
            // The breach's last steps (restarts, its report) end after the stores: a short poll.
            await Task.Delay(20, deadline.Token);
        }

        output.WriteLine($"breach {report.Id} finished {clock.Elapsed.TotalSeconds:0.00} s later");
        Check(report.Phase == BreachPhase.Completed, $"breach {report.Id} ended {report.Phase}: {report.Message}");
        var status = (await certificate.GetStatusAsync())!;
        Check(status.Revision == before + 1 && status.SerialNumber != fan.TrustedSerial, $"Certificate {key} was not rotated once (revision {status.Revision})");
        Parallel.ForEach(fan.Clients, new ParallelOptions { CancellationToken = cancellationToken }, client =>
        {
            var store = new ResourceKey(fan.Namespace, client.Name + "-ts");
            Services.CheckTruststore(silo.Ports.Store.Get(ResourceKind.Truststore, store), [status.SerialNumber!], [fan.TrustedSerial], $"Truststore {store}");
        });
        return (cost, await SourceAsync(silo, fan.Namespace, Trusted));
    }

    /// <summary>The ceiling: the N truststores the grains build (own certificate and the trusted one), encoded on every core.</summary>
    private static Cost Directly(Fan fan, CancellationToken cancellationToken)
    {
        var metadata = Services.Metadata(fan.Namespace);
        var results = new Notary.Grains.Abstractions.Ports.StoreWrite[fan.Clients.Length];
        var cost = Cost.Start();
        Parallel.For(0, fan.Clients.Length, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            var client = fan.Clients[i];
            results[i] = Services.EncodeTruststore(fan.Namespace, client.Name, metadata, client, [fan.Trusted]);
        });
        cost.Stop();
        if (results.Length > 0)
        {
            // The same code as the grains'; one sample shows it produced a real store.
            using var trusted = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(fan.Trusted.CertificatePem);
            Services.CheckTruststore(results[^1], [trusted.SerialNumber], [], "ceiling truststore");
        }

        return cost;
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }
}
