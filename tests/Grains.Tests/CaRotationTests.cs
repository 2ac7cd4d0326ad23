using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Tests.Fakes;
using Notary.Pki;
using Orleans.Core.Internal;
using static Notary.Grains.Tests.Fakes.StoreVersions;

namespace Notary.Grains.Tests;

/// <summary>
/// An issuer's CA rotation (issue 18 §3), on the fake clock, through a real <c>ca</c> Issuer: the
/// services' Certificates name it (issuerRef), its Secret holds a team intermediate, and the
/// change replaces the Secret's key pair with a new intermediate under ANOTHER root
/// (<see cref="ChangeCaAsync"/>) — the case where nothing that trusted the old CA trusts the new
/// one, so a handshake fails unless the new CA is trusted before it signs. Every store write is
/// recorded with its time, and the order is checked on what was written; trust is proven by real
/// Java handshakes.
/// </summary>
[Collection(CaRotationCollection.Name)]
[Trait("Category", "Slow")]
public sealed class CaRotationTests(CaRotationClusterFixture fx)
{
    private const string KeyPassword = "ks-secret-1";
    private const string TrustPassword = "ts-secret-1";
    private static readonly TimeSpan Delay = CaRotationClusterFixture.Delay;

    private const string IssuerName = "team";
    private const string CaSecret = "team-ca";

    private sealed record Mesh(string Ns, string IssuerKey, CertificateAuthority Ca, ResourceKey[] Certificates, HashSet<int> IssuersMode, int Peers)
    {
        public string Fqdn(int i) => $"s{i}.{Ns}.svc";

        public IEnumerable<int> Upstream(int i) => Enumerable.Range(1, Peers).Select(d => (i + d) % Certificates.Length);
    }

    private ICertificateGrain Cert(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private ICaRotationGrain Rotation(string issuerKey) => fx.Grains.GetGrain<ICaRotationGrain>(issuerKey);

    /// <summary>
    /// <paramref name="count"/> services, each with a Certificate, a Keystore and a Truststore
    /// trusting the next <paramref name="peers"/> services (upstream) and the previous ones
    /// (downstream); every fifth truststore is Issuers-mode, the others Pinned. The Certificates
    /// name the namespace's <c>ca</c> Issuer "team", whose Secret holds a team intermediate.
    /// </summary>
    private async Task<Mesh> SetUpAsync(int count, int peers)
    {
        var ns = "ca-" + Guid.NewGuid().ToString("N")[..10];
        fx.Metadata.Set(ns, "notary-metadata", InMemoryMetadataSource.Json(KeyPassword, TrustPassword));
        var ca = fx.NewIntermediate("Team Intermediate A " + ns);
        fx.CaSecrets.Put(ns, CaSecret, PemEncoder.Bundle(ca.ChainPem), ca.ExportPrivateKeyPem());
        var mesh = new Mesh(ns, IssuerKeys.Namespaced(ns, IssuerName), ca, [.. Enumerable.Range(0, count).Select(i => new ResourceKey(ns, $"s{i}"))],
            [.. Enumerable.Range(0, count).Where(i => i % 5 == 0)], peers);
        var issuer = await fx.Grains.GetGrain<IIssuerGrain>(mesh.IssuerKey).ApplyAsync(new IssuerSpec { Ca = new CaIssuerSpec(CaSecret) }, LifecycleTests.V(1));
        Assert.Equal(Conditions.True, issuer.Conditions.Single(c => c.Type == Conditions.Ready).Status);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            var status = await Cert(mesh.Certificates[i]).ApplyAsync(
                new CertificateSpec
                {
                    Type = "Private", Fqdn = mesh.Fqdn(i), KeyAlgorithm = "ECDSA", KeySize = 256, Duration = "720h",
                    IssuerRef = new IssuerRef(IssuerName, IssuerKinds.Issuer),
                },
                LifecycleTests.V(1));
            Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        }));
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            var ks = await fx.Grains.GetGrain<IKeystoreGrain>(mesh.Certificates[i].ToString()).ApplyAsync(new KeystoreSpec { Fqdn = mesh.Fqdn(i), CertName = $"s{i}" }, LifecycleTests.V(1));
            Assert.True(ks.IsReady, ks.Condition(Conditions.Ready)?.Message);
            var up = mesh.Upstream(i).Select(j => new TrustReference { Tag = $"s{j}", Fqdn = mesh.Fqdn(j), Namespace = ns }).ToList();
            var down = Enumerable.Range(1, peers).Select(d => (i - d + count) % count).Select(j => new TrustReference { Tag = $"s{j}", Fqdn = mesh.Fqdn(j), Namespace = ns }).ToList();
            var ts = await fx.Grains.GetGrain<ITruststoreGrain>(mesh.Certificates[i].ToString()).ApplyAsync(
                new TruststoreSpec { Fqdn = mesh.Fqdn(i), CertName = $"s{i}", Upstream = up, Downstream = down, Trust = mesh.IssuersMode.Contains(i) ? "Issuers" : null }, LifecycleTests.V(1));
            Assert.True(ts.IsReady, ts.Condition(Conditions.Ready)?.Message);
        }));
        return mesh;
    }

    /// <summary>
    /// The CA change as an operator makes it: the Issuer's Secret gets <paramref name="next"/>'s key
    /// pair (tls.crt the intermediate and its root, tls.key its key), and the issuer grain is told,
    /// as the watcher tells it when the Secret changes; the issuer grain reads the Secret, sees
    /// another CA under the certificates it issued and begins the real rotation.
    /// </summary>
    private async Task ChangeCaAsync(Mesh mesh, CertificateAuthority next)
    {
        fx.CaSecrets.Put(mesh.Ns, CaSecret, PemEncoder.Bundle(next.ChainPem), next.ExportPrivateKeyPem());
        // One-way, as the watcher calls it: done once the issuer's status shows the new CA and its rotation.
        await fx.Grains.GetGrain<IIssuerGrain>(mesh.IssuerKey).OnCaSecretChangedAsync();
        var fingerprint = Policies.CaFingerprints.Of(next.CertificatePem);
        await fx.IssuerStatus.WaitAsync(mesh.IssuerKey, s => s.CaFingerprint == fingerprint && s.Rotation?.ToFingerprint == fingerprint, "the new CA and its rotation");
    }

    /// <summary>Until every one-way notification has been written: no store write for a moment.</summary>
    private async Task SettleAsync()
    {
        var puts = fx.Store.Puts;
        for (var quiet = 0; quiet < 3;)
        {
            await Task.Delay(50);
            quiet = fx.Store.Puts == puts ? quiet + 1 : 0;
            puts = fx.Store.Puts;
        }
    }

    /// <summary>Moves the fake clock in small steps, firing the rotation's and the certificates' roll reminders, until the rotation is over; returns the statuses seen.</summary>
    private async Task<List<IssuerRotationStatus>> DriveAsync(Mesh mesh)
    {
        var seen = new List<IssuerRotationStatus>();
        var rotation = Rotation(mesh.IssuerKey);
        for (var i = 0; i < 500; i++)
        {
            await FireAsync(rotation, CaRotationGrain.Reminder, fx.Time.GetUtcNow());
            if (await rotation.GetStatusAsync() is not { } status)
            {
                await SettleAsync();
                return seen;
            }

            seen.Add(status);
            await SettleAsync();
            await Task.WhenAll(mesh.Certificates.Select(c => FireAsync(Cert(c), "roll", fx.Time.GetUtcNow())));
            await SettleAsync();
            fx.Time.Advance(TimeSpan.FromSeconds(2));
        }

        Assert.Fail($"The rotation did not finish: {seen.LastOrDefault()}");
        return seen;
    }

    [Fact]
    public async Task Fifty_services_keep_talking_through_a_CA_rotation_to_a_new_intermediate_trust_comes_first_the_roll_is_paced_the_old_CA_leaves_last()
    {
        var mesh = await SetUpAsync(50, 2);
        var oldCa = mesh.Ca;
        var newCa = fx.NewIntermediate("Team Intermediate " + mesh.Ns);
        var (oldTp, newTp) = (Thumbprint(oldCa), Thumbprint(newCa));
        var newSubject = X509Certificate2.CreateFromPem(newCa.CertificatePem).Subject;
        var started = fx.Time.GetUtcNow();
        await ChangeCaAsync(mesh, newCa);
        Assert.False(await Rotation(mesh.IssuerKey).MaySignWithNewCaAsync());
        var seen = await DriveAsync(mesh);
        var end = fx.Time.GetUtcNow();

        // The status showed the roll: its phases in order, every certificate counted, down to none left.
        Assert.Equal(["TrustingNewCa", "Reissuing", "RetiringOldCa"], seen.Select(s => s.Phase).Distinct().Where(p => p != "RetiringOldCa").Append("RetiringOldCa").Distinct());
        Assert.All(seen, s => Assert.Equal(50, s.Total));
        Assert.Equal(50, seen[0].Remaining);
        Assert.Equal(Policies.CaFingerprints.Of(newCa.CertificatePem), seen[0].ToFingerprint);
        Assert.Null(await Rotation(mesh.IssuerKey).GetStatusAsync());
        // The Issuer's status followed it: the rotation's progress written, then status.rotation gone.
        await fx.IssuerStatus.WaitAsync(mesh.IssuerKey, s => s.Rotation is null && s.CaFingerprint == Policies.CaFingerprints.Of(newCa.CertificatePem), "status.rotation gone");

        bool NewLeaf(X509Certificate2 c) => c.Issuer == newSubject;
        var stores = mesh.Certificates.SelectMany(c => new[] { (Kind: ResourceKind.Keystore, Key: c), (Kind: ResourceKind.Truststore, Key: c) }).ToList();
        var versions = stores.ToDictionary(s => s, s => Versions(fx.Store, s.Kind, s.Key));
        string Password(ResourceKind kind) => kind == ResourceKind.Keystore ? KeyPassword : TrustPassword;

        // 1. Trust first: every keystore's ca.crt and every Issuers truststore held the new CA at
        // least the propagation delay before anything signed by it was in any store.
        var firstNewLeaf = versions.SelectMany(v => v.Value.Where(x => Entries(x.Write, Password(v.Key.Kind)).Any(NewLeaf)).Select(x => x.At)).Min();
        foreach (var (store, list) in versions.Where(v => v.Key.Kind == ResourceKind.Keystore || mesh.IssuersMode.Contains(Array.IndexOf(mesh.Certificates, v.Key.Key))))
        {
            var trusted = list.First(x => CaCrt(x.Write).Contains(newTp));
            Assert.True(trusted.At + Delay <= firstNewLeaf, $"{store} trusted the new CA at {trusted.At:O}, a certificate signed by it was published at {firstNewLeaf:O}");
            if (store.Kind == ResourceKind.Truststore)
            {
                Assert.Contains(Entries(trusted.Write, TrustPassword), c => c.Thumbprint == newTp);
            }
        }

        // Pinned truststores never trust a CA: not the new one, not the old one.
        foreach (var (store, list) in versions.Where(v => v.Key.Kind == ResourceKind.Truststore && !mesh.IssuersMode.Contains(Array.IndexOf(mesh.Certificates, v.Key.Key))))
        {
            Assert.All(list, x => Assert.DoesNotContain(Entries(x.Write, TrustPassword), c => c.Thumbprint == newTp || c.Thumbprint == oldTp));
        }

        // 2. Paced, each make-before-break: a certificate is "re-issuing" from the first store
        // holding its new leaf until its keystore serves it; at most N at once, and its keystore
        // switches only the delay after every truststore that lists it holds the new leaf.
        var windows = new List<(DateTimeOffset From, DateTimeOffset To)>();
        for (var i = 0; i < 50; i++)
        {
            var fqdn = mesh.Fqdn(i);
            bool Mine(X509Certificate2 c) => NewLeaf(c) && c.GetNameInfo(X509NameType.DnsName, false) == fqdn;
            var served = versions[(ResourceKind.Keystore, mesh.Certificates[i])].First(x => Entries(x.Write, KeyPassword).Single(c => c.HasPrivateKey) is var leaf && Mine(leaf)).At;
            var holders = Enumerable.Range(0, 50).Where(j => mesh.Upstream(j).Contains(i) || mesh.Upstream(i).Contains(j) || j == i).ToList();
            var first = served;
            foreach (var j in holders)
            {
                var held = versions[(ResourceKind.Truststore, mesh.Certificates[j])].First(x => Entries(x.Write, TrustPassword).Any(Mine)).At;
                Assert.True(held + Delay <= served, $"s{i}'s keystore served its new certificate at {served:O}, s{j}'s truststore held it at {held:O}");
                first = held < first ? held : first;
            }

            windows.Add((first, served));
        }

        var most = windows.SelectMany(w => new[] { w.From, w.To }).Distinct().Max(t => windows.Count(w => w.From <= t && t < w.To));
        Assert.InRange(most, 1, CaRotationClusterFixture.MaxConcurrentReissues);

        // 3. The old CA leaves last: no version without it in ca.crt (or an Issuers truststore)
        // was written before the last old-CA leaf left every store; at the end none holds either.
        var oldSubject = X509Certificate2.CreateFromPem(oldCa.CertificatePem).Subject;
        var oldLeafGone = versions.SelectMany(v => v.Value.Where(x => Entries(x.Write, Password(v.Key.Kind)).Any(c => c.Issuer == oldSubject && c.Thumbprint != oldTp))
            .Select(x => x.Until ?? end)).Max();
        foreach (var (store, list) in versions.Where(v => v.Key.Kind == ResourceKind.Keystore || mesh.IssuersMode.Contains(Array.IndexOf(mesh.Certificates, v.Key.Key))))
        {
            foreach (var x in list.Where(x => x.At >= started && !CaCrt(x.Write).Contains(oldTp)))
            {
                Assert.True(x.At >= oldLeafGone, $"{store} dropped the old CA at {x.At:O}, an old-CA certificate was in a store until {oldLeafGone:O}");
            }

            Assert.DoesNotContain(oldTp, CaCrt(list[^1].Write));
            Assert.Contains(newTp, CaCrt(list[^1].Write));
        }

        Assert.All(versions, v => Assert.All(Entries(v.Value[^1].Write, Password(v.Key.Kind)), c => Assert.NotEqual(oldTp, c.Thumbprint)));

        // 4. As pods see it: every keystore version a server may present against every truststore
        // version its client may read at the same time (and the other way round), real Java
        // handshakes, none fails.
        await AssertHandshakesAsync(mesh, versions.ToDictionary(v => v.Key, v => v.Value), end);
    }

    [Fact]
    public async Task A_rotations_CAs_reach_keystores_ca_crt_and_Issuers_truststores_never_Pinned_ones_and_leave_them_again()
    {
        var mesh = await SetUpAsync(5, 1);
        var extra = fx.NewIntermediate("Extra " + mesh.Ns);
        var fp = Policies.CaFingerprints.Of(extra.CertificatePem)!;
        var tp = Thumbprint(extra);
        var (issuers, pinned) = (mesh.Certificates[0], mesh.Certificates[2]);
        var pinnedWrites = fx.Store.History(ResourceKind.Truststore, pinned).Count;
        await Task.WhenAll(mesh.Certificates.Select(c => Cert(c).SetIssuerCasAsync([string.Concat(extra.ChainPem)])));
        Assert.Equal([string.Concat(extra.ChainPem).Trim() + "\n"], (await Cert(issuers).GetSnapshotAsync()).IssuerCas);

        foreach (var c in mesh.Certificates)
        {
            await fx.Store.Changed.WaitAsync(() => fx.Store.Get(ResourceKind.Keystore, c), w => CaCrt(w).Contains(tp), TimeSpan.FromSeconds(30), $"{c}'s ca.crt with the rotation's CA");
            Assert.Contains(fp, (await fx.Grains.GetGrain<IKeystoreGrain>(c.ToString()).GetStatusAsync())!.IssuerCas);
        }

        await fx.Store.Changed.WaitAsync(() => fx.Store.Get(ResourceKind.Truststore, issuers), w => Entries(w, TrustPassword).Any(c => c.Thumbprint == tp), TimeSpan.FromSeconds(30), "Issuers truststore trusting the rotation's CA");
        var ts = (await fx.Grains.GetGrain<ITruststoreGrain>(issuers.ToString()).GetStatusAsync())!;
        Assert.Contains(fp, ts.IssuerCas);
        Assert.Contains(tp, CaCrt(fx.Store.Get(ResourceKind.Truststore, issuers)!));
        Assert.Contains(ts.Entries, e => e.StartsWith("ca-", StringComparison.Ordinal));

        // Pinned: not rebuilt for it, no CA in it.
        await SettleAsync();
        Assert.Equal(pinnedWrites, fx.Store.History(ResourceKind.Truststore, pinned).Count);
        Assert.Empty((await fx.Grains.GetGrain<ITruststoreGrain>(pinned.ToString()).GetStatusAsync())!.IssuerCas);

        await Task.WhenAll(mesh.Certificates.Select(c => Cert(c).SetIssuerCasAsync([])));
        foreach (var c in mesh.Certificates)
        {
            await fx.Store.Changed.WaitAsync(() => fx.Store.Get(ResourceKind.Keystore, c), w => !CaCrt(w).Contains(tp), TimeSpan.FromSeconds(30), $"{c}'s ca.crt without the rotation's CA");
            Assert.Empty((await fx.Grains.GetGrain<IKeystoreGrain>(c.ToString()).GetStatusAsync())!.IssuerCas);
        }

        await fx.Store.Changed.WaitAsync(() => fx.Store.Get(ResourceKind.Truststore, issuers), w => Entries(w, TrustPassword).All(c => c.Thumbprint != tp), TimeSpan.FromSeconds(30), "Issuers truststore without the rotation's CA");
    }

    [Fact]
    public async Task A_change_to_a_third_CA_during_a_rotation_replaces_it_and_retires_both_earlier_CAs()
    {
        var mesh = await SetUpAsync(6, 1);
        var a = mesh.Ca;
        var b = fx.NewIntermediate("B " + mesh.Ns);
        var c = fx.NewIntermediate("C " + mesh.Ns);
        await ChangeCaAsync(mesh, b);
        var rotation = Rotation(mesh.IssuerKey);
        // Into the roll: some certificates already carry B.
        for (var i = 0; i < 200 && !(await Task.WhenAll(mesh.Certificates.Select(k => Cert(k).GetSnapshotAsync()))).Any(s => Policies.CaFingerprints.ChainHasAny(s.Material!.ChainPem, [Policies.CaFingerprints.Of(b.CertificatePem)!])); i++)
        {
            await FireAsync(rotation, CaRotationGrain.Reminder, fx.Time.GetUtcNow());
            await SettleAsync();
            await Task.WhenAll(mesh.Certificates.Select(k => FireAsync(Cert(k), "roll", fx.Time.GetUtcNow())));
            await SettleAsync();
            fx.Time.Advance(TimeSpan.FromSeconds(2));
        }

        // Persisted: a new activation (a restart, another silo) carries on from where it was.
        var before = (await rotation.GetStatusAsync())!;
        Assert.Equal("Reissuing", before.Phase);
        await rotation.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.Equal(before, await rotation.GetStatusAsync());
        Assert.True(await rotation.MaySignWithNewCaAsync());
        await ChangeCaAsync(mesh, c);
        var status = (await rotation.GetStatusAsync())!;
        Assert.Equal("TrustingNewCa", status.Phase);
        Assert.Equal(Policies.CaFingerprints.Of(c.CertificatePem), status.ToFingerprint);
        Assert.False(await rotation.MaySignWithNewCaAsync());
        await DriveAsync(mesh);

        var (tpA, tpB, tpC) = (Thumbprint(a), Thumbprint(b), Thumbprint(c));
        var subjectC = X509Certificate2.CreateFromPem(c.CertificatePem).Subject;
        foreach (var k in mesh.Certificates)
        {
            var ks = fx.Store.Get(ResourceKind.Keystore, k)!;
            Assert.Equal(subjectC, Entries(ks, KeyPassword).Single(x => x.HasPrivateKey).Issuer);
            Assert.DoesNotContain(tpA, CaCrt(ks));
            Assert.DoesNotContain(tpB, CaCrt(ks));
            Assert.Contains(tpC, CaCrt(ks));
            Assert.Null((await Cert(k).GetSnapshotAsync()).IssuerCas);
        }
    }

    private static async Task AssertHandshakesAsync(Mesh mesh, Dictionary<(ResourceKind Kind, ResourceKey Key), List<StoreVersion>> versions, DateTimeOffset end)
    {
        var dir = Directory.CreateTempSubdirectory("notary-carotation-").FullName;
        try
        {
            var files = new Dictionary<(ResourceKind, ResourceKey, int), string>();
            string File(ResourceKind kind, ResourceKey key, int index)
            {
                if (!files.TryGetValue((kind, key, index), out var path))
                {
                    path = Path.Combine(dir, $"{key.Name}-{kind}-{index}.p12");
                    var write = versions[(kind, key)][index].Write;
                    System.IO.File.WriteAllBytes(path, write.Files[write.PrimaryFileName]);
                    files[(kind, key, index)] = path;
                }

                return path;
            }

            var lines = new HashSet<string>(StringComparer.Ordinal);
            for (var c = 0; c < mesh.Certificates.Length; c++)
            {
                foreach (var s in mesh.Upstream(c))
                {
                    var (client, server) = (mesh.Certificates[c], mesh.Certificates[s]);
                    var ksS = versions[(ResourceKind.Keystore, server)];
                    var tsC = versions[(ResourceKind.Truststore, client)];
                    var ksC = versions[(ResourceKind.Keystore, client)];
                    var tsS = versions[(ResourceKind.Truststore, server)];
                    // Every pair of versions readable at one moment (two windows overlap iff the
                    // later start is inside both): server keystore against client truststore, and
                    // client keystore against server truststore. One handshake checks one pair of
                    // each direction (each side verifies the other on its own), so they are zipped.
                    var moments = ksS.Concat(tsC).Concat(ksC).Concat(tsS).Select(v => v.At).Distinct().ToList();
                    var toServer = ReadableTogether(moments, ksS, tsC, end, Delay);
                    var toClient = ReadableTogether(moments, ksC, tsS, end, Delay);
                    for (var n = 0; n < Math.Max(toServer.Count, toClient.Count); n++)
                    {
                        var (ks, ts) = toServer[Math.Min(n, toServer.Count - 1)];
                        var (cks, sts) = toClient[Math.Min(n, toClient.Count - 1)];
                        lines.Add(string.Join('\t',
                            $"s{c}->s{s}:ks{ks}-ts{ts}-cks{cks}-sts{sts}",
                            File(ResourceKind.Keystore, server, ks), KeyPassword, File(ResourceKind.Truststore, server, sts), TrustPassword,
                            File(ResourceKind.Keystore, client, cks), KeyPassword, File(ResourceKind.Truststore, client, ts), TrustPassword, mesh.Fqdn(s)));
                    }
                }
            }

            await AssertJavaHandshakesAsync(lines, dir);
            Assert.True(lines.Count >= 150, $"only {lines.Count} handshakes");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
