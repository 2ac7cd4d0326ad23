using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using Notary.Pki.Tests.Support;
using Xunit.Abstractions;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Dev mode with a short propagation delay (5 s), so that a real-time renewal of a short-lived
/// certificate rolls within a test.
/// </summary>
public sealed class RollFixture : RealBreachFixture
{
    public static readonly TimeSpan PropagationDelay = TimeSpan.FromSeconds(5);

    protected override Task<IReadOnlyDictionary<string, string?>> StartDependenciesAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>
        {
            ["Notary:Rotation:PropagationDelay"] = PropagationDelay.ToString(),
        });
}

[CollectionDefinition(Name)]
public sealed class RollCollection : ICollectionFixture<RollFixture>
{
    public const string Name = "make-before-break";
}

/// <summary>
/// Make-before-break as the pods see it: every version of every store Secret written during a
/// renewal is recorded through a watch, and every keystore version then published must complete
/// a real Java mutual-TLS handshake with every version of the dependent truststore published
/// during the preceding propagation delay (a pod may still read any of them). Then a breach
/// rotate, which must not keep the old certificate trusted.
/// </summary>
[Collection(RollCollection.Name)]
[Trait("Category", "Slow")]
public sealed class MakeBeforeBreakTests(RollFixture fx, ITestOutputHelper output)
{
    private static readonly string Batch = Path.Combine(AppContext.BaseDirectory, "java", "MutualTlsBatch.java");

    private sealed record Version(DateTimeOffset At, string Secret, IDictionary<string, byte[]> Data);

    [Fact]
    public async Task A_short_lived_certificate_renews_in_real_time_with_no_failed_handshake_between_peers_and_a_rotate_trusts_no_old_key()
    {
        var clock = Stopwatch.StartNew();
        void Mark(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s {what}");
        var ns = await fx.NamespaceAsync("roll");
        using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Kubeconfig));
        var versions = new ConcurrentQueue<Version>();
        using var stop = new CancellationTokenSource();
        var watching = RecordAsync(client, ns, versions, stop.Token);

        // svc lives 30 minutes and renews a minute after each issuance; client "a" trusts it
        // (upstream) and svc trusts a (downstream).
        var svcCertificate = RealBreachFixture.Certificate(ns, "svc").Replace("  type: Private", "  type: Private\n  duration: 30m\n  renewBefore: 29m", StringComparison.Ordinal);
        await fx.ApplyAsync(RealBreachFixture.Metadata(ns) + svcCertificate + RealBreachFixture.Certificate(ns, "a")
            + RealBreachFixture.Keystore(ns, "svc-ks", "svc") + RealBreachFixture.Keystore(ns, "a-ks", "a")
            + RealBreachFixture.Truststore(ns, "svc-ts", "svc", [], [(ns, "a")]) + RealBreachFixture.Truststore(ns, "a-ts", "a", [(ns, "svc")], []));
        await fx.ReadyAsync(ns);
        var first = await fx.CertificateStatusAsync(ns, "svc");
        Assert.Equal(1, first.Revision);
        Mark("ready, serial " + first.Serial);

        // The renewal and its roll, in real time: the keystore serves revision 2 in the end. Two
        // waits, each for its own condition (the lifecycle reminder renews about a minute after
        // issuance; the roll then waits for the truststores and the propagation delay), with
        // room for a loaded machine: a wait ends as soon as its condition holds.
        await RealBreachFixture.UntilAsync(
            async () => (await fx.CertificateStatusAsync(ns, "svc")).Revision,
            revision => revision >= 2, "the certificate renewed (revision 2)", seconds: 240, intervalMilliseconds: 1000);
        Mark("renewed");
        await RealBreachFixture.UntilAsync(
            async () => (await fx.JsonAsync("get", "ks", "svc-ks", "-n", ns)).GetProperty("status").GetProperty("certificateRevision").GetInt64(),
            revision => revision >= 2, "the keystore switched to revision 2", seconds: 180, intervalMilliseconds: 500);
        var renewed = await fx.CertificateStatusAsync(ns, "svc");
        Assert.Equal(2, renewed.Revision);
        Assert.Equal(first.Serial, (await fx.OkAsync("get", "cert", "svc", "-n", ns, "-o", "jsonpath={.status.previousSerialNumber}")).Trim().ToUpperInvariant());
        Mark("keystore switched to serial " + renewed.Serial);
        await Task.Delay(RollFixture.PropagationDelay);
        var end = DateTimeOffset.UtcNow;

        var keystores = Of(versions, "svc-ks");
        var dependents = Of(versions, "a-ts");
        var own = Of(versions, "svc-ts");
        var clientKeystore = Of(versions, "a-ks")[^1];
        Assert.Contains(keystores, k => Serials(k, "tls.crt").Contains(first.Serial));
        Assert.Contains(keystores, k => Serials(k, "tls.crt").Contains(renewed.Serial));
        Assert.Contains(dependents, t => Serials(t, "ca.crt").Contains(first.Serial) && Serials(t, "ca.crt").Contains(renewed.Serial));

        // The order on what was published: the keystore with the new certificate came at least
        // the propagation delay after the dependent truststore first held it (1 s for the watch).
        var switchedAt = keystores.First(k => Serials(k, "tls.crt").Contains(renewed.Serial)).At;
        var trustedAt = dependents.First(t => Serials(t, "ca.crt").Contains(renewed.Serial)).At;
        Assert.True(switchedAt >= trustedAt + RollFixture.PropagationDelay - TimeSpan.FromSeconds(1), $"keystore switched at {switchedAt:O}, truststore trusted it at {trustedAt:O}");

        // Every keystore version against every dependent truststore version a pod may still read
        // while it is published (published, or replaced less than the delay before).
        var pairs = new List<(string Id, Version Keystore, Version Truststore)>();
        for (var i = 0; i < keystores.Count; i++)
        {
            var from = keystores[i].At;
            var until = i + 1 < keystores.Count ? keystores[i + 1].At : end;
            for (var j = 0; j < dependents.Count; j++)
            {
                var readFrom = dependents[j].At;
                var readUntil = (j + 1 < dependents.Count ? dependents[j + 1].At : end) + RollFixture.PropagationDelay;
                if (readFrom < until && from < readUntil)
                {
                    pairs.Add(($"ks{i}-ts{j}", keystores[i], dependents[j]));
                }
            }
        }

        Mark($"{keystores.Count} keystore and {dependents.Count} truststore versions, {pairs.Count} pairs");
        var results = await HandshakesAsync(ns, pairs.Select(p => (p.Id, p.Keystore, own.LastOrDefault(o => o.At <= p.Keystore.At) ?? own[0], clientKeystore, p.Truststore)));
        Assert.All(pairs, p => Assert.True(results[p.Id] == "OK", $"{p.Id}: keystore serial {string.Join(",", Serials(p.Keystore, "tls.crt").Take(1))} against truststore version of {p.Truststore.At:O}: {results[p.Id]}"));

        // Pinned truststores (no CA entry) trust exactly the listed leaves: the new keystore is
        // refused by the truststore from before the roll, which is why the order matters.
        var before = dependents[0];
        Assert.True(Pinned(before), "the truststores are pinned by default (no CA entry)");
        var control = await HandshakesAsync(ns, [("control", keystores[^1], own[^1], clientKeystore, before)]);
        Assert.NotEqual("OK", control["control"]);

        // A rotate: no overlap. The old keystore is refused by the rebuilt truststore, the new accepted.
        var (token, _) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get");
        var accepted = await fx.PostAsync(token, $"{ns}/svc", "rotate", "key leaked in a test");
        Assert.True(accepted.Status == 202, accepted.ToString());
        var done = await fx.FollowAsync(accepted.Location!, token);
        Assert.True(done.Json.GetProperty("phase").GetString() == "Completed", done.ToString());
        var rotated = await fx.CertificateStatusAsync(ns, "svc");
        Assert.True(rotated.Revision > renewed.Revision);
        Assert.Equal(string.Empty, (await fx.OkAsync("get", "cert", "svc", "-n", ns, "-o", "jsonpath={.status.previousSerialNumber}")).Trim());
        await RealBreachFixture.UntilAsync(() => Task.FromResult(Of(versions, "a-ts")[^1]), t => Serials(t, "ca.crt").Contains(rotated.Serial), "a-ts rebuilt with the rotated certificate");
        await RealBreachFixture.UntilAsync(() => Task.FromResult(Of(versions, "svc-ks")[^1]), k => Serials(k, "tls.crt").Contains(rotated.Serial), "svc-ks switched at once");
        var rebuilt = Of(versions, "a-ts")[^1];
        var rotatedSerials = Serials(rebuilt, "ca.crt");
        Assert.DoesNotContain(renewed.Serial, rotatedSerials);
        Assert.DoesNotContain(first.Serial, rotatedSerials);
        var afterRotate = await HandshakesAsync(ns, [
            ("old", keystores[^1], own[^1], clientKeystore, rebuilt),
            ("new", Of(versions, "svc-ks")[^1], Of(versions, "svc-ts")[^1], clientKeystore, rebuilt),
        ]);
        Assert.True(afterRotate["new"] == "OK", afterRotate["new"]);
        Assert.True(Pinned(rebuilt), "the rebuilt truststore is pinned (no CA entry)");
        Assert.NotEqual("OK", afterRotate["old"]);

        await stop.CancelAsync();
        await watching;
    }

    private static List<Version> Of(ConcurrentQueue<Version> versions, string secret) => [.. versions.Where(v => v.Secret == secret).OrderBy(v => v.At)];

    private static List<string> Serials(Version version, string key)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPem(Encoding.ASCII.GetString(version.Data[key]));
        return [.. certificates.Select(c => c.SerialNumber.ToUpperInvariant())];
    }

    /// <summary>No CA certificate among the trusted ones: the truststore pins leaves.</summary>
    private static bool Pinned(Version truststore)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPem(Encoding.ASCII.GetString(truststore.Data["ca.crt"]));
        return !certificates.Any(c => c.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority));
    }

    /// <summary>Every ADDED or MODIFIED Secret of the namespace with its data, as a pod's kubelet would see it; resumes after a closed watch.</summary>
    private static async Task RecordAsync(k8s.Kubernetes client, string ns, ConcurrentQueue<Version> versions, CancellationToken cancellationToken)
    {
        string? resourceVersion = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var (type, secret) in client.CoreV1.WatchListNamespacedSecretAsync(ns, resourceVersion: resourceVersion, cancellationToken: cancellationToken))
                {
                    resourceVersion = secret.Metadata.ResourceVersion;
                    if (type is WatchEventType.Added or WatchEventType.Modified && secret.Data is { } data && secret.Metadata.Name != "notary-metadata")
                    {
                        versions.Enqueue(new Version(DateTimeOffset.UtcNow, secret.Metadata.Name, data));
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Runs the handshakes in one JVM: server = (keystore, its own truststore), client = (peer keystore, dependent truststore).</summary>
    private async Task<Dictionary<string, string>> HandshakesAsync(string ns, IEnumerable<(string Id, Version Keystore, Version OwnTruststore, Version ClientKeystore, Version Truststore)> pairs)
    {
        var ks = RealBreachFixture.KeystorePassword(ns);
        var ts = RealBreachFixture.TruststorePassword(ns);
        var lines = new StringBuilder();
        var ids = new List<string>();
        foreach (var (id, keystore, ownTruststore, clientKeystore, truststore) in pairs)
        {
            string File(Version v, string key) => fx.Write($"{ns}-{id}-{v.Secret}-{v.At.ToUnixTimeMilliseconds()}-{key}", v.Data[key]);
            lines.AppendJoin('\t', id, File(keystore, "keystore.p12"), ks, File(ownTruststore, "truststore.p12"), ts,
                File(clientKeystore, "keystore.p12"), ks, File(truststore, "truststore.p12"), ts, RealBreachFixture.Fqdn(ns, "svc")).Append('\n');
            ids.Add(id);
        }

        var pairsFile = fx.WriteText($"{ns}-pairs-{Guid.NewGuid():N}.tsv", lines.ToString());
        var result = await ToolRunner.RunAsync("java", ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", Batch, pairsFile], timeout: TimeSpan.FromMinutes(5));
        Assert.True(result.ExitCode == 0, result.ToString());
        var answers = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 3))
            .ToDictionary(p => p[1], p => p[0] == "OK" ? "OK" : p.Length > 2 ? p[2] : "FAIL");
        Assert.Equal(ids.Order(), answers.Keys.Order());
        return answers;
    }
}
