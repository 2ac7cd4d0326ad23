using Notary.Bench.Grains;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Bench.Scenarios;

/// <summary>
/// Issuance through the grains: N services, each a Certificate (built-in CA, ECDSA P-256) with a
/// Keystore and a Truststore, applied through the real grains in an in-process silo; against the
/// ceiling of the same key generation, signing and store encoding done directly on every core.
/// </summary>
public sealed class IssuanceScenario : IScenario
{
    public string Name => "issuance";

    public string Description => "N certificates with a keystore and a truststore each through the grains, against the same work done directly on all cores; goal ratio >= 0.8";

    public int DefaultCount => 2000;

    public async Task<BenchResult> RunAsync(BenchArgs args, TextWriter output, CancellationToken cancellationToken)
    {
        var count = args.CountOr(DefaultCount);
        // Services applied at once: enough to keep every core busy, few enough that no call
        // waits anywhere near Orleans' 30 s response timeout.
        var parallel = args.IntOption("parallel", 16 * Environment.ProcessorCount);
        var perNamespace = args.IntOption("per-namespace", 10);
        var warmup = args.IntOption("warmup", Math.Min(count, 100));

        await using var silo = await BenchSilo.StartAsync(cancellationToken);
        var authority = silo.Ports.Authority.Authority;

        output.WriteLine($"warming up both sides with {warmup} services");
        await ThroughGrainsAsync(silo, "warm", warmup, perNamespace, parallel, cancellationToken);
        Directly(authority, "warm", warmup, perNamespace, cancellationToken);

        // The ceiling is measured in two halves around the grain run, so that a burst of load
        // from the machine's other users weighs on both sides alike.
        output.WriteLine($"load average {Services.LoadAverage()}: ceiling, first half");
        var ceiling = Directly(authority, "c1", count / 2, perNamespace, cancellationToken);

        output.WriteLine($"load average {Services.LoadAverage()}: {count} services through the grains ({parallel} at a time, {perNamespace} per namespace)");
        var cost = Cost.Start();
        var services = await ThroughGrainsAsync(silo, "run", count, perNamespace, parallel, cancellationToken);
        var grains = cost.Stop();

        output.WriteLine($"load average {Services.LoadAverage()}: ceiling, second half");
        ceiling = ceiling.Plus(Directly(authority, "c2", count - count / 2, perNamespace, cancellationToken));

        output.WriteLine($"load average {Services.LoadAverage()}: verifying {count} keystores and truststores");
        Verify(silo.Ports, services, cancellationToken);

        var perSecond = count / grains.Wall.TotalSeconds;
        var ceilingPerSecond = count / ceiling.Wall.TotalSeconds;
        output.WriteLine($"grains: {grains.Describe(count, "service")}");
        output.WriteLine($"ceiling: {ceiling.Describe(count, "service")}; load average {Services.LoadAverage()}");
        return new BenchResult(Name)
            .Add("count", count)
            .Add("per_second", perSecond, 1)
            .Add("ceiling_per_second", ceilingPerSecond, 1)
            .Add("ratio", perSecond / ceilingPerSecond, 3);
    }

    private sealed record Service(string Namespace, string Name, string Serial);

    private static (string Namespace, string Name) Naming(string prefix, int index, int perNamespace) =>
        ($"{prefix}-{index / perNamespace}", $"s{index}");

    /// <summary>Applies each service's Certificate, then its Keystore and Truststore, as the watcher would; all must be Ready.</summary>
    private static async Task<Service[]> ThroughGrainsAsync(BenchSilo silo, string prefix, int count, int perNamespace, int parallel, CancellationToken cancellationToken)
    {
        for (var n = 0; n * perNamespace < count; n++)
        {
            silo.Ports.Metadata.Set(Naming(prefix, n * perNamespace, perNamespace).Namespace, "notary-metadata", Services.MetadataJson);
        }

        var services = new Service[count];
        var grains = silo.Grains;
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (i, _) =>
        {
            var (ns, name) = Naming(prefix, i, perNamespace);
            var certificate = await grains.GetGrain<ICertificateGrain>($"{ns}/{name}").ApplyAsync(Services.Certificate(ns, name), Services.Origin);
            Ready(certificate.IsReady, certificate.Condition(Conditions.Ready), $"Certificate {ns}/{name}");
            var keystore = grains.GetGrain<IKeystoreGrain>($"{ns}/{name}-ks").ApplyAsync(Services.Keystore(ns, name), Services.Origin);
            var truststore = grains.GetGrain<ITruststoreGrain>($"{ns}/{name}-ts").ApplyAsync(Services.Truststore(ns, name), Services.Origin);
            var (ks, ts) = (await keystore, await truststore);
            Ready(ks.IsReady, ks.Condition(Conditions.Ready), $"Keystore {ns}/{name}-ks");
            Ready(ts.IsReady, ts.Condition(Conditions.Ready), $"Truststore {ns}/{name}-ts");
            services[i] = new Service(ns, name, certificate.SerialNumber!);
        });
        return services;
    }

    /// <summary>The ceiling: what the grains compute for each service (issue, keystore, truststore), on every core.</summary>
    private static Cost Directly(CertificateAuthority authority, string prefix, int count, int perNamespace, CancellationToken cancellationToken)
    {
        var results = new (StoreWrite Keystore, StoreWrite Truststore, string Serial)[count];
        var cost = Cost.Start();
        Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            var (ns, name) = Naming(prefix, i, perNamespace);
            var metadata = Services.Metadata(ns);
            var material = Services.Issue(authority, ns, name);
            var keystore = Services.EncodeKeystore(ns, name, metadata, material);
            var truststore = Services.EncodeTruststore(ns, name, metadata, Services.Source(ns, name, material.CertificatePem, material.ChainPem), []);
            results[i] = (keystore, truststore, material.SerialNumber);
        });
        cost.Stop();
        if (count > 0)
        {
            // The direct path is the same code; one sample shows it produced real stores.
            var (keystore, truststore, serial) = results[count / 2];
            Services.CheckKeystore(keystore, serial, "ceiling keystore");
            Services.CheckTruststore(truststore, [serial], [], "ceiling truststore");
        }

        return cost;
    }

    /// <summary>Every keystore holds its certificate's key, every truststore its certificate; every status is Ready.</summary>
    private static void Verify(BenchPorts ports, Service[] services, CancellationToken cancellationToken)
    {
        Parallel.ForEach(services, new ParallelOptions { CancellationToken = cancellationToken }, s =>
        {
            var keystore = new ResourceKey(s.Namespace, s.Name + "-ks");
            var truststore = new ResourceKey(s.Namespace, s.Name + "-ts");
            Services.CheckKeystore(ports.Store.Get(ResourceKind.Keystore, keystore), s.Serial, $"Keystore {keystore}");
            Services.CheckTruststore(ports.Store.Get(ResourceKind.Truststore, truststore), [s.Serial], [], $"Truststore {truststore}");
            Ready(ports.Status.Recorded.Certificate(new ResourceKey(s.Namespace, s.Name))?.IsReady == true, null, $"published status of Certificate {s.Namespace}/{s.Name}");
            Ready(ports.Status.Recorded.Store(ResourceKind.Keystore, keystore)?.IsReady == true, null, $"published status of Keystore {keystore}");
            Ready(ports.Status.Recorded.Store(ResourceKind.Truststore, truststore)?.IsReady == true, null, $"published status of Truststore {truststore}");
        });
    }

    private static void Ready(bool ready, StatusCondition? condition, string what)
    {
        if (!ready)
        {
            throw new InvalidOperationException($"{what} is not Ready: {condition?.Reason} {condition?.Message}");
        }
    }
}
