using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;
using Notary.Pki;
using Orleans.Core.Internal;
using static Notary.Grains.Tests.Fakes.StoreVersions;

namespace Notary.Grains.Tests;

/// <summary>
/// A rotation of the built-in root (issue 18), on the fake clock: services on the default path
/// (no issuerRef, no spec.issuer) whose peers trust them by the root in their keystore's
/// <c>ca.crt</c> (as an OpenSSL or nginx client does) or by Issuers-mode truststores. The root
/// changes under the built-in root's issuer grain (as when Secret notary-ca is rotated: the
/// source returns a new root, the grain's check reminder notices it); the grain begins the real
/// CA rotation. Every store write is recorded with its time; order is checked on what was
/// written, trust by real Java handshakes.
/// </summary>
[Collection(CaRotationCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BuiltinRootRotationTests(CaRotationClusterFixture fx)
{
    /// <summary>Every default-path certificate the tests of this fixture created (BuiltinRootWriteBehindTests' too): the built-in root's rotation moves them all (the fixture is shared), so the driver wakes all.</summary>
    internal static readonly System.Collections.Concurrent.ConcurrentDictionary<ResourceKey, bool> Created = new();

    private const string KeyPassword = "ks-secret-1";
    private const string TrustPassword = "ts-secret-1";
    private static readonly TimeSpan Delay = CaRotationClusterFixture.Delay;

    private sealed record Mesh(string Ns, List<ResourceKey> Certificates, HashSet<int> IssuersMode, int Peers, int Count)
    {
        public string Fqdn(int i) => $"s{i}.{Ns}.svc";

        public IEnumerable<int> Upstream(int i) => Enumerable.Range(1, Peers).Select(d => (i + d) % Count);
    }

    private ICertificateGrain Cert(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private ICaRotationGrain Rotation => fx.Grains.GetGrain<ICaRotationGrain>(IssuerKeys.BuiltinRoot);

    private IIssuerGrain Root => fx.Grains.GetGrain<IIssuerGrain>(IssuerKeys.BuiltinRoot);

    private static CertificateSpec Spec(string fqdn) => new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256, Duration = "720h" };

    private async Task AddServiceAsync(Mesh mesh, int i, IReadOnlyList<TrustReference> up, IReadOnlyList<TrustReference> down, bool issuers)
    {
        var key = new ResourceKey(mesh.Ns, $"s{i}");
        Created[key] = true;
        var status = await Cert(key).ApplyAsync(Spec(mesh.Fqdn(i)), LifecycleTests.V(1));
        Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        var ks = await fx.Grains.GetGrain<IKeystoreGrain>(key.ToString()).ApplyAsync(new KeystoreSpec { Fqdn = mesh.Fqdn(i), CertName = $"s{i}" }, LifecycleTests.V(1));
        Assert.True(ks.IsReady, ks.Condition(Conditions.Ready)?.Message);
        var ts = await fx.Grains.GetGrain<ITruststoreGrain>(key.ToString()).ApplyAsync(
            new TruststoreSpec { Fqdn = mesh.Fqdn(i), CertName = $"s{i}", Upstream = up, Downstream = down, Trust = issuers ? "Issuers" : null }, LifecycleTests.V(1));
        Assert.True(ts.IsReady, ts.Condition(Conditions.Ready)?.Message);
    }

    /// <summary><paramref name="count"/> default-path services, each trusting the next <paramref name="peers"/> (and trusted by the previous ones); every third truststore Issuers-mode.</summary>
    private async Task<Mesh> SetUpAsync(int count, int peers)
    {
        var ns = "root-" + Guid.NewGuid().ToString("N")[..10];
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json(KeyPassword, TrustPassword));
        var mesh = new Mesh(ns, [.. Enumerable.Range(0, count).Select(i => new ResourceKey(ns, $"s{i}"))], [.. Enumerable.Range(0, count).Where(i => i % 3 == 0)], peers, count);
        TrustReference Ref(int j) => new() { Tag = $"s{j}", Fqdn = mesh.Fqdn(j), Namespace = ns };
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => AddServiceAsync(mesh, i,
            [.. mesh.Upstream(i).Select(Ref)], [.. Enumerable.Range(1, peers).Select(d => Ref((i - d + count) % count))], mesh.IssuersMode.Contains(i))));
        return mesh;
    }

    /// <summary>
    /// Settled: two rounds in a row in which rebuilding every store of these tests writes nothing.
    /// A rebuild is not interleaved, so each waits behind the store's queued turns (notifications,
    /// a coalesced rebuild), and it reads the certificates as they are now: a round that writes
    /// nothing means every store already holds what its certificates say (not "quiet for a while").
    /// </summary>
    private async Task SettleAsync()
    {
        for (int round = 0, quiet = 0; quiet < 2; round++)
        {
            Assert.True(round < 100, "the stores kept being written: never settled");
            var puts = fx.Store.Puts;
            await Task.WhenAll(Created.Keys.SelectMany(k => new[]
            {
                fx.Grains.GetGrain<IKeystoreGrain>(k.ToString()).RebuildAsync(),
                fx.Grains.GetGrain<ITruststoreGrain>(k.ToString()).RebuildAsync(),
            }));
            quiet = fx.Store.Puts == puts ? quiet + 1 : 0;
        }
    }

    private async Task DriveAsync(IReadOnlyList<ResourceKey> certificates)
    {
        for (var i = 0; i < 500; i++)
        {
            await FireAsync(Rotation, CaRotationGrain.Reminder, fx.Time.GetUtcNow());
            if (await Rotation.GetStatusAsync() is null)
            {
                await SettleAsync();
                return;
            }

            await SettleAsync();
            await Task.WhenAll(certificates.Union(Created.Keys).Select(c => FireAsync(Cert(c), "roll", fx.Time.GetUtcNow())));
            await SettleAsync();
            fx.Time.Advance(TimeSpan.FromSeconds(5));
        }

        Assert.Fail($"The rotation did not finish: {await Rotation.GetStatusAsync()}");
    }

    private static string Fingerprint(CertificateAuthority ca) => ICertificateAuthoritySource.Fingerprint(ca);

    /// <summary>The root a certificate's chain ends in (its issuer's subject).</summary>
    private static string IssuerOf(string certificatePem) => X509Certificate2.CreateFromPem(certificatePem).Issuer;

    [Fact]
    public async Task Ten_default_path_services_trusting_by_ca_crt_keep_talking_through_a_rotation_of_the_built_in_root()
    {
        var mesh = await SetUpAsync(10, 1);
        var oldRoot = fx.Authority.Current;
        var oldSubject = X509Certificate2.CreateFromPem(oldRoot.CertificatePem).Subject;
        var newRoot = CertificateAuthority.CreateRoot("Rotation Test Root " + mesh.Ns, TimeSpan.FromDays(3650), fx.Time.GetUtcNow() - TimeSpan.FromMinutes(5), new KeySpec(KeyAlgorithm.Ecdsa, 256));
        var newSubject = X509Certificate2.CreateFromPem(newRoot.CertificatePem).Subject;
        var (oldTp, newTp) = (Thumbprint(oldRoot), Thumbprint(newRoot));
        foreach (var c in mesh.Certificates)
        {
            Assert.Equal(oldSubject, IssuerOf((await Cert(c).GetSnapshotAsync()).Material!.CertificatePem));
        }

        // The root changes (Secret notary-ca rotated): the built-in root's grain notices it at its
        // check (or at the next issuance) and begins the rotation, trust first.
        var started = fx.Time.GetUtcNow();
        fx.Authority.Current = newRoot;
        await FireAsync(Root, IssuerGrain.RootCheckReminder, started);
        var status = await Rotation.GetStatusAsync();
        Assert.NotNull(status);
        Assert.Equal("TrustingNewCa", status.Phase);
        Assert.Equal(Fingerprint(newRoot), status.ToFingerprint);
        Assert.Equal(Fingerprint(oldRoot), status.FromFingerprint);
        Assert.True(status.Total >= 10, $"{status.Total} certificates in the rotation");
        Assert.False(await Rotation.MaySignWithNewCaAsync());
        // No Issuer object: each certificate gets an Event saying its root is rotated.
        foreach (var c in mesh.Certificates)
        {
            Assert.Contains(fx.Events.For(c), e => e.Reason == IssuerGrain.RotationStartedReason && e.Message.Contains(Fingerprint(newRoot), StringComparison.Ordinal));
        }

        // Phase 1 holds the new root back: a service created now is signed by the PREVIOUS root
        // (its key is at hand), also after a restart of both grains (persisted state, the previous
        // root's key found again), and joins the rotation.
        var late = new List<ResourceKey>();
        TrustReference Ref(int j) => new() { Tag = $"s{j}", Fqdn = mesh.Fqdn(j), Namespace = mesh.Ns };
        await AddServiceAsync(mesh, 10, [Ref(0)], [], issuers: false);
        late.Add(new ResourceKey(mesh.Ns, "s10"));
        await Root.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        await Rotation.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        await AddServiceAsync(mesh, 11, [Ref(1)], [], issuers: true);
        late.Add(new ResourceKey(mesh.Ns, "s11"));
        foreach (var c in late)
        {
            Assert.Equal(oldSubject, IssuerOf((await Cert(c).GetSnapshotAsync()).Material!.CertificatePem));
        }

        Assert.Equal("TrustingNewCa", (await Rotation.GetStatusAsync())!.Phase);
        var all = mesh.Certificates.Concat(late).ToList();
        await DriveAsync(all);
        DateTimeOffset end;

        // Every service ends on the new root; ca.crt holds the new root and no longer the old one.
        foreach (var c in all)
        {
            Assert.Null((await Cert(c).GetSnapshotAsync()).IssuerCas);
            // The keystore's last rebuild (one-way notifications) may still be on its way.
            await fx.Store.Changed.WaitAsync(() => fx.Store.Get(ResourceKind.Keystore, c), w => !CaCrt(w).Contains(oldTp), TimeSpan.FromSeconds(30), $"{c}'s ca.crt without the old root");
            var ks = fx.Store.Get(ResourceKind.Keystore, c)!;
            Assert.Equal(newSubject, Entries(ks, KeyPassword).Single(x => x.HasPrivateKey).Issuer);
            Assert.Contains(newTp, CaCrt(ks));
        }

        await SettleAsync();
        end = fx.Time.GetUtcNow();

        var stores = all.SelectMany(c => new[] { (Kind: ResourceKind.Keystore, Key: c), (Kind: ResourceKind.Truststore, Key: c) }).ToList();
        var versions = stores.ToDictionary(s => s, s => Versions(fx.Store, s.Kind, s.Key));
        string Password(ResourceKind kind) => kind == ResourceKind.Keystore ? KeyPassword : TrustPassword;
        bool IssuersMode(ResourceKey key) => key.Name is var n && (n == "s11" || (int.TryParse(n[1..], out var i) && i < 10 && mesh.IssuersMode.Contains(i)));

        // 1. Trust first: every keystore's ca.crt and every Issuers truststore held the new root
        // at least the propagation delay before anything signed by it was in any store.
        var firstNewLeaf = versions.SelectMany(v => v.Value.Where(x => Entries(x.Write, Password(v.Key.Kind)).Any(c => c.Issuer == newSubject && c.Thumbprint != newTp)).Select(x => x.At)).Min();
        foreach (var (store, list) in versions.Where(v => v.Key.Kind == ResourceKind.Keystore || IssuersMode(v.Key.Key)))
        {
            var trusted = list.First(x => CaCrt(x.Write).Contains(newTp));
            Assert.True(trusted.At + Delay <= firstNewLeaf, $"{store} trusted the new root at {trusted.At:O}, a certificate signed by it was published at {firstNewLeaf:O}");
        }

        // 2. The old root leaves last: no store dropped it before the last old-root leaf was gone.
        var oldLeafGone = versions.SelectMany(v => v.Value.Where(x => Entries(x.Write, Password(v.Key.Kind)).Any(c => c.Issuer == oldSubject && c.Thumbprint != oldTp))
            .Select(x => x.Until ?? end)).Max();
        foreach (var (store, list) in versions.Where(v => v.Key.Kind == ResourceKind.Keystore || IssuersMode(v.Key.Key)))
        {
            foreach (var x in list.Where(x => x.At >= started && !CaCrt(x.Write).Contains(oldTp)))
            {
                Assert.True(x.At >= oldLeafGone, $"{store} dropped the old root at {x.At:O}, an old-root certificate was in a store until {oldLeafGone:O}");
            }
        }

        // 3. As pods see it: real Java handshakes between neighbours at every moment of the roll,
        // each side trusting the other through its own keystore's ca.crt (what an OpenSSL client
        // does), and through its truststore; among them a renewed service with one not yet renewed.
        await AssertHandshakesAsync(mesh, versions, end);
    }

    [Fact]
    public async Task Without_the_previous_roots_key_new_issuances_wait_for_the_new_root_to_be_trusted_instead_of_signing_with_it()
    {
        var mesh = await SetUpAsync(2, 1);
        var newRoot = CertificateAuthority.CreateRoot("Keyless Test Root " + mesh.Ns, TimeSpan.FromDays(3650), fx.Time.GetUtcNow() - TimeSpan.FromMinutes(5), new KeySpec(KeyAlgorithm.Ecdsa, 256));
        fx.Authority.KeepsReplacedKeys = false;
        try
        {
            fx.Authority.Current = newRoot;
            // An issuance notices the change first (no reminder needed), then is held.
            var key = new ResourceKey(mesh.Ns, "held");
            Created[key] = true;
            var status = await Cert(key).ApplyAsync(Spec($"held.{mesh.Ns}.svc"), LifecycleTests.V(1));
            Assert.False(status.IsReady);
            Assert.Equal(Fingerprint(newRoot), (await Rotation.GetStatusAsync())!.ToFingerprint);
            Assert.Null((await Cert(key).GetSnapshotAsync()).Material);
            await DriveAsync([.. mesh.Certificates, key]);
            var material = (await Cert(key).GetSnapshotAsync()).Material;
            for (var i = 0; i < 100 && material is null; i++)
            {
                // The held issuance asks again (its continuation) once the rotation lets the new root sign.
                fx.Time.Advance(IssuerGrain.RotationRetryAfter);
                await FireAsync(Cert(key), CertificateGrain.ContinueReminder, fx.Time.GetUtcNow());
                await SettleAsync();
                material = (await Cert(key).GetSnapshotAsync()).Material;
            }

            Assert.NotNull(material);
            Assert.Equal(X509Certificate2.CreateFromPem(newRoot.CertificatePem).Subject, IssuerOf(material.CertificatePem));
        }
        finally
        {
            fx.Authority.KeepsReplacedKeys = true;
        }
    }

    private static async Task AssertHandshakesAsync(Mesh mesh, Dictionary<(ResourceKind Kind, ResourceKey Key), List<StoreVersion>> versions, DateTimeOffset end)
    {
        var dir = Directory.CreateTempSubdirectory("notary-rootrotation-").FullName;
        try
        {
            var files = new Dictionary<string, string>(StringComparer.Ordinal);
            string File(ResourceKind kind, ResourceKey key, int index, bool caCrt)
            {
                var id = $"{key.Name}-{kind}-{index}{(caCrt ? "-cacrt" : string.Empty)}";
                if (!files.TryGetValue(id, out var path))
                {
                    path = Path.Combine(dir, id + ".p12");
                    var write = versions[(kind, key)][index].Write;
                    // A keystore's ca.crt as a Java truststore: the roots a client of ca.crt trusts.
                    var bytes = caCrt
                        ? StoreEncoder.BuildTruststore(StoreFormat.Pkcs12, [.. CaCrtCertificates(write).Select((c, n) => new TrustedEntry($"ca-{n}", c.ExportCertificatePem()))], TrustPassword)
                        : write.Files[write.PrimaryFileName];
                    System.IO.File.WriteAllBytes(path, bytes);
                    files[id] = path;
                }

                return path;
            }

            string LeafIssuer(ResourceKey key, int index) => Entries(versions[(ResourceKind.Keystore, key)][index].Write, KeyPassword).Single(c => c.HasPrivateKey).Issuer;
            var lines = new HashSet<string>(StringComparer.Ordinal);
            var mixed = 0;
            for (var c = 0; c < mesh.Count; c++)
            {
                foreach (var s in mesh.Upstream(c))
                {
                    var (client, server) = (mesh.Certificates[c], mesh.Certificates[s]);
                    var ksS = versions[(ResourceKind.Keystore, server)];
                    var ksC = versions[(ResourceKind.Keystore, client)];
                    var tsC = versions[(ResourceKind.Truststore, client)];
                    var tsS = versions[(ResourceKind.Truststore, server)];
                    var moments = ksS.Concat(ksC).Concat(tsC).Concat(tsS).Select(v => v.At).Distinct().ToList();
                    List<(int, int)> Pairs(List<StoreVersion> keystores, List<StoreVersion> others) => ReadableTogether(moments, keystores, others, end, Delay);

                    // Trust by ca.crt: the server's keystore against the client's keystore's ca.crt, and back.
                    foreach (var (i, j) in Pairs(ksS, ksC))
                    {
                        mixed += LeafIssuer(server, i) != LeafIssuer(client, j) ? 1 : 0;
                        lines.Add(string.Join('\t', $"s{c}->s{s}:ca.crt:ks{i}-ks{j}",
                            File(ResourceKind.Keystore, server, i, false), KeyPassword, File(ResourceKind.Keystore, client, j, true), TrustPassword,
                            File(ResourceKind.Keystore, client, j, false), KeyPassword, File(ResourceKind.Keystore, server, i, true), TrustPassword, mesh.Fqdn(s)));
                    }

                    // Trust by truststores (Pinned and Issuers), zipped as in CaRotationTests.
                    var toServer = Pairs(ksS, tsC);
                    var toClient = Pairs(ksC, tsS);
                    for (var n = 0; n < Math.Max(toServer.Count, toClient.Count); n++)
                    {
                        var (ks, ts) = toServer[Math.Min(n, toServer.Count - 1)];
                        var (cks, sts) = toClient[Math.Min(n, toClient.Count - 1)];
                        lines.Add(string.Join('\t', $"s{c}->s{s}:ts:ks{ks}-ts{ts}-cks{cks}-sts{sts}",
                            File(ResourceKind.Keystore, server, ks, false), KeyPassword, File(ResourceKind.Truststore, server, sts, false), TrustPassword,
                            File(ResourceKind.Keystore, client, cks, false), KeyPassword, File(ResourceKind.Truststore, client, ts, false), TrustPassword, mesh.Fqdn(s)));
                    }
                }
            }

            // Some moment had a service on the new root talking to one still on the old root.
            Assert.True(mixed > 0, "no handshake between a renewed and a not yet renewed service");
            await AssertJavaHandshakesAsync(lines, dir);
            Assert.True(lines.Count >= 20, $"only {lines.Count} handshakes");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
