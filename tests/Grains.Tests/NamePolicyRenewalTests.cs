using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Tests;

/// <summary>
/// The name policy decides every issuance, renewals included: a renewal the policies refuse is not
/// attempted (the issued certificate is not revoked and stays Ready), and a policy change that
/// allows it renews at once, woken by the policy grain.
/// </summary>
[Collection(LifecycleCollection.Name)]
[Trait("Category", "Slow")]
public sealed class NamePolicyRenewalTests(LifecycleClusterFixture fx)
{
    private ICertificateGrain CertGrain(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private ICertificatePolicyGrain Policies => fx.Grains.GetGrain<ICertificatePolicyGrain>(ICertificatePolicyGrain.ClusterKey);

    private Task FireAsync(ResourceKey key) =>
        CertGrain(key).AsReference<IRemindable>().ReceiveReminder("lifecycle", new TickStatus(fx.Time.GetUtcNow().UtcDateTime, TimeSpan.FromDays(7), fx.Time.GetUtcNow().UtcDateTime));

    private static CertificatePolicySpec Only(string ns, params string[] issuers) => new()
    {
        NamespaceSelector = new LabelSelector { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns } },
        Issuers = issuers,
    };

    [Fact]
    public async Task A_renewal_the_policy_refuses_is_not_attempted_and_a_policy_that_allows_it_renews_at_once()
    {
        var key = LifecycleTests.NewKey();
        var policy = "renewal-" + key.Namespace;
        var issued = await CertGrain(key).ApplyAsync(LifecycleTests.Cert($"svc.{key.Namespace}.svc", "2160h"), LifecycleTests.V(1));
        Assert.True(issued.IsReady);
        try
        {
            // From now on only the stepping issuer may issue here; the certificate came from builtin.
            await Policies.ApplyAsync(policy, Only(key.Namespace, "stepping"), new ResourceVersionInfo(policy, 1));
            fx.Time.SetUtcNow(issued.RenewalTime!.Value + TimeSpan.FromMinutes(1));
            await FireAsync(key);

            var refused = (await CertGrain(key).GetStatusAsync())!;
            Assert.Equal(issued.Revision, refused.Revision);
            Assert.Equal(issued.SerialNumber, refused.SerialNumber);
            Assert.True(refused.IsReady);
            // Said once: Issuing=False/PolicyDenied, one RenewalFailed alert and Warning Event with the policy's words.
            var issuing = refused.Condition(Conditions.Issuing)!;
            Assert.Equal((Conditions.False, Reasons.PolicyDenied), (issuing.Status, issuing.Reason));
            Assert.Contains($"CertificatePolicy \"{policy}\"", issuing.Message, StringComparison.Ordinal);
            var alert = Assert.Single(fx.Alerts.For(key), a => a.Reason == Reasons.RenewalFailed);
            Assert.Equal(issuing.Message, alert.Message);
            Assert.Single(fx.Events.For(key), e => e.Reason == Reasons.RenewalFailed && e.Severity == EventSeverity.Warning && e.Message == issuing.Message);
            fx.Time.Advance(TimeSpan.FromHours(1));
            await FireAsync(key);
            Assert.Single(fx.Alerts.For(key), a => a.Reason == Reasons.RenewalFailed);
            Assert.Single(fx.Events.For(key), e => e.Reason == Reasons.RenewalFailed);

            await Policies.ApplyAsync(policy, Only(key.Namespace, "stepping", "builtin"), new ResourceVersionInfo(policy, 2));
            var renewed = await fx.Status.WaitCertificateAsync(key, s => s.Revision == issued.Revision + 1, "renewed once the policy allowed it");
            Assert.NotEqual(issued.SerialNumber, renewed.SerialNumber);
            Assert.True(renewed.IsReady);
            Assert.Null(renewed.Condition(Conditions.Issuing));
        }
        finally
        {
            await Policies.DeleteAsync(policy);
        }
    }
}
