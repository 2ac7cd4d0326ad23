using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>
/// Issuers that take time (ACM: request, wait for validation, export): the certificate grain
/// keeps the issuer's ticket, continues on its own, never starts a second issuance for the same
/// request, and lets the issuer retire what it no longer uses.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class SteppedIssuanceTests(ClusterFixture fx)
{
    private static ResourceVersionInfo V(long generation, string uid = "uid-1") => new(uid, generation);

    private static CertificateSpec Cert(string fqdn) => new() { Type = "Public", Fqdn = fqdn, Issuer = "stepping", KeyAlgorithm = "ECDSA", KeySize = 256 };

    private ICertificateGrain CertGrain(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private IEnumerable<IssueRequest> CallsFor(ResourceKey key) => fx.Stepping.Calls.Where(c => c.Resource == key);

    [Fact]
    public async Task A_stepped_issuance_finishes_in_one_apply_when_each_step_says_continue()
    {
        var key = new ResourceKey(ClusterFixture.NewPublicNamespace(), "api");
        var status = await CertGrain(key).ApplyAsync(Cert($"api.{key.Namespace}.svc"), V(1));

        Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        Assert.Null(status.Condition(Conditions.Issuing));
        var calls = CallsFor(key).ToList();
        Assert.Equal(2, calls.Count);
        Assert.Null(calls[0].Ticket);
        Assert.Equal(calls[1].Ticket, status.Arn);
        Assert.All(calls, c => Assert.Equal(IssuePurpose.Issue, c.Purpose));
        Assert.Empty(status.ValidationRecords);
    }

    [Fact]
    public async Task Pending_validation_shows_the_records_and_becomes_ready_on_its_own_with_one_ticket()
    {
        var key = new ResourceKey(ClusterFixture.NewPublicNamespace(), "web");
        var fqdn = $"web.{key.Namespace}.example.com";
        var stepping = new SteppingIssuerScope(fx.Stepping);
        fx.Stepping.Validated = false;
        fx.Stepping.RetryAfter = TimeSpan.FromMilliseconds(200);
        CertificateStatus status;
        try
        {
            status = await CertGrain(key).ApplyAsync(Cert(fqdn), V(1));
            Assert.False(status.IsReady);
            Assert.Equal(Reasons.PendingValidation, status.Condition(Conditions.Ready)?.Reason);
            Assert.Equal(Conditions.True, status.Condition(Conditions.Issuing)?.Status);
            var record = Assert.Single(status.ValidationRecords);
            Assert.Equal("CNAME", record.Type);
            Assert.Contains(fqdn, record.Name, StringComparison.Ordinal);
            Assert.Contains(fx.Events.For(key), e => e.Reason == Reasons.PendingValidation);

            // A resync while pending continues the same issuance instead of starting another.
            await CertGrain(key).ApplyAsync(Cert(fqdn), V(1));
            fx.Stepping.Validated = true;
        }
        finally
        {
            stepping.Dispose();
        }

        status = await fx.Status.WaitCertificateAsync(key, s => s.IsReady, "Ready after validation");
        Assert.Empty(status.ValidationRecords);
        Assert.Equal(Reasons.Issued, status.Condition(Conditions.Ready)?.Reason);
        var tickets = CallsFor(key).Select(c => c.Ticket).Where(t => t is not null).Distinct().ToList();
        Assert.Single(tickets);
        Assert.Single(CallsFor(key), c => c.Ticket is null);
        Assert.Equal(tickets[0], status.Arn);
    }

    [Fact]
    public async Task A_deactivated_grain_continues_the_pending_issuance_it_persisted()
    {
        var key = new ResourceKey(ClusterFixture.NewPublicNamespace(), "pay");
        var fqdn = $"pay.{key.Namespace}.example.com";
        using (new SteppingIssuerScope(fx.Stepping))
        {
            fx.Stepping.Validated = false;
            fx.Stepping.RetryAfter = TimeSpan.FromHours(1);
            var pending = await CertGrain(key).ApplyAsync(Cert(fqdn), V(1));
            Assert.Equal(Reasons.PendingValidation, pending.Condition(Conditions.Ready)?.Reason);
            await fx.Cluster.DeactivateAsync(CertGrain(key));
            fx.Stepping.Validated = true;
        }

        // The watcher's resync of the same generation continues the persisted issuance.
        var status = await CertGrain(key).ApplyAsync(Cert(fqdn), V(1));
        Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        Assert.Single(CallsFor(key), c => c.Ticket is null);
    }

    [Fact]
    public async Task A_spec_change_while_pending_retires_the_started_issuance_and_starts_anew()
    {
        var key = new ResourceKey(ClusterFixture.NewPublicNamespace(), "api");
        string firstTicket;
        using (new SteppingIssuerScope(fx.Stepping))
        {
            fx.Stepping.Validated = false;
            fx.Stepping.RetryAfter = TimeSpan.FromHours(1);
            await CertGrain(key).ApplyAsync(Cert($"api.{key.Namespace}.example.com"), V(1));
            firstTicket = CallsFor(key).Last().Ticket!;
            fx.Stepping.Validated = true;
        }

        var status = await CertGrain(key).ApplyAsync(Cert($"api2.{key.Namespace}.example.com"), V(2));

        Assert.True(status.IsReady, status.Condition(Conditions.Ready)?.Message);
        Assert.NotEqual(firstTicket, status.Arn);
        Assert.Contains((firstTicket, RetireReason.Replaced), fx.Stepping.Retired);
    }

    [Fact]
    public async Task Reissue_and_rotation_retire_the_replaced_certificate_and_delete_retires_the_current_one()
    {
        var key = new ResourceKey(ClusterFixture.NewPublicNamespace(), "api");
        var first = await CertGrain(key).ApplyAsync(Cert($"api.{key.Namespace}.example.com"), V(1));
        var second = await CertGrain(key).ApplyAsync(Cert($"api2.{key.Namespace}.example.com"), V(2));
        // Make-before-break: the replaced certificate stays trusted (and at the issuer) until its
        // overlap ends; only then is it retired.
        Assert.DoesNotContain(fx.Stepping.Retired, r => r.Arn == first.Arn);
        Assert.Equal(first.SerialNumber, second.PreviousSerialNumber);

        var rotated = await CertGrain(key).ReissueAsync("a breach was reported");
        Assert.Equal(3, rotated.Revision);
        Assert.Contains((second.Arn!, RetireReason.Compromised), fx.Stepping.Retired);
        // A rotate ends every overlap at once: the previous certificate goes too.
        Assert.Contains((first.Arn!, RetireReason.Compromised), fx.Stepping.Retired);
        Assert.Null(rotated.PreviousSerialNumber);
        Assert.Contains(CallsFor(key), c => c.Purpose == IssuePurpose.Rotate && c.CurrentArn == second.Arn);

        await CertGrain(key).DeleteAsync();
        Assert.Contains((rotated.Arn!, RetireReason.Deleted), fx.Stepping.Retired);
    }

    [Fact]
    public async Task A_transient_failure_is_retried_on_a_timer_without_another_apply()
    {
        var key = new ResourceKey(ClusterFixture.NewPublicNamespace(), "flaky");
        var spec = new CertificateSpec { Type = "Private", Fqdn = $"flaky.{key.Namespace}.svc", KeyAlgorithm = "ECDSA", KeySize = 256 };
        fx.Issuer.FailFor(key);
        var failed = await CertGrain(key).ApplyAsync(spec, V(1));
        Assert.Equal(Reasons.IssueFailed, failed.Condition(Conditions.Ready)?.Reason);

        fx.Issuer.Recover(key);
        var status = await fx.Status.WaitCertificateAsync(key, s => s.IsReady, "Ready after the issuer recovered");
        Assert.Equal(1, status.Revision);
    }

    /// <summary>Serialises tests that change the shared stepping issuer's behaviour, and restores it.</summary>
    private sealed class SteppingIssuerScope : IDisposable
    {
        private static readonly SemaphoreSlim Gate = new(1, 1);
        private readonly SteppingIssuer _issuer;

        public SteppingIssuerScope(SteppingIssuer issuer)
        {
            Gate.Wait();
            _issuer = issuer;
        }

        public void Dispose()
        {
            _issuer.Validated = true;
            _issuer.RetryAfter = TimeSpan.Zero;
            Gate.Release();
        }
    }
}
