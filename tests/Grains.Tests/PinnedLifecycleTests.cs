using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>
/// Promises of the README's "Renewal and alerts" that the other lifecycle tests reach without
/// holding: each test here fails under a specific wrong change of the grain or its policy
/// (TESTING.md lists the change each one was seen to catch). The values are the README's,
/// written as literals, not read from the code under test.
/// </summary>
[Collection(LifecycleCollection.Name)]
[Trait("Category", "Slow")]
public sealed class PinnedLifecycleTests(LifecycleClusterFixture fx)
{
    private ICertificateGrain CertGrain(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    private Task FireAsync(ResourceKey key) =>
        CertGrain(key).AsReference<IRemindable>().ReceiveReminder("lifecycle", new TickStatus(fx.Time.GetUtcNow().UtcDateTime, TimeSpan.FromDays(7), fx.Time.GetUtcNow().UtcDateTime));

    private async Task<ReminderEntry> LifecycleReminderAsync(ResourceKey key)
    {
        var table = fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var grainId = ((GrainReference)CertGrain(key)).GrainId;
        return Assert.Single((await table.ReadRows(grainId)).Reminders, r => r.ReminderName == "lifecycle");
    }

    private List<Alert> Expiring(ResourceKey key) => [.. fx.Alerts.For(key).Where(a => a.Reason == Reasons.ExpiringSoon)];

    [Fact]
    public async Task A_grain_that_wakes_two_days_before_expiry_alerts_once_for_the_tightest_threshold_passed_seven_days()
    {
        var key = LifecycleTests.NewKey();
        // Renewal 12 hours before expiry, so no renewal interferes with the thresholds.
        var issued = await CertGrain(key).ApplyAsync(LifecycleTests.Cert($"svc.{key.Namespace}.svc", "2160h", "12h"), LifecycleTests.V(1));
        var notAfter = issued.NotAfter!.Value;

        // The grain slept through the 30-day and the 7-day thresholds: one alert, for 7 days.
        fx.Time.SetUtcNow(notAfter - TimeSpan.FromDays(2));
        await FireAsync(key);
        var alert = Assert.Single(Expiring(key));
        Assert.Contains("(within 7 days)", alert.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("30 days", alert.Message, StringComparison.Ordinal);

        // The 30-day threshold counts as sent: a later wake-up before the 1-day one sends nothing.
        fx.Time.Advance(TimeSpan.FromHours(6));
        await FireAsync(key);
        Assert.Single(Expiring(key));

        // The 1-day threshold still alerts, once.
        fx.Time.SetUtcNow(notAfter - TimeSpan.FromHours(20));
        await FireAsync(key);
        Assert.Equal(["(within 7 days)", "(within 1 day)"], Expiring(key).Select(a => a.Message[a.Message.IndexOf("(within", StringComparison.Ordinal)..(a.Message.IndexOf(')', StringComparison.Ordinal) + 1)]));
    }

    [Fact]
    public async Task A_failing_renewal_is_retried_after_1_minute_doubling_up_to_an_hour()
    {
        var key = LifecycleTests.NewKey();
        var issued = await CertGrain(key).ApplyAsync(LifecycleTests.Cert($"svc.{key.Namespace}.svc", "2160h"), LifecycleTests.V(1));
        fx.Issuer.FailFor(key);
        try
        {
            fx.Time.SetUtcNow(issued.RenewalTime!.Value + TimeSpan.FromSeconds(1));
            await FireAsync(key);

            // The delay between a failure and the next attempt it announces, failure after failure.
            var expected = new[] { 1, 2, 4, 8, 16, 32, 60, 60, 60 }.Select(m => TimeSpan.FromMinutes(m)).ToList();
            var gaps = new List<TimeSpan>();
            for (var failure = 1; failure <= expected.Count; failure++)
            {
                var failures = fx.Alerts.For(key).Where(a => a.Reason == Reasons.RenewalFailed).ToList();
                Assert.Equal(failure, failures.Count);
                var last = failures[^1];
                Assert.StartsWith($"Renewal attempt {failure} failed", last.Message, StringComparison.Ordinal);
                var next = NextAttempt(last.Message);
                gaps.Add(next - last.At);
                if (failure == expected.Count)
                {
                    break;
                }

                // Not a moment before the announced time...
                fx.Time.SetUtcNow(next - TimeSpan.FromSeconds(1));
                await FireAsync(key);
                Assert.Equal(failure, fx.Alerts.For(key).Count(a => a.Reason == Reasons.RenewalFailed));

                // ...and at it.
                fx.Time.SetUtcNow(next);
                await FireAsync(key);
            }

            Assert.Equal(expected, gaps);
            Assert.True((await CertGrain(key).GetStatusAsync())!.IsReady, "the current certificate stays in use while renewals fail");
        }
        finally
        {
            fx.Issuer.Recover(key);
        }

        static DateTimeOffset NextAttempt(string message)
        {
            const string marker = "next attempt at ";
            var at = message[(message.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..].TrimEnd('.');
            return DateTimeOffset.Parse(at, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
        }
    }

    [Fact]
    public async Task The_lifecycle_reminder_is_next_due_no_further_than_7_days_ahead_and_at_the_renewal_time_when_sooner()
    {
        var key = LifecycleTests.NewKey();
        var spec = LifecycleTests.Cert($"svc.{key.Namespace}.svc", "8760h");
        var origin = LifecycleTests.V(1);
        var issued = await CertGrain(key).ApplyAsync(spec, origin);
        var issuedAt = fx.Time.GetUtcNow();
        var renewalTime = issued.RenewalTime!.Value;
        Assert.True(renewalTime - issuedAt > TimeSpan.FromDays(200));

        // Renewal is months away: the reminder is due in 7 days, not then.
        var entry = await LifecycleReminderAsync(key);
        Assert.Equal((issuedAt + TimeSpan.FromDays(7)).UtcDateTime, entry.StartAt);

        // Each 7-day wake-up registers the next piece, 7 days on.
        fx.Time.SetUtcNow(issuedAt + TimeSpan.FromDays(7));
        await FireAsync(key);
        entry = await LifecycleReminderAsync(key);
        Assert.Equal((issuedAt + TimeSpan.FromDays(14)).UtcDateTime, entry.StartAt);

        // Two days before the renewal time, the reminder is due at the renewal time itself.
        var wake = renewalTime - TimeSpan.FromDays(2);
        fx.Time.SetUtcNow(wake);
        await FireAsync(key);
        entry = await LifecycleReminderAsync(key);
        Assert.Equal(renewalTime.UtcDateTime, entry.StartAt);
        Assert.Equal(1, (await CertGrain(key).GetStatusAsync())!.Revision);
    }

    [Fact]
    public async Task A_store_the_secret_store_refuses_such_as_one_over_1_MiB_is_Ready_False_and_never_retried()
    {
        var key = LifecycleTests.NewKey();
        fx.Metadata.Set(key.Namespace, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        await CertGrain(key).ApplyAsync(LifecycleTests.Cert($"{key.Name}.{key.Namespace}.svc", "2160h"), LifecycleTests.V(1));
        // What the Kubernetes store throws when the API server refuses a Secret over 1 MiB (422/413).
        const string refusal = "Writing Secret x/svc: Secret \"svc\" is invalid: data: Too long: must have at most 1048576 bytes";
        fx.Store.FailFor(key, new SecretStoreRejectedException(refusal));
        try
        {
            var keystore = fx.Grains.GetGrain<IKeystoreGrain>(key.ToString());
            var status = await keystore.ApplyAsync(new KeystoreSpec { Fqdn = $"{key.Name}.{key.Namespace}.svc", CertName = key.Name }, LifecycleTests.V(1));
            var ready = status.Condition(Conditions.Ready)!;
            Assert.Equal(Conditions.False, ready.Status);
            Assert.Equal(Reasons.StoreFailed, ready.Reason);
            Assert.Contains("at most 1048576 bytes", ready.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("retries", ready.Message, StringComparison.Ordinal);
            Assert.Single(fx.Store.AttemptsOf(key));

            // An hour of the fake clock in steps that would each be past a retry's delay: no
            // retry, no retry reminder.
            for (var step = 0; step < 12; step++)
            {
                fx.Time.Advance(TimeSpan.FromMinutes(5));
                await Task.Delay(50);
            }

            Assert.Single(fx.Store.AttemptsOf(key));
            var table = fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
            Assert.DoesNotContain((await table.ReadRows(((GrainReference)keystore).GrainId)).Reminders, r => r.ReminderName == "retry");
            Assert.Equal(Reasons.StoreFailed, (await keystore.GetStatusAsync())!.Condition(Conditions.Ready)!.Reason);
        }
        finally
        {
            fx.Store.Recover(key);
        }
    }
}
