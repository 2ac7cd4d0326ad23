using Notary.Grains.Abstractions;
using Notary.Grains.Policies;
using Notary.Pki;

namespace Notary.Grains.Tests;

/// <summary>
/// A <c>ca</c> Issuer's CA rotation with the real issuer and rotation grains (review findings M3,
/// H1, H2): a rotation that starts while a certificate issues, a certificate that leaves the
/// issuer mid-rotation, and the issuer deleted mid-rotation. The rotation's reminder is fired by
/// the test; its timer may step too (both are idempotent).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CaRotationIssuerTests(ClusterFixture fixture) : IDisposable
{
    private readonly List<CertificateAuthority> _cas = [];

    public void Dispose() => _cas.ForEach(c => c.Dispose());

    private static CertificateSpec Spec(string fqdn, string issuer, string duration = "720h") =>
        new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256, Duration = duration, IssuerRef = new IssuerRef(issuer, IssuerKinds.Issuer) };

    private static IssuerSpec Ca(string secretName) => new() { Ca = new CaIssuerSpec(secretName) };

    private static ResourceVersionInfo Origin(long generation) => new("uid-" + generation, generation);

    private IIssuerGrain Issuer(string key) => fixture.Grains.GetGrain<IIssuerGrain>(key);

    private ICertificateGrain Certificate(string ns, string name) => fixture.Grains.GetGrain<ICertificateGrain>(new ResourceKey(ns, name).ToString());

    /// <summary>A new CA in the Secret <c>ns/name</c>; returns its fingerprint.</summary>
    private string PutCa(string ns, string name, string cn)
    {
        var ca = CertificateAuthority.CreateRoot(cn, TimeSpan.FromDays(365), DateTimeOffset.UtcNow, new KeySpec(KeyAlgorithm.Ecdsa, 256));
        _cas.Add(ca);
        fixture.CaSecrets.Put(ns, name, ca.CertificatePem, ca.ExportPrivateKeyPem());
        return IssuerGrain.Describe(ca.CertificatePem).Fingerprint;
    }

    private Task StepAsync(string issuerKey) =>
        fixture.Grains.GetGrain<ICaRotationGrain>(issuerKey).AsReference<IRemindable>()
            .ReceiveReminder(CaRotationGrain.Reminder, new TickStatus(DateTime.UtcNow, TimeSpan.FromMinutes(1), DateTime.UtcNow));

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }

    private async Task<IReadOnlyList<string>> IssuerCasAsync(string ns, string name) =>
        CaFingerprints.Distinct((await Certificate(ns, name).GetSnapshotAsync()).IssuerCas);

    /// <summary>An issuer "team" with a CA and certificates <paramref name="names"/> issued by it; returns the old CA's fingerprint.</summary>
    private async Task<string> SetUpAsync(string ns, params string[] names)
    {
        var old = PutCa(ns, "ca", "old " + ns);
        Assert.True((await Issuer(IssuerKeys.Namespaced(ns, "team")).ApplyAsync(Ca("ca"), Origin(1))).Conditions.Single().Status == Conditions.True);
        foreach (var name in names)
        {
            var status = await Certificate(ns, name).ApplyAsync(Spec($"{name}.{ns}.svc", "team"), Origin(1));
            Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        }

        return old;
    }

    /// <summary>The issuer's Secret gets a new CA: its rotation starts and its first step makes every certificate trust both.</summary>
    private async Task<string> RotateAsync(string ns, string cn, params string[] names)
    {
        var key = IssuerKeys.Namespaced(ns, "team");
        var next = PutCa(ns, "ca", cn);
        await Issuer(key).OnCaSecretChangedAsync();
        await UntilAsync(async () => (await Issuer(key).GetStatusAsync())?.Rotation?.ToFingerprint == next, "the rotation to start");
        await StepAsync(key);
        foreach (var name in names)
        {
            await UntilAsync(async () => (await IssuerCasAsync(ns, name)).Contains(next), $"{name} to trust the new CA");
        }

        return next;
    }

    [Fact]
    public async Task A_rotation_that_starts_while_a_certificate_of_the_issuer_is_issuing_completes_without_a_call_cycle()
    {
        var ns = ClusterFixture.NewNamespace();
        var key = IssuerKeys.Namespaced(ns, "team");
        await SetUpAsync(ns, "api");
        var next = PutCa(ns, "ca", "new " + ns);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fixture.CaSecrets.HoldReads(ns, async () =>
        {
            entered.TrySetResult();
            await release.Task;
        });

        // The issuer reads its new Secret (held), and the certificate issues meanwhile: its call
        // to the issuer queues behind the load, which starts the rotation.
        await Issuer(key).OnCaSecretChangedAsync();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var apply = Certificate(ns, "api").ApplyAsync(Spec($"api.{ns}.svc", "team", duration: "480h"), Origin(2));
        // Not observable from outside: give the certificate's call time to reach the issuer's queue.
        await Task.Delay(TimeSpan.FromSeconds(1));
        fixture.CaSecrets.HoldReads(ns, null);
        release.SetResult();

        // Before the fix the issuer's load awaited the rotation's first step, which awaited the
        // certificate, which awaited the issuer: a cycle broken only by the 30 s timeout.
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await apply.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"the issuance took {stopwatch.Elapsed}");
        var status = await Issuer(key).GetStatusAsync();
        Assert.Equal(Conditions.True, status!.Conditions.Single(c => c.Type == Conditions.Ready).Status);
        Assert.Equal(next, status.Rotation?.ToFingerprint);
        await UntilAsync(async () => (await IssuerCasAsync(ns, "api")).Contains(next), "the certificate to trust the new CA");
    }

    [Fact]
    public async Task A_certificate_that_leaves_the_issuer_mid_rotation_is_done_for_it_loses_its_CAs_and_is_never_reissued_by_it()
    {
        var ns = ClusterFixture.NewNamespace();
        var key = IssuerKeys.Namespaced(ns, "team");
        await SetUpAsync(ns, "a", "b");
        PutCa(ns, "other-ca", "other " + ns);
        Assert.Equal(Conditions.True, (await Issuer(IssuerKeys.Namespaced(ns, "other")).ApplyAsync(Ca("other-ca"), Origin(1))).Conditions.Single().Status);
        var next = await RotateAsync(ns, "new " + ns, "a", "b");

        // a now names another issuer: the rotation lets go of it and takes its CAs out of it.
        var moved = Spec($"a.{ns}.svc", "other");
        Assert.True((await Certificate(ns, "a").ApplyAsync(moved, Origin(2))).IsReady);
        await UntilAsync(async () => (await IssuerCasAsync(ns, "a")).Count == 0, "a to lose the rotation's CAs");
        await StepAsync(key);
        Assert.Equal(1, (await Issuer(key).GetStatusAsync())!.Rotation!.Total);
        Assert.Contains(next, await IssuerCasAsync(ns, "b"));

        // A late re-issue request of the rotation is refused: a is its new issuer's.
        var revision = (await Certificate(ns, "a").GetSnapshotAsync()).Revision;
        await Certificate(ns, "a").ReissueFromCaAsync(next, key);
        await Certificate(ns, "a").ApplyAsync(moved, Origin(2));
        Assert.Equal(revision, (await Certificate(ns, "a").GetSnapshotAsync()).Revision);
    }

    [Fact]
    public async Task An_issuer_deleted_mid_rotation_pauses_it_keeping_the_CAs_trusted_and_recreated_with_another_CA_rotates_trust_first()
    {
        var ns = ClusterFixture.NewNamespace();
        var key = IssuerKeys.Namespaced(ns, "team");
        var old = await SetUpAsync(ns, "a");
        var next = await RotateAsync(ns, "new " + ns, "a");

        // Deleted: the rotation pauses, a's stores go on trusting the old and the new CA.
        await Issuer(key).DeleteAsync();
        await StepAsync(key);
        Assert.NotNull(await fixture.Grains.GetGrain<ICaRotationGrain>(key).GetStatusAsync());
        var held = await IssuerCasAsync(ns, "a");
        Assert.Contains(old, held);
        Assert.Contains(next, held);

        // Re-created with a third CA: a rotation to it starts, trust first (every earlier CA stays trusted).
        var third = PutCa(ns, "ca", "third " + ns);
        await Issuer(key).ApplyAsync(Ca("ca"), Origin(3));
        var rotation = (await Issuer(key).GetStatusAsync())!.Rotation;
        Assert.Equal(third, rotation?.ToFingerprint);
        Assert.Equal("TrustingNewCa", rotation!.Phase);
        await StepAsync(key);
        await UntilAsync(async () => (await IssuerCasAsync(ns, "a")).Contains(third), "a to trust the third CA");
        Assert.Contains(old, await IssuerCasAsync(ns, "a"));
        Assert.Contains(next, await IssuerCasAsync(ns, "a"));
    }
}
