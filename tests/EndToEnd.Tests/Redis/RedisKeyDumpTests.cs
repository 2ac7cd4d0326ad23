using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Notary.EndToEnd.Tests.Aws;
using StackExchange.Redis;
using static Notary.EndToEnd.Tests.Aws.Manifests;
using static Notary.EndToEnd.Tests.Redis.MultiSiloRedisTests;

namespace Notary.EndToEnd.Tests.Redis;

/// <summary>
/// README.md ("Security" → "State at rest"): Redis never holds a readable private key. Two
/// silos on a real redis-server issue certificates of both key types; then every key of every
/// database of Redis is read back (SCAN, then GET / HGETALL / LRANGE / SMEMBERS / ZRANGE / XRANGE
/// by type, and DUMP) and searched for each private key in every encoding a reader could try.
/// A silo started afterwards on the same Redis still builds stores from the state (it decrypts
/// with the data key of the Secret notary/notary-state-key) without issuing again.
/// </summary>
[Collection(RedisSiloCollection.Name)]
[Trait("Category", "Slow")]
public sealed class RedisKeyDumpTests
{
    [Fact]
    public async Task Nothing_Redis_holds_contains_a_private_key_and_a_restarted_silo_still_builds_stores_from_the_state()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await StandaloneCluster.StartAsync();
        var ns = await NamespacesAsync(cluster, "dump");
        var names = new[] { "ec", "rsa" };
        await cluster.ApplyAsync(All(
            Certificate(ns, "ec", $"ec.{ns}.svc"), Keystore(ns, "ec-ks", $"ec.{ns}.svc", "ec", format: "JKS"),
            Certificate(ns, "rsa", $"rsa.{ns}.svc", algorithm: "RSA", size: 2048), Keystore(ns, "rsa-ks", $"rsa.{ns}.svc", "rsa")));

        var silos = new Dictionary<string, SiloProcess>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                silos[$"silo-{i}"] = SiloProcess.Start(cluster.Kubeconfig, Configuration(redis, $"silo-{i}"), new Dictionary<string, string?>());
            }

            await ReadyAsync(cluster, silos, ns, ["cert/ec", "cert/rsa", "ks/ec-ks", "ks/rsa-ks"]);
            var issued = await CertificateStatusesAsync(cluster, ns, names);
            var keys = new Dictionary<string, (byte[] Certificate, string KeyPem)>();
            foreach (var name in names)
            {
                var data = await SecretDataAsync(cluster, ns, $"{name}-ks");
                keys[name] = (X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(data["tls.crt"])).RawData, Encoding.ASCII.GetString(data["tls.key"]));
            }

            var dump = await DumpAsync(redis);
            Assert.True(dump.Keys > 0, "Redis holds nothing: the silos did not use it");
            foreach (var (name, (certificate, keyPem)) in keys)
            {
                // The control: the certificate (public, kept as DER in the state) is found, so the
                // search reads the grain state and would find a key kept the same way.
                Assert.True(Contains(dump.Bytes, certificate.AsSpan(certificate.Length / 2, 32)), $"the dump does not hold certificate {name}: it misses the grain state");
                foreach (var (form, bytes) in KeyForms(keyPem))
                {
                    Assert.False(Contains(dump.Bytes, bytes), $"Redis holds the private key of {name} as {form}");
                }
            }

            // The data key is not in Redis either: it is in notary's own Secret.
            var stateKey = await SecretDataAsync(cluster, "notary", "notary-state-key");
            var current = Encoding.ASCII.GetString(stateKey["current"]);
            Assert.False(Contains(dump.Bytes, stateKey[current + ".key"]), "Redis holds the state data key");

            // Every silo stopped (as Kubernetes stops a pod, with SIGTERM, so it leaves the
            // Orleans cluster); a new one on the same Redis reads the encrypted state: a new
            // keystore of each certificate holds the same key, and nothing is issued again.
            foreach (var silo in silos.Values)
            {
                await StopAsync(silo);
                await silo.DisposeAsync();
            }

            silos.Clear();
            silos["silo-2"] = SiloProcess.Start(cluster.Kubeconfig, Configuration(redis, "silo-2"), new Dictionary<string, string?>());
            await cluster.ApplyAsync(All(names.Select(n => Keystore(ns, $"{n}-again", $"{n}.{ns}.svc", n)).ToArray()));
            await ReadyAsync(cluster, silos, ns, ["ks/ec-again", "ks/rsa-again"]);
            foreach (var name in names)
            {
                var again = await SecretDataAsync(cluster, ns, $"{name}-again");
                Assert.Equal(keys[name].KeyPem, Encoding.ASCII.GetString(again["tls.key"]));
            }

            Assert.Equal(issued, await CertificateStatusesAsync(cluster, ns, names));
            Assert.Empty(await IssuancesAsync(silos["silo-2"]));
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            Assert.Fail($"{ex}\n{Outputs(silos)}");
        }
        finally
        {
            foreach (var silo in silos.Values)
            {
                await silo.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// The private key as a reader of Redis might find it. Only its secret numbers are searched
    /// (the private scalar of an EC key; d, p, q, dp, dq and qi of an RSA key): the rest of a
    /// PKCS#8 key (algorithm identifiers, the public key) is in the certificate too. Each secret
    /// raw, in hex (both cases), and as the base64 and base64url a reader sees when the PKCS#8
    /// DER, or the SEC1 / PKCS#1 key inside it, was encoded at any alignment; and as it stands in
    /// the PEM's lines.
    /// </summary>
    private static IEnumerable<(string Form, byte[] Bytes)> KeyForms(string pem)
    {
        using var key = Key(pem);
        var pkcs8 = key.ExportPkcs8PrivateKey();
        byte[] inner;
        List<(string Name, byte[] Value)> secrets;
        if (key is ECDsa ec)
        {
            inner = ec.ExportECPrivateKey();
            secrets = [("the private scalar d", ec.ExportParameters(true).D!)];
        }
        else
        {
            var rsa = (RSA)key;
            inner = rsa.ExportRSAPrivateKey();
            var p = rsa.ExportParameters(true);
            // RSAParameters pads each number to the modulus' (or half its) length, while DER writes
            // an INTEGER in its fewest bytes: one leading zero byte in 256 is not in the DER.
            static byte[] Minimal(byte[] value) => value.SkipWhile(b => b == 0).ToArray();
            secrets = [("d", Minimal(p.D!)), ("p", Minimal(p.P!)), ("q", Minimal(p.Q!)), ("dp", Minimal(p.DP!)), ("dq", Minimal(p.DQ!)), ("qi", Minimal(p.InverseQ!))];
        }

        var body = string.Concat(pem.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).Select(l => l.Trim()));
        Assert.Equal(Convert.ToBase64String(pkcs8), body);
        foreach (var (name, secret) in secrets)
        {
            yield return ($"{name}, raw", secret);
            yield return ($"{name}, hex", Encoding.ASCII.GetBytes(Convert.ToHexStringLower(secret)));
            yield return ($"{name}, HEX", Encoding.ASCII.GetBytes(Convert.ToHexString(secret)));
            foreach (var (container, blob) in new[] { ("PKCS#8 DER", pkcs8), ("SEC1/PKCS#1 DER", inner) })
            {
                var at = blob.AsSpan().IndexOf(secret);
                Assert.True(at >= 0, $"{name} is not in the {container}");
                for (var shift = 0; shift < 3; shift++)
                {
                    // The base64 characters that encode only bytes of the secret, with the blob
                    // encoded from byte `shift` on.
                    var first = (at - shift + 2) / 3;
                    var last = (at - shift + secret.Length) / 3;
                    var text = Convert.ToBase64String(blob[shift..]).Substring(first * 4, (last - first) * 4);
                    yield return ($"{name} in the {container}, base64 from byte {shift}", Encoding.ASCII.GetBytes(text));
                    yield return ($"{name} in the {container}, base64url from byte {shift}", Encoding.ASCII.GetBytes(text.Replace('+', '-').Replace('/', '_')));
                }
            }

            // The PEM as text (how state saved before encryption held a key that was not in the
            // standard form): the longest run of the secret's characters within one 64-character line.
            var start = (at: pkcs8.AsSpan().IndexOf(secret), 0).at;
            var (from, to) = ((start + 2) / 3 * 4, (start + secret.Length) / 3 * 4);
            var best = Enumerable.Range(from / 64, to / 64 - from / 64 + 1)
                .Select(line => (Math.Max(from, line * 64), Math.Min(to, (line + 1) * 64)))
                .MaxBy(range => range.Item2 - range.Item1);
            yield return ($"{name} in a line of the PEM", Encoding.ASCII.GetBytes(body[best.Item1..best.Item2]));
        }
    }

    private static AsymmetricAlgorithm Key(string pem)
    {
        try
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return ec;
        }
        catch (CryptographicException)
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return rsa;
        }
    }

    private static bool Contains(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>Everything every database of Redis holds, each value read by its type, plus each key's DUMP.</summary>
    private static async Task<(int Keys, byte[] Bytes)> DumpAsync(RedisServer redis)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var server = connection.GetServers().Single();
        using var all = new MemoryStream();
        void Add(RedisValue value)
        {
            if (!value.IsNull)
            {
                all.Write((byte[])value!);
                all.WriteByte(0);
            }
        }

        var count = 0;
        var databases = (int)(await server.ExecuteAsync("CONFIG", "GET", "databases")).ToDictionary()["databases"];
        for (var index = 0; index < databases; index++)
        {
            var db = connection.GetDatabase(index);
            await foreach (var key in server.KeysAsync(index, pattern: "*", pageSize: 500))
            {
                count++;
                Add((byte[])key!);
                switch (await db.KeyTypeAsync(key))
                {
                    case RedisType.String:
                        Add(await db.StringGetAsync(key));
                        break;
                    case RedisType.Hash:
                        foreach (var entry in await db.HashGetAllAsync(key))
                        {
                            Add(entry.Name);
                            Add(entry.Value);
                        }

                        break;
                    case RedisType.List:
                        Array.ForEach(await db.ListRangeAsync(key), Add);
                        break;
                    case RedisType.Set:
                        Array.ForEach(await db.SetMembersAsync(key), Add);
                        break;
                    case RedisType.SortedSet:
                        Array.ForEach((await db.SortedSetRangeByRankWithScoresAsync(key)).Select(e => e.Element).ToArray(), Add);
                        break;
                    case RedisType.Stream:
                        foreach (var entry in await db.StreamRangeAsync(key))
                        {
                            foreach (var field in entry.Values)
                            {
                                Add(field.Name);
                                Add(field.Value);
                            }
                        }

                        break;
                    case var other:
                        Assert.Fail($"Redis key {key} has the type {other}, which this dump does not read");
                        break;
                }

                Add(await db.KeyDumpAsync(key));
            }
        }

        return (count, all.ToArray());
    }

    private static async Task StopAsync(SiloProcess silo)
    {
        using (var signal = System.Diagnostics.Process.Start("kill", ["-TERM", silo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync();
        }

        await RealBreachFixture.UntilAsync(() => Task.FromResult(silo.HasExited), exited => exited, "the silo to stop on SIGTERM", seconds: 60);
    }

    private static async Task<Dictionary<string, byte[]>> SecretDataAsync(StandaloneCluster cluster, string ns, string name)
    {
        using var json = JsonDocument.Parse(await cluster.OkAsync("get", "secret", name, "-n", ns, "-o", "json"));
        return json.RootElement.GetProperty("data").EnumerateObject().ToDictionary(p => p.Name, p => Convert.FromBase64String(p.Value.GetString()!), StringComparer.Ordinal);
    }
}
