using Xunit.Abstractions;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Tests;

/// <summary>
/// Retiring through the issuer that issued a certificate (review M2): after an issuerRef change
/// the old certificate goes to its own issuer (account), and a compromised certificate whose
/// revocation fails (AWS unreachable, issuer not Ready) is retried until it succeeds, with a
/// Warning Event, never dropped.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IssuerRetireTests(ClusterFixture fixture)
{
    private static CertificateSpec Cert(string fqdn, IssuerRef issuerRef) =>
        new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256, IssuerRef = issuerRef };

    private static ResourceVersionInfo Origin(long generation = 1) => new("uid-" + generation, generation);

    private async Task<(string Key, IIssuerGrain Grain, IssuerSpec Spec, string PrivateCaArn)> AcmIssuerAsync(string ns, string name)
    {
        var arn = $"arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/{ns}-{name}";
        var spec = new IssuerSpec { Acm = new AcmIssuerSpec { Region = "eu-west-1", PrivateCaArn = arn } };
        fixture.Acm.Answer(arn, new AcmIssuerCheck(new IssuerReadiness(true, "Ready", "Private CA is ACTIVE."), fixture.Authority.Authority.CertificatePem));
        var key = IssuerKeys.Namespaced(ns, name);
        var grain = fixture.Grains.GetGrain<IIssuerGrain>(key);
        Assert.Equal(IssuerGrain.ReadyReason, (await grain.ApplyAsync(spec, Origin())).Conditions.Single().Reason);
        return (key, grain, spec, arn);
    }

    private Task TickRetireAsync(ResourceKey resource, TimeSpan later) =>
        fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString()).AsReference<IRemindable>().ReceiveReminder(
            CertificateGrain.RetireReminder, new TickStatus(DateTime.UtcNow, TimeSpan.FromMinutes(1), DateTime.UtcNow + later));

    [Fact]
    public async Task After_an_issuerRef_change_the_old_certificate_is_retired_through_the_issuer_that_issued_it()
    {
        var ns = ClusterFixture.NewNamespace();
        var pca = await AcmIssuerAsync(ns, "pca");
        await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "team")).ApplyAsync(new IssuerSpec { Builtin = true }, Origin());

        var resource = new ResourceKey(ns, "api");
        var grain = fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString());
        var first = await grain.ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("pca", IssuerKinds.Issuer)), Origin());
        Assert.StartsWith("arn:aws:acm-pca:", first.Arn, StringComparison.Ordinal);

        // The spec now names the built-in team issuer; then the key leaks: every older
        // certificate is revoked, the ACM one through the ACM issuer (its account), not the team's.
        Assert.Equal(2, (await grain.ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("team", IssuerKinds.Issuer)), Origin(2))).Revision);
        await grain.ReissueAsync("the key leaked");
        Assert.Contains(fixture.Acm.Retired, r => r.Name == pca.Key && r.Arn == first.Arn);
    }

    [Fact]
    public async Task A_compromised_certificate_whose_revocation_fails_is_retried_with_a_Warning_until_it_is_revoked()
    {
        var ns = ClusterFixture.NewNamespace();
        var pca = await AcmIssuerAsync(ns, "pca");
        var resource = new ResourceKey(ns, "db");
        var grain = fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString());
        var leaked = (await grain.ApplyAsync(Cert($"db.{ns}.svc", new IssuerRef("pca", IssuerKinds.Issuer)), Origin())).Arn!;

        // AWS unreachable while the leaked certificate is rotated out: a Warning, and a retry.
        fixture.Acm.RetireFails = true;
        try
        {
            Assert.Equal(2, (await grain.ReissueAsync("the key leaked")).Revision);
        }
        finally
        {
            fixture.Acm.RetireFails = false;
        }

        var warning = Assert.Single(fixture.Events.For(resource), e => e.Reason == CertificateGrain.RevocationFailedReason);
        Assert.Equal(EventSeverity.Warning, warning.Severity);
        Assert.Contains(leaked, warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("unreachable", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Acm.Retired, r => r.Arn == leaked);

        // The issuer is not Ready at the next attempt: the revocation is not dropped (the issuer
        // used to skip a retire it could not make, at Debug).
        fixture.Acm.Answer(pca.PrivateCaArn, new AcmIssuerCheck(new IssuerReadiness(false, "AccessDenied", "the role cannot be assumed."), null));
        await pca.Grain.ApplyAsync(pca.Spec, Origin(2));
        await TickRetireAsync(resource, TimeSpan.FromMinutes(2));
        Assert.DoesNotContain(fixture.Acm.Retired, r => r.Arn == leaked);

        // Ready again: the next due attempt (backoff: 2 minutes after the second failure) revokes it.
        fixture.Acm.Answer(pca.PrivateCaArn, new AcmIssuerCheck(new IssuerReadiness(true, "Ready", "Private CA is ACTIVE."), fixture.Authority.Authority.CertificatePem));
        await pca.Grain.ApplyAsync(pca.Spec, Origin(3));
        await TickRetireAsync(resource, TimeSpan.FromMinutes(3));
        Assert.DoesNotContain(fixture.Acm.Retired, r => r.Arn == leaked);
        await TickRetireAsync(resource, TimeSpan.FromMinutes(5));
        Assert.Contains(fixture.Acm.Retired, r => r == (pca.Key, leaked, RetireReason.Compromised));
        Assert.Contains(fixture.Events.For(resource), e => e.Reason == "Revoked" && e.Severity == EventSeverity.Normal);

        // Done: a later tick retires nothing more.
        var count = fixture.Acm.Retired.Count;
        await TickRetireAsync(resource, TimeSpan.FromMinutes(60));
        Assert.Equal(count, fixture.Acm.Retired.Count);
    }
}

/// <summary>Wake-ups of the certificates that wait for an issuer (review L1): kept until they are issued.</summary>
[Collection(ClusterCollection.Name)]
public sealed class IssuerWakeUpTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_lost_wake_up_is_sent_again_at_the_issuers_next_load_because_waiters_stay_listed_until_issued()
    {
        var ns = ClusterFixture.NewNamespace();
        var issuer = fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "late"));
        var resource = new ResourceKey(ns, "api");
        var spec = new CertificateSpec { Type = "Private", Fqdn = $"api.{ns}.svc", KeyAlgorithm = "ECDSA", KeySize = 256, IssuerRef = new IssuerRef("late", IssuerKinds.Issuer) };
        var waiting = await fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString()).ApplyAsync(spec, new ResourceVersionInfo("uid-1", 1));
        Assert.Equal(Reasons.IssuerNotReady, waiting.Condition(Conditions.Ready)!.Reason);

        // The issuer appears, and its wake-up of the certificate is lost (as if the silo died
        // between the issuer's save and its one-way call).
        fixture.Faults.FailNext("ICertificateGrain.OnIssuerChangedAsync");
        await issuer.ApplyAsync(new IssuerSpec { Builtin = true }, new ResourceVersionInfo("uid-1", 1));
        Assert.False((await fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString()).GetStatusAsync())!.IsReady);

        // The watcher's resync applies the Issuer again: the certificate is still listed, woken, issued.
        await issuer.ApplyAsync(new IssuerSpec { Builtin = true }, new ResourceVersionInfo("uid-1", 1));
        await fixture.Status.WaitCertificateAsync(resource, s => s.IsReady, "issued after the issuer's next load");
    }
}

/// <summary>
/// An Issuer shared by many certificates only signs (review M3): the leaf key pair is generated
/// by each certificate grain, so RSA-4096 issuances through one Issuer do not queue for seconds each.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IssuerSigningTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Many_concurrent_RSA_4096_issuances_through_one_Issuer_complete_and_the_issuer_only_signs()
    {
        var ns = ClusterFixture.NewNamespace();
        var arn = $"arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/{ns}-shared";
        fixture.Acm.Answer(arn, new AcmIssuerCheck(new IssuerReadiness(true, "Ready", "Private CA is ACTIVE."), fixture.Authority.Authority.CertificatePem));
        await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "shared")).ApplyAsync(
            new IssuerSpec { Acm = new AcmIssuerSpec { Region = "eu-west-1", PrivateCaArn = arn } }, new ResourceVersionInfo("uid-1", 1));

        const int count = 6;
        var resources = Enumerable.Range(0, count).Select(i => new ResourceKey(ns, $"svc{i}")).ToList();
        var statuses = await Task.WhenAll(resources.Select(r => fixture.Grains.GetGrain<ICertificateGrain>(r.ToString()).ApplyAsync(
            new CertificateSpec { Type = "Private", Fqdn = $"{r.Name}.{ns}.svc", KeyAlgorithm = "RSA", KeySize = 4096, IssuerRef = new IssuerRef("shared", IssuerKinds.Issuer) },
            new ResourceVersionInfo("uid-1", 1))));
        Assert.All(statuses, s => Assert.True(s.IsReady, s.Condition(Conditions.Ready)?.Message));

        // Every request reached the issuer with its key pair already generated, and the leaf
        // carries exactly that key.
        var requests = fixture.Acm.Requests.Where(r => r.Resource.Namespace == ns).ToList();
        Assert.Equal(count, requests.Count);
        Assert.All(requests, r => Assert.NotNull(r.PrivateKeyPem));
        var first = await fixture.Grains.GetGrain<ICertificateGrain>(resources[0].ToString()).GetIssuedMaterialAsync(1);
        Assert.Equal(requests.Single(r => r.Resource == resources[0]).PrivateKeyPem, first!.PrivateKeyPem);

        // The issuer's share, measured in this run: signing a given RSA-4096 key against
        // generating it too (the turn an Issuer grain used to take per certificate).
        var issuer = new Issuers.BuiltInIssuer(fixture.Authority, TimeProvider.System);
        var request = requests[0] with { Ticket = null };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 2; i++)
        {
            await issuer.IssueAsync(request, CancellationToken.None);
        }

        var signOnly = clock.Elapsed;
        clock.Restart();
        for (var i = 0; i < 2; i++)
        {
            await issuer.IssueAsync(request with { PrivateKeyPem = null }, CancellationToken.None);
        }

        var generateAndSign = clock.Elapsed;
        output.WriteLine($"2 RSA-4096 issuances: sign only {signOnly.TotalMilliseconds:F0} ms, generate and sign {generateAndSign.TotalMilliseconds:F0} ms (ratio {generateAndSign / signOnly:F1})");
        Assert.True(signOnly * 3 < generateAndSign, $"sign only {signOnly}, generate and sign {generateAndSign}");
    }
}
