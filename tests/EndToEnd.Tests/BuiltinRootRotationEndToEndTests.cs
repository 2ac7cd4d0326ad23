using System.Diagnostics;
using System.Text;
using Notary.Pki.Tests.Support;
using Xunit.Abstractions;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Dev mode of its own (a rotation of the built-in root moves every default-path certificate, so
/// no other test may share it), checking Secret notary-ca every second
/// (<c>Notary:Ca:CheckInterval</c>) with a short propagation delay, so that a rotation asked for
/// with kubectl rolls within a test.
/// </summary>
public sealed class RootRotationFixture : RealBreachFixture
{
    protected override Task<IReadOnlyDictionary<string, string?>> StartDependenciesAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>
        {
            ["Notary:Ca:CheckInterval"] = "00:00:01",
            ["Notary:Rotation:PropagationDelay"] = "00:00:03",
            ["Notary:Rotation:Overlap"] = "00:00:05",
            // One re-issue at a time: the second service's certificate is re-issued only after the
            // first one's keystore serves its new-root leaf, so for at least the propagation delay
            // one service presents a new-root leaf and the other an old-root one (the mixed pair).
            ["Notary:Rotation:MaxConcurrentReissues"] = "1",
        });
}

[CollectionDefinition(Name)]
public sealed class RootRotationCollection : ICollectionFixture<RootRotationFixture>
{
    public const string Name = "built-in root rotation";
}

/// <summary>
/// The built-in root's rotation as an operator asks for it (README "Rotating the built-in root"):
/// two default-path services that trust each other by the root in their keystore's <c>ca.crt</c>
/// (as OpenSSL, nginx or Go clients do); <c>kubectl annotate secret notary-ca
/// notary.dev/rotate-ca=...</c>; both keystores trust old and new root before either certificate
/// is re-issued, both certificates are re-issued from the new root, and the old root leaves
/// <c>ca.crt</c> at the end. Trust is proven by real OpenSSL mutual-TLS handshakes between the two
/// services' stores, mid-roll and at the end.
/// </summary>
[Collection(RootRotationCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BuiltinRootRotationEndToEndTests(RootRotationFixture fx, ITestOutputHelper output)
{
    private sealed record Store(string Leaf, string Serial, IReadOnlyList<string> Roots, byte[] Chain, byte[] Key, byte[] Ca);

    [Fact]
    public async Task Annotating_notary_ca_rolls_both_services_to_the_new_root_trust_first_and_they_still_handshake()
    {
        var clock = Stopwatch.StartNew();
        void Mark(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s {what}");
        var ns = await fx.NamespaceAsync("rootrot");
        await fx.ApplyAsync(RealBreachFixture.Metadata(ns) + RealBreachFixture.Certificate(ns, "a") + RealBreachFixture.Certificate(ns, "b")
            + RealBreachFixture.Keystore(ns, "a-ks", "a") + RealBreachFixture.Keystore(ns, "b-ks", "b"));
        await fx.ReadyAsync(ns);
        var oldRoot = await RootSerialAsync();
        var a0 = await StoreAsync(ns, "a-ks");
        var b0 = await StoreAsync(ns, "b-ks");
        Assert.Equal([oldRoot], a0.Roots);
        Assert.Equal([oldRoot], b0.Roots);
        await AssertHandshakeAsync(ns, a0, b0, "before");
        Mark($"ready: root {oldRoot}, a {a0.Serial}, b {b0.Serial}");

        await fx.OkAsync("-n", "notary", "annotate", "secret", "notary-ca", $"notary.dev/rotate-ca=e2e-{Guid.NewGuid():N}", "--overwrite");
        var newRoot = await RealBreachFixture.UntilAsync(RootSerialAsync, r => r != oldRoot, "a new root in Secret notary-ca", seconds: 20, intervalMilliseconds: 250);
        Mark($"new root {newRoot}");

        // Watch the roll: no keystore may serve a leaf of the new root before both trust it, and
        // at some point both trust both roots; a handshake then, whatever each serves.
        var trustedBothSeen = false;
        var handshakeMidRoll = false;
        var handshakeMixed = false;
        var (a, b) = await RealBreachFixture.UntilAsync(
            async () =>
            {
                var a = await StoreAsync(ns, "a-ks");
                var b = await StoreAsync(ns, "b-ks");
                foreach (var (store, peer) in new[] { (a, b), (b, a) })
                {
                    if (store.Serial != a0.Serial && store.Serial != b0.Serial)
                    {
                        Assert.True(peer.Roots.Contains(newRoot), $"{store.Leaf} serves a re-issued certificate while its peer trusts only {string.Join(",", peer.Roots)}");
                    }
                }

                if (!handshakeMidRoll && a.Roots.Count == 2 && b.Roots.Count == 2)
                {
                    trustedBothSeen = true;
                    Mark($"both trust both roots (a {a.Serial}, b {b.Serial})");
                    await AssertHandshakeAsync(ns, a, b, "mid-roll");
                    handshakeMidRoll = true;
                }

                if (!handshakeMixed && (a.Serial != a0.Serial) != (b.Serial != b0.Serial))
                {
                    // One serves its leaf from the new root, the other still its old-root leaf:
                    // each must accept the other, both ways.
                    Mark($"mixed pair: a {a.Serial}, b {b.Serial}");
                    await AssertHandshakeAsync(ns, a, b, "mixed-a-serves");
                    await AssertHandshakeAsync(ns, b, a, "mixed-b-serves");
                    handshakeMixed = true;
                }

                return (a, b);
            },
            s => s.a.Serial != a0.Serial && s.b.Serial != b0.Serial && s.a.Roots.SequenceEqual([newRoot]) && s.b.Roots.SequenceEqual([newRoot]),
            "both certificates re-issued from the new root and the old root gone from both ca.crt",
            seconds: 90,
            intervalMilliseconds: 250);
        Mark($"rolled: a {a.Serial}, b {b.Serial}");

        Assert.True(trustedBothSeen, "no moment was seen where both keystores trusted the old and the new root");
        Assert.True(handshakeMixed, "no moment was seen where one service served a new-root leaf and the other an old-root leaf (one re-issue at a time should make one)");
        Assert.Equal(a.Serial, (await fx.CertificateStatusAsync(ns, "a")).Serial);
        Assert.Equal(b.Serial, (await fx.CertificateStatusAsync(ns, "b")).Serial);
        await AssertVerifiesAsync(a, newRoot);
        await AssertHandshakeAsync(ns, a, b, "after");

        // The old root no longer vouches: the first leaf a served (from the old root) is refused by b's ca.crt.
        var refused = await VerifyAsync(b.Ca, a0.Chain);
        Assert.True(refused.ExitCode != 0, $"b's ca.crt still accepts a leaf of the old root: {refused}");
    }

    private async Task<string> RootSerialAsync()
    {
        var pem = Encoding.ASCII.GetString((await fx.SecretDataAsync("notary", "notary-ca"))["tls.crt"]);
        return RealBreachFixture.SerialsOf(pem)[0];
    }

    private async Task<Store> StoreAsync(string ns, string keystore)
    {
        var data = await fx.SecretDataAsync(ns, keystore);
        return new Store(keystore, RealBreachFixture.SerialsOf(Encoding.ASCII.GetString(data["tls.crt"]))[0], RealBreachFixture.SerialsOf(Encoding.ASCII.GetString(data["ca.crt"])), data["tls.crt"], data["tls.key"], data["ca.crt"]);
    }

    private async Task AssertVerifiesAsync(Store store, string root)
    {
        Assert.Equal([root], store.Roots);
        var verified = await VerifyAsync(store.Ca, store.Chain);
        Assert.True(verified.ExitCode == 0, $"{store.Leaf}'s leaf does not verify against its ca.crt: {verified}");
    }

    private async Task<ToolResult> VerifyAsync(byte[] ca, byte[] chain)
    {
        var caFile = fx.Write($"verify-ca-{Guid.NewGuid():N}.pem", ca);
        var leafFile = fx.Write($"verify-leaf-{Guid.NewGuid():N}.pem", chain);
        return await ToolRunner.RunAsync("openssl", "verify", "-CAfile", caFile, leafFile);
    }

    /// <summary>
    /// A mutual-TLS handshake with OpenSSL: <paramref name="server"/>'s keystore serves (requiring
    /// a client certificate it verifies with its own ca.crt), <paramref name="client"/>'s keystore
    /// connects verifying the server with its own ca.crt. TLS 1.2, so that the server's refusal of
    /// the client certificate fails the client's handshake too.
    /// </summary>
    private async Task AssertHandshakeAsync(string ns, Store server, Store client, string when)
    {
        string Files(Store s, string part, byte[] content) => fx.Write($"{when}-{s.Leaf}-{part}-{Guid.NewGuid():N}.pem", content);
        var port = FreePorts.Next();
        using var serverProcess = Process.Start(new ProcessStartInfo("openssl",
        [
            "s_server", "-accept", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-naccept", "1", "-tls1_2",
            "-cert", Files(server, "chain", server.Chain), "-key", Files(server, "key", server.Key), "-CAfile", Files(server, "ca", server.Ca),
            "-Verify", "2", "-verify_return_error",
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        })!;
        try
        {
            var serverOutput = new StringBuilder();
            var accepting = new TaskCompletionSource();
            serverProcess.OutputDataReceived += (_, e) =>
            {
                lock (serverOutput)
                {
                    serverOutput.AppendLine(e.Data);
                }

                if (e.Data?.Contains("ACCEPT", StringComparison.Ordinal) == true)
                {
                    accepting.TrySetResult();
                }
            };
            serverProcess.ErrorDataReceived += (_, e) =>
            {
                lock (serverOutput)
                {
                    serverOutput.AppendLine(e.Data);
                }
            };
            serverProcess.BeginOutputReadLine();
            serverProcess.BeginErrorReadLine();
            await accepting.Task.WaitAsync(TimeSpan.FromSeconds(10));

            var result = await ToolRunner.RunAsync(
                "openssl",
                ["s_client", "-connect", $"127.0.0.1:{port}", "-tls1_2", "-verify_return_error", "-verify_hostname", RealBreachFixture.Fqdn(ns, server.Leaf[..^3]),
                    "-cert", Files(client, "chain", client.Chain), "-key", Files(client, "key", client.Key), "-CAfile", Files(client, "ca", client.Ca)],
                standardInput: string.Empty,
                timeout: TimeSpan.FromSeconds(20));
            string ServerLog()
            {
                lock (serverOutput)
                {
                    return serverOutput.ToString();
                }
            }

            output.WriteLine($"handshake {when}: {client.Leaf} -> {server.Leaf}: exit {result.ExitCode}");
            Assert.True(result.ExitCode == 0 && result.StdOut.Contains("Verify return code: 0 (ok)", StringComparison.Ordinal), $"handshake {when} {client.Leaf} -> {server.Leaf} failed: {result}\nserver: {ServerLog()}");
            Assert.True(await Task.Run(() => serverProcess.WaitForExit(10_000)) && serverProcess.ExitCode == 0, $"the server side of the handshake {when} refused the client: {ServerLog()}");
        }
        finally
        {
            if (!serverProcess.HasExited)
            {
                serverProcess.Kill();
            }
        }
    }
}
