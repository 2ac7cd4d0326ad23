using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Notary.EndToEnd.Tests.Aws;
using static Notary.EndToEnd.Tests.Aws.Manifests;

namespace Notary.EndToEnd.Tests.Redis;

/// <summary>Three silo processes at once: run alone, so their timing does not depend on other tests' load.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RedisSiloCollection
{
    public const string Name = "redis-silos";
}

/// <summary>
/// Three silos started with <c>run</c> and <c>Notary__Cluster__Provider=redis</c>, sharing a real
/// redis-server for membership, reminders and grain state, against a cluster of their own. The
/// silo that leads the watcher is killed (the whole process tree, as a node failure) while
/// resources are being created.
/// </summary>
[Collection(RedisSiloCollection.Name)]
[Trait("Category", "Slow")]
public sealed partial class MultiSiloRedisTests
{
    // Below the tool runner's own 90 s, so a wait that runs out fails the assert that prints the silos' output.
    private const string Wait = "--timeout=75s";

    [Fact]
    public async Task Killing_the_leading_silo_moves_the_lease_and_its_grains_to_survivors_with_their_state()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await StandaloneCluster.StartAsync();
        var ns = await NamespacesAsync(cluster, "redis");

        var silos = new Dictionary<string, SiloProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var identity = $"silo-{i}";
                silos[identity] = SiloProcess.Start(cluster.Kubeconfig, Configuration(redis, identity), new Dictionary<string, string?>());
            }

            // Every silo listens before any is asked for its metrics (a slow start is not a failure).
            await Task.WhenAll(silos.Values.Select(s => s.ListeningAsync(TimeSpan.FromSeconds(90))));

            // Renewed by its reminder three minutes after issuance: after the kill, even when a
            // loaded machine makes the batches below slow.
            await cluster.ApplyAsync(RenewingCertificate(ns, "renewing", $"renewing.{ns}.svc"));
            await ReadyAsync(cluster, silos, ns, ["cert/renewing"]);
            var renewingIssued = (await CertificateStatusesAsync(cluster, ns, ["renewing"]))["renewing"];
            var renewalTime = Status(await cluster.OkAsync("get", "cert", "renewing", "-n", ns, "-o", "json")).GetProperty("renewalTime").GetDateTimeOffset();
            var leader = await LeaseHolderAsync(cluster);
            Assert.True(leader is not null && silos.ContainsKey(leader), $"The Lease is held by \"{leader}\", not by one of the silos.");
            var victim = silos[leader!];
            var survivors = silos.Where(s => s.Key != leader).Select(s => s.Value).ToList();

            // Certificates with keystores, in batches until the leader has issued at least one:
            // those grains were active on the silo that dies (placement may put any batch elsewhere).
            var before = new List<string>();
            var issuedByVictim = new List<string>();
            for (var batch = 0; batch < 6 && issuedByVictim.Count == 0; batch++)
            {
                var names = Enumerable.Range(0, 4).Select(i => $"before-{batch}-{i}").ToList();
                before.AddRange(names);
                await cluster.ApplyAsync(All([.. names.SelectMany(name => new[]
                {
                    Certificate(ns, name, $"{name}.{ns}.svc"),
                    Keystore(ns, name, $"{name}.{ns}.svc", name),
                })]));
                await ReadyAsync(cluster, silos, ns, [.. names.Select(n => $"cert/{n}"), .. names.Select(n => $"ks/{n}")]);
                issuedByVictim = [.. (await IssuancesAsync(victim)).Where(i => before.Contains(i.Key)).Select(i => i.Key)];
            }

            Assert.True(issuedByVictim.Count > 0, $"{leader} issued none of {before.Count} certificates.");
            Assert.Equal(leader, await LeaseHolderAsync(cluster));
            var certificates = await CertificateStatusesAsync(cluster, ns, before);
            var secrets = await SecretVersionsAsync(cluster, ns);
            var survivorIssuances = await IssuancesAsync(survivors);

            // More resources while the leader dies: new certificates with keystores, and keystores
            // of certificates that existed before (their grains must reactivate with their state).
            var after = Enumerable.Range(0, 4).Select(i => $"after-{i}").ToList();
            var late = issuedByVictim.Concat(before.Except(issuedByVictim)).Take(after.Count).ToList();
            var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var creating = Task.Run(async () =>
            {
                for (var i = 0; i < after.Count; i++)
                {
                    await cluster.ApplyAsync(All(
                        Certificate(ns, after[i], $"{after[i]}.{ns}.svc"),
                        Keystore(ns, after[i], $"{after[i]}.{ns}.svc", after[i]),
                        Keystore(ns, $"late-{late[i]}", $"{late[i]}.{ns}.svc", late[i])));
                    if (i == 1)
                    {
                        halfway.TrySetResult();
                    }
                }
            });
            await halfway.Task.WaitAsync(TimeSpan.FromSeconds(60));
            victim.Kill();
            var renewingBefore = (await CertificateStatusesAsync(cluster, ns, ["renewing"]))["renewing"];
            Assert.True(renewingBefore == renewingIssued, "The certificate was renewed before the kill: the test ran too slowly to show its reminder firing on a survivor.");
            await creating.WaitAsync(TimeSpan.FromSeconds(60));

            // A survivor takes the Lease once the dead leader's expires.
            var holder = leader;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
            while (holder == leader && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
                holder = await LeaseHolderAsync(cluster);
            }

            Assert.True(holder is not null && holder != leader && silos.ContainsKey(holder), $"The Lease stayed with \"{holder}\" after {leader} died.");

            // Every resource, created before or after the kill, becomes Ready: no event was missed.
            await ReadyAsync(cluster, silos, ns, [.. after.Select(n => $"cert/{n}"), .. after.Select(n => $"ks/{n}"), .. late.Select(n => $"ks/late-{n}")]);

            // The certificates reactivated with their state: same revision and serial, issued by
            // no survivor since (the dead silo cannot have), and their old stores left alone.
            Assert.Equal(certificates, await CertificateStatusesAsync(cluster, ns, before));
            // A survivor's activation whose directory entry the dead silo owned is deactivated by
            // Orleans and takes its series with it (CertificateGrain.OnDeactivateAsync), so a
            // series may be gone; one that is there counts what it counted before, and none
            // appears for a certificate no survivor had issued (the serials above prove no
            // re-issue was stored either).
            var survivorIssuancesAfter = await IssuancesAsync(survivors);
            foreach (var name in before)
            {
                if (survivorIssuancesAfter.TryGetValue(name, out var count))
                {
                    Assert.True(survivorIssuances.GetValueOrDefault(name) == count, $"A survivor counts {count} issuance(s) of {name}, {survivorIssuances.GetValueOrDefault(name)} before the kill: it re-issued.");
                }
            }

            var secretsAfter = await SecretVersionsAsync(cluster, ns);
            foreach (var (secret, version) in secrets)
            {
                Assert.True(secretsAfter.TryGetValue(secret, out var now) && now == version, $"Secret {secret} changed from resourceVersion {version} to {now}: a store was rebuilt.");
            }

            // The renewal reminder registered before the kill fires once, on a survivor: waited
            // for until two minutes past the renewal time.
            var renewed = renewingBefore;
            var renewalDeadline = renewalTime.UtcDateTime + TimeSpan.FromSeconds(120);
            deadline = renewalDeadline > DateTime.UtcNow ? renewalDeadline : DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (renewed == renewingBefore && DateTime.UtcNow < deadline)
            {
                await Task.Delay(1000);
                renewed = (await CertificateStatusesAsync(cluster, ns, ["renewing"]))["renewing"];
            }

            Assert.True(renewed != renewingBefore, $"The certificate was not renewed by {deadline:O} (renewal time {renewalTime:O}): {renewed}\n{Outputs(silos)}");
            Assert.Equal(renewingBefore.Revision + 1, renewed.Revision);
            // The survivor that renewed counts it (its /metrics may lag the status a moment): once.
            var renewals = await RealBreachFixture.UntilAsync(() => RenewalsAsync(survivors), r => r.GetValueOrDefault("renewing") >= 1, "a survivor to count the renewal");
            Assert.Equal(1, renewals.GetValueOrDefault("renewing"));
            Assert.Equal(renewed, (await CertificateStatusesAsync(cluster, ns, ["renewing"]))["renewing"]);
        }
        finally
        {
            foreach (var silo in silos.Values)
            {
                await silo.DisposeAsync();
            }
        }
    }

    /// <summary>Notary's namespace and a new one for the test's resources, with its metadata Secret; the latter's name.</summary>
    internal static async Task<string> NamespacesAsync(StandaloneCluster cluster, string prefix)
    {
        var ns = UniqueNamespace(prefix);
        await DevFixture.RunKubectlAsync(cluster.Kubeconfig, Path.Combine(cluster.Root, "kube-cache"), "create", "namespace", "notary");
        await cluster.OkAsync("create", "namespace", ns);
        await cluster.ApplyAsync(MetadataSecret(ns));
        return ns;
    }

    internal static Dictionary<string, string?> Configuration(RedisServer redis, string identity) => new()
    {
        ["Notary:Cluster:Provider"] = "redis",
        ["Notary:Cluster:Redis:ConnectionString"] = redis.ConnectionString,
        ["Notary:Watcher:Identity"] = identity,
        // A survivor takes over within seconds of the leader's death (production defaults: 15 s).
        ["Notary:Watcher:LeaseDuration"] = "00:00:04",
        ["Notary:Watcher:RenewDeadline"] = "00:00:03",
        ["Notary:Watcher:RetryPeriod"] = "00:00:01",
        // A failure's output then shows the activations each survivor dropped because the dead
        // silo held their directory entries (their grain timers went with them).
        ["Logging:LogLevel:Orleans.Runtime.GrainDirectory"] = "Information",
    };

    /// <summary>A short lifetime, renewed three minutes after issuance.</summary>
    private static string RenewingCertificate(string ns, string name, string fqdn) => $$"""
        apiVersion: notary.dev/v1alpha1
        kind: Certificate
        metadata: {name: {{name}}, namespace: {{ns}}}
        spec:
          type: Private
          fqdn: {{fqdn}}
          duration: 20m
          renewBefore: 17m
          privateKey: {algorithm: ECDSA, size: 256}
        """;

    internal static async Task ReadyAsync(StandaloneCluster cluster, Dictionary<string, SiloProcess> silos, string ns, string[] resources)
    {
        var cache = Path.Combine(cluster.Root, "kube-cache");
        var result = await DevFixture.RunKubectlAsync(cluster.Kubeconfig, cache, ["wait", "--for=condition=Ready", .. resources, "-n", ns, Wait]);
        if (result.ExitCode != 0)
        {
            // What each resource says about itself (conditions, reasons, messages) beside what the silos logged.
            var statuses = await DevFixture.RunKubectlAsync(cluster.Kubeconfig, cache, ["get", .. resources, "-n", ns, "-o", "yaml"]);
            Assert.Fail($"{result}\n--- resources ---\n{statuses.StdOut}{statuses.StdErr}\n{Outputs(silos)}");
        }
    }

    internal static string Outputs(Dictionary<string, SiloProcess> silos) =>
        string.Join("\n", silos.Select(s => $"--- {s.Key} ({(s.Value.HasExited ? "exited" : "running")}) ---\n{s.Value.RecentOutput}"));

    private static async Task<string?> LeaseHolderAsync(StandaloneCluster cluster)
    {
        var result = await DevFixture.RunKubectlAsync(cluster.Kubeconfig, Path.Combine(cluster.Root, "kube-cache"), "get", "lease", "notary-watcher", "-n", "notary", "-o", "jsonpath={.spec.holderIdentity}");
        return result.ExitCode == 0 && result.StdOut.Trim().Length > 0 ? result.StdOut.Trim() : null;
    }

    internal sealed record CertificateStatus(long Revision, string Serial);

    internal static async Task<Dictionary<string, CertificateStatus>> CertificateStatusesAsync(StandaloneCluster cluster, string ns, IEnumerable<string> names)
    {
        var statuses = new Dictionary<string, CertificateStatus>();
        foreach (var name in names)
        {
            var status = Status(await cluster.OkAsync("get", "cert", name, "-n", ns, "-o", "json"));
            statuses[name] = new CertificateStatus(status.GetProperty("revision").GetInt64(), status.GetProperty("serialNumber").GetString()!);
        }

        return statuses;
    }

    internal static async Task<Dictionary<string, string>> SecretVersionsAsync(StandaloneCluster cluster, string ns)
    {
        using var json = JsonDocument.Parse(await cluster.OkAsync("get", "secrets", "-n", ns, "-o", "json"));
        return json.RootElement.GetProperty("items").EnumerateArray().ToDictionary(
            s => s.GetProperty("metadata").GetProperty("name").GetString()!,
            s => s.GetProperty("metadata").GetProperty("resourceVersion").GetString()!);
    }

    /// <summary>
    /// Issuances per certificate summed over the silos; certificates at 0 left out (the counter
    /// exists at 0 from a certificate's first observation, so that Prometheus sees the first increase).
    /// </summary>
    internal static async Task<Dictionary<string, double>> IssuancesAsync(params IEnumerable<SiloProcess> silos) =>
        (await CounterAsync("notary_certificate_issuances_total", silos)).Where(c => c.Value != 0).ToDictionary();

    private static Task<Dictionary<string, double>> RenewalsAsync(IEnumerable<SiloProcess> silos) => CounterAsync("notary_certificate_renewals_total", silos);

    /// <summary>A per-certificate counter summed over the silos' /metrics.</summary>
    internal static async Task<Dictionary<string, double>> CounterAsync(string metric, IEnumerable<SiloProcess> silos)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var sums = new Dictionary<string, double>();
        foreach (var silo in silos)
        {
            var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{silo.ApiPort}/metrics"));
            foreach (Match match in Sample().Matches(text))
            {
                if (match.Groups["metric"].Value != metric)
                {
                    continue;
                }

                var name = Regex.Match(match.Groups["labels"].Value, "name=\"([^\"]*)\"").Groups[1].Value;
                sums[name] = sums.GetValueOrDefault(name) + double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return sums;
    }

    [GeneratedRegex(@"^(?<metric>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
