using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Notary.CustomResources;
using Notary.Pki;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class CertificateAuthoritySourceTests(ClusterFixture cluster)
{
    /// <summary>Each test keeps its CA in a namespace of its own, as if it were Notary's.</summary>
    private KubernetesCertificateAuthoritySource Source(string ns, Action<NotaryKubernetesOptions>? change = null, TimeProvider? time = null) => new(
        cluster.Client, ClusterFixture.Options(o => { o.Namespace = ns; change?.Invoke(o); }), time ?? TimeProvider.System, ClusterFixture.Log<KubernetesCertificateAuthoritySource>());

    private static string NewNamespaceName() => "notary-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task The_first_start_creates_a_root_in_a_Secret_and_later_starts_load_it()
    {
        var ns = NewNamespaceName();
        using var first = Source(ns);

        var created = await first.GetAsync(CancellationToken.None);

        Assert.Same(created, await first.GetAsync(CancellationToken.None));
        var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        Assert.Equal("kubernetes.io/tls", secret.Type);
        Assert.Equal("notary", secret.Metadata.Labels["app.kubernetes.io/managed-by"]);
        Assert.Equal(created.CertificatePem, Encoding.ASCII.GetString(secret.Data["tls.crt"]));

        using var certificate = X509Certificate2.CreateFromPem(created.CertificatePem);
        Assert.Equal("CN=Notary Built-in Root CA", certificate.Subject);
        using var key = certificate.GetECDsaPublicKey();
        Assert.Equal(256, key!.KeySize);
        Assert.InRange(created.NotAfter - created.NotBefore, TimeSpan.FromDays(3649), TimeSpan.FromDays(3651));

        using var restarted = Source(ns);
        Assert.Equal(created.CertificatePem, (await restarted.GetAsync(CancellationToken.None)).CertificatePem);
    }

    [Fact]
    public async Task The_root_key_is_what_the_options_name()
    {
        using var source = Source(NewNamespaceName(), o => { o.CaKeyAlgorithm = "rsa"; o.CaKeySize = 3072; });

        var created = await source.GetAsync(CancellationToken.None);

        using var certificate = X509Certificate2.CreateFromPem(created.CertificatePem);
        Assert.Null(certificate.GetECDsaPublicKey());
        using var key = certificate.GetRSAPublicKey();
        Assert.Equal(3072, key!.KeySize);
    }

    [Fact]
    public async Task Instances_starting_together_agree_on_one_root()
    {
        var ns = NewNamespaceName();
        var sources = Enumerable.Range(0, 4).Select(_ => Source(ns)).ToList();
        try
        {
            var authorities = await Task.WhenAll(sources.Select(s => s.GetAsync(CancellationToken.None)));

            Assert.Single(authorities.Select(a => a.CertificatePem).Distinct());
            var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
            Assert.Equal(authorities[0].CertificatePem, Encoding.ASCII.GetString(secret.Data["tls.crt"]));
        }
        finally
        {
            sources.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task An_imported_CA_is_used_as_it_is()
    {
        var ns = await cluster.NamespaceAsync();
        using var imported = CertificateAuthority.CreateRoot("Example Corp Issuing CA", TimeSpan.FromDays(365), DateTimeOffset.UtcNow, new KeySpec(KeyAlgorithm.Rsa, 2048));
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-ca" },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]>
            {
                ["tls.crt"] = Encoding.ASCII.GetBytes(imported.CertificatePem),
                ["tls.key"] = Encoding.ASCII.GetBytes(imported.ExportPrivateKeyPem()),
            },
        }, ns);
        using var source = Source(ns);

        var authority = await source.GetAsync(CancellationToken.None);

        Assert.Equal(imported.CertificatePem, authority.CertificatePem);
        var leaf = authority.Issue(new LeafRequest("api.shop.svc.cluster.local", [], TimeSpan.FromDays(30), KeySpec.Default), DateTimeOffset.UtcNow);
        using var issued = X509Certificate2.CreateFromPem(leaf.CertificatePem);
        Assert.Equal("CN=Example Corp Issuing CA", issued.Issuer);
    }

    [Fact]
    public async Task An_unusable_Secret_is_reported_with_how_to_fix_it_and_left_alone()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-ca" },
            StringData = new Dictionary<string, string> { ["tls.crt"] = "not a certificate" },
        }, ns);
        using var source = Source(ns);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => source.GetAsync(CancellationToken.None));

        Assert.Contains($"Secret {ns}/notary-ca has no key tls.key", error.Message, StringComparison.Ordinal);
        Assert.Contains("create secret tls", error.Message, StringComparison.Ordinal);
        var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        Assert.Equal(["tls.crt"], secret.Data.Keys);
    }

    [Fact]
    public async Task A_key_that_does_not_match_the_certificate_is_refused()
    {
        var ns = await cluster.NamespaceAsync();
        using var one = CertificateAuthority.CreateRoot("One", TimeSpan.FromDays(30), DateTimeOffset.UtcNow, new KeySpec(KeyAlgorithm.Ecdsa, 256));
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-ca" },
            Data = new Dictionary<string, byte[]>
            {
                ["tls.crt"] = Encoding.ASCII.GetBytes(one.CertificatePem),
                ["tls.key"] = Encoding.ASCII.GetBytes(other.ExportPkcs8PrivateKeyPem()),
            },
        }, ns);
        using var source = Source(ns);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => source.GetAsync(CancellationToken.None));

        Assert.Contains("does not hold a usable CA", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_namespace_is_created_when_missing()
    {
        var ns = NewNamespaceName();
        await Assert.ThrowsAsync<HttpOperationException>(() => cluster.Client.CoreV1.ReadNamespaceAsync(ns));
        using var source = Source(ns);

        await source.GetAsync(CancellationToken.None);

        Assert.Equal(ns, (await cluster.Client.CoreV1.ReadNamespaceAsync(ns)).Metadata.Name);
    }

    [Fact]
    public async Task The_rotate_annotation_makes_exactly_one_new_root_with_two_concurrent_callers_and_the_Secret_keeps_the_previous()
    {
        var ns = NewNamespaceName();
        using var creator = Source(ns);
        var old = (await creator.GetAsync(CancellationToken.None)).CertificatePem;
        Assert.Empty(await creator.GetPreviousAsync(CancellationToken.None));
        using var one = Source(ns);
        using var two = Source(ns);
        await Task.WhenAll(one.GetAsync(CancellationToken.None), two.GetAsync(CancellationToken.None));
        var rotateBefore = TimeSpan.FromDays(30);
        Assert.False(await one.RotateIfDueAsync(rotateBefore, CancellationToken.None));

        await Annotate(ns, "2026-12-05");
        var changed = await Task.WhenAll(one.RotateIfDueAsync(rotateBefore, CancellationToken.None), two.RotateIfDueAsync(rotateBefore, CancellationToken.None));

        Assert.Equal([true, true], changed);
        var now = new[] { (await one.GetAsync(CancellationToken.None)).CertificatePem, (await two.GetAsync(CancellationToken.None)).CertificatePem };
        Assert.Single(now.Distinct());
        Assert.NotEqual(old, now[0]);
        var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        Assert.Equal(now[0], Encoding.ASCII.GetString(secret.Data["tls.crt"]));
        Assert.Equal(old, Encoding.ASCII.GetString(secret.Data["previous.crt"]));
        Assert.Equal("2026-12-05", secret.Metadata.Annotations["notary.dev/rotated-ca"]);
        Assert.Equal([old], await one.GetPreviousAsync(CancellationToken.None));

        // The same annotation again rotates nothing; the instance that did not take part adopts the new root; a restart knows both.
        Assert.False(await one.RotateIfDueAsync(rotateBefore, CancellationToken.None));
        Assert.True(await creator.RotateIfDueAsync(rotateBefore, CancellationToken.None));
        Assert.Equal(now[0], (await creator.GetAsync(CancellationToken.None)).CertificatePem);
        using var restarted = Source(ns);
        Assert.Equal(now[0], (await restarted.GetAsync(CancellationToken.None)).CertificatePem);
        Assert.Equal([old], await restarted.GetPreviousAsync(CancellationToken.None));
        var after = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        Assert.Equal(secret.Metadata.ResourceVersion, after.Metadata.ResourceVersion);

        // The previous root WITH its key is found by fingerprint, by the rotating instance and
        // after a restart (previous.key): the built-in root's rotation signs with it in its first phase.
        Assert.Equal(old, (await one.FindAsync(Fingerprint(old), CancellationToken.None))?.CertificatePem);
        var previousRoot = await restarted.FindAsync(Fingerprint(old), CancellationToken.None);
        Assert.Equal(old, previousRoot?.CertificatePem);
        Assert.True(ChainsTo(previousRoot!.Issue(new LeafRequest("old.shop.svc", [], TimeSpan.FromDays(30), KeySpec.Default), DateTimeOffset.UtcNow).CertificatePem, old));
        Assert.Equal(now[0], (await restarted.FindAsync(Fingerprint(now[0]), CancellationToken.None))?.CertificatePem);
        Assert.Null(await restarted.FindAsync(new string('0', 64), CancellationToken.None));

        // The new root signs: a leaf from it chains to it, not to the previous root.
        var leaf = (await restarted.GetAsync(CancellationToken.None)).Issue(new LeafRequest("api.shop.svc", [], TimeSpan.FromDays(30), KeySpec.Default), DateTimeOffset.UtcNow);
        Assert.True(ChainsTo(leaf.CertificatePem, now[0]));
        Assert.False(ChainsTo(leaf.CertificatePem, old));
    }

    [Fact]
    public async Task A_root_within_the_threshold_of_its_end_is_rotated_once_by_two_concurrent_callers()
    {
        var ns = NewNamespaceName();
        using (var creator = Source(ns))
        {
            await creator.GetAsync(CancellationToken.None);
        }

        // Nine and a half years later: 182 days left, below a threshold of 365 days.
        var later = new FixedTime(DateTimeOffset.UtcNow + TimeSpan.FromDays(3468));
        using var one = Source(ns, time: later);
        using var two = Source(ns, time: later);
        var old = (await one.GetAsync(CancellationToken.None)).CertificatePem;
        var rotateBefore = TimeSpan.FromDays(365);

        var changed = await Task.WhenAll(one.RotateIfDueAsync(rotateBefore, CancellationToken.None), two.RotateIfDueAsync(rotateBefore, CancellationToken.None));

        Assert.Equal([true, true], changed);
        var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        var current = Encoding.ASCII.GetString(secret.Data["tls.crt"]);
        Assert.NotEqual(old, current);
        Assert.Equal(old, Encoding.ASCII.GetString(secret.Data["previous.crt"]));
        Assert.Equal(current, (await one.GetAsync(CancellationToken.None)).CertificatePem);
        Assert.Equal(current, (await two.GetAsync(CancellationToken.None)).CertificatePem);
        Assert.False(await one.RotateIfDueAsync(rotateBefore, CancellationToken.None));
        Assert.False(await two.RotateIfDueAsync(rotateBefore, CancellationToken.None));
        Assert.Equal(secret.Metadata.ResourceVersion, (await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns)).Metadata.ResourceVersion);
    }

    [Fact]
    public async Task An_imported_CA_is_never_rotated()
    {
        var ns = await cluster.NamespaceAsync();
        using var imported = CertificateAuthority.CreateRoot("Example Corp Issuing CA", TimeSpan.FromDays(20), DateTimeOffset.UtcNow, new KeySpec(KeyAlgorithm.Ecdsa, 256));
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-ca", Annotations = new Dictionary<string, string> { ["notary.dev/rotate-ca"] = "now" } },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]>
            {
                ["tls.crt"] = Encoding.ASCII.GetBytes(imported.CertificatePem),
                ["tls.key"] = Encoding.ASCII.GetBytes(imported.ExportPrivateKeyPem()),
            },
        }, ns);
        using var source = Source(ns);

        Assert.False(await source.RotateIfDueAsync(TimeSpan.FromDays(365), CancellationToken.None));

        var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        Assert.Equal(imported.CertificatePem, Encoding.ASCII.GetString(secret.Data["tls.crt"]));
        Assert.False(secret.Data.ContainsKey("previous.crt"));
    }

    [Fact]
    public async Task A_root_replaced_by_hand_is_adopted_and_the_root_in_use_stays_trusted_but_signs_nothing_more()
    {
        var ns = NewNamespaceName();
        using var source = Source(ns);
        var old = (await source.GetAsync(CancellationToken.None)).CertificatePem;
        using var replacement = await ReplaceByHandAsync(ns);

        Assert.True(await source.RotateIfDueAsync(TimeSpan.FromDays(30), CancellationToken.None));

        Assert.Equal(replacement.CertificatePem, (await source.GetAsync(CancellationToken.None)).CertificatePem);
        Assert.Equal([old], await source.GetPreviousAsync(CancellationToken.None));
        // Replacing by hand is how an operator answers a compromised root: its key is not kept as a
        // signer (the issuer then holds issuances until the new root is trusted, and a Breach
        // rotation is never signed by it).
        Assert.Null(await source.FindAsync(Fingerprint(old), CancellationToken.None));
        Assert.Equal(replacement.CertificatePem, (await source.FindAsync(Fingerprint(replacement.CertificatePem), CancellationToken.None))?.CertificatePem);
        Assert.False(await source.RotateIfDueAsync(TimeSpan.FromDays(30), CancellationToken.None));
    }

    [Fact]
    public async Task Replacing_by_hand_after_a_rotation_drops_every_replaced_roots_key()
    {
        var ns = NewNamespaceName();
        using var source = Source(ns);
        var first = (await source.GetAsync(CancellationToken.None)).CertificatePem;
        await Annotate(ns, "before-hand");
        Assert.True(await source.RotateIfDueAsync(TimeSpan.FromDays(30), CancellationToken.None));
        var second = (await source.GetAsync(CancellationToken.None)).CertificatePem;
        // Notary's own rotation: the first root signs on while the second is not trusted everywhere.
        Assert.Equal(first, (await source.FindAsync(Fingerprint(first), CancellationToken.None))?.CertificatePem);

        using var replacement = await ReplaceByHandAsync(ns, secret =>
        {
            secret.Data.Remove("previous.crt");
            secret.Data.Remove("previous.key");
        });

        await source.RefreshAsync(CancellationToken.None);

        Assert.Equal(replacement.CertificatePem, (await source.GetAsync(CancellationToken.None)).CertificatePem);
        Assert.Null(await source.FindAsync(Fingerprint(second), CancellationToken.None));
        Assert.Null(await source.FindAsync(Fingerprint(first), CancellationToken.None));
    }

    [Fact]
    public async Task A_previous_key_left_in_the_Secret_when_the_root_is_replaced_by_hand_signs_nothing_after_a_restart()
    {
        var ns = NewNamespaceName();
        using var source = Source(ns);
        var first = (await source.GetAsync(CancellationToken.None)).CertificatePem;
        await Annotate(ns, "before-hand-restart");
        Assert.True(await source.RotateIfDueAsync(TimeSpan.FromDays(30), CancellationToken.None));
        var second = (await source.GetAsync(CancellationToken.None)).CertificatePem;
        var rotated = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        Assert.Equal(Fingerprint(second), rotated.Metadata.Annotations["notary.dev/previous-key-for"]);
        using (var restartedBeforeHand = Source(ns))
        {
            // Notary's own rotation: a restarted instance signs with the first root in phase 1.
            Assert.Equal(first, (await restartedBeforeHand.FindAsync(Fingerprint(first), CancellationToken.None))?.CertificatePem);
        }

        // The second root is compromised: replaced by hand, previous.crt and previous.key left as they were.
        using var replacement = await ReplaceByHandAsync(ns);

        using var restarted = Source(ns);
        Assert.Equal(replacement.CertificatePem, (await restarted.GetAsync(CancellationToken.None)).CertificatePem);
        Assert.Null(await restarted.FindAsync(Fingerprint(first), CancellationToken.None));
        Assert.Null(await restarted.FindAsync(Fingerprint(second), CancellationToken.None));
        // The first root stays trusted (public part only), as before the restart.
        Assert.Equal([first], await restarted.GetPreviousAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_root_replaced_by_hand_with_the_old_root_copied_into_previous_crt_signs_nothing_more_on_a_running_instance()
    {
        var ns = NewNamespaceName();
        using var source = Source(ns);
        var old = (await source.GetAsync(CancellationToken.None)).CertificatePem;
        // What an operator might do to keep the compromised root trusted across restarts: it looks
        // like Notary's own rotation (previous.crt is the root in use), without Notary's mark.
        using var replacement = await ReplaceByHandAsync(ns, secret => secret.Data["previous.crt"] = secret.Data["tls.crt"]);

        await source.RefreshAsync(CancellationToken.None);

        Assert.Equal(replacement.CertificatePem, (await source.GetAsync(CancellationToken.None)).CertificatePem);
        Assert.Null(await source.FindAsync(Fingerprint(old), CancellationToken.None));
        Assert.Contains(old, await source.GetPreviousAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Refresh_takes_the_root_another_instance_rotated_to_without_rotating()
    {
        var ns = NewNamespaceName();
        using var rotator = Source(ns);
        var old = (await rotator.GetAsync(CancellationToken.None)).CertificatePem;
        using var other = Source(ns);
        Assert.Equal(old, (await other.GetAsync(CancellationToken.None)).CertificatePem);
        await Annotate(ns, "refresh-1");
        Assert.True(await rotator.RotateIfDueAsync(TimeSpan.FromDays(30), CancellationToken.None));
        var next = (await rotator.GetAsync(CancellationToken.None)).CertificatePem;
        var version = (await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns)).Metadata.ResourceVersion;

        await other.RefreshAsync(CancellationToken.None);

        Assert.Equal(next, (await other.GetAsync(CancellationToken.None)).CertificatePem);
        Assert.Equal(old, (await other.FindAsync(Fingerprint(old), CancellationToken.None))?.CertificatePem);
        Assert.Equal(version, (await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns)).Metadata.ResourceVersion);
    }

    /// <summary>An operator's replacement of Secret notary-ca's root by hand (tls.crt, tls.key), after <paramref name="edit"/> ran on the Secret read; the new root.</summary>
    private async Task<CertificateAuthority> ReplaceByHandAsync(string ns, Action<V1Secret>? edit = null)
    {
        var replacement = CertificateAuthority.CreateRoot("Notary Built-in Root CA", TimeSpan.FromDays(3650), DateTimeOffset.UtcNow, new KeySpec(KeyAlgorithm.Ecdsa, 256));
        var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        edit?.Invoke(secret);
        secret.Data["tls.crt"] = Encoding.ASCII.GetBytes(replacement.CertificatePem);
        secret.Data["tls.key"] = Encoding.ASCII.GetBytes(replacement.ExportPrivateKeyPem());
        await cluster.Client.CoreV1.ReplaceNamespacedSecretAsync(secret, "notary-ca", ns);
        return replacement;
    }

    private static string Fingerprint(string pem)
    {
        using var certificate = X509Certificate2.CreateFromPem(pem);
        return certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }

    private async Task Annotate(string ns, string value)
    {
        var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        secret.Metadata.Annotations ??= new Dictionary<string, string>();
        secret.Metadata.Annotations["notary.dev/rotate-ca"] = value;
        await cluster.Client.CoreV1.ReplaceNamespacedSecretAsync(secret, "notary-ca", ns);
    }

    private static bool ChainsTo(string leafPem, string rootPem)
    {
        using var leaf = X509Certificate2.CreateFromPem(leafPem);
        using var root = X509Certificate2.CreateFromPem(rootPem);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
