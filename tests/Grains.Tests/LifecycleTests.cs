using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Issuers;
using Notary.Grains.Protection;
using Notary.Grains.Tests.Fakes;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Notary.Grains.Tests;

/// <summary>
/// A one-silo cluster whose clock is a FakeTimeProvider, for everything (Orleans' reminder
/// service included): the tests move time by months and watch reminders renew and alert.
/// Default Rotation options, unless a derived fixture says otherwise (<see cref="ConfigureRotation"/>).
/// </summary>
public class LifecycleClusterFixture : IAsyncLifetime
{
    // Starts at the real time: the built-in CA it issues from was made just now.
    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);
    public EphemeralDataKeySource DataKeys { get; } = new();
    public InMemorySecretStore Store { get; } = new();
    public RecordingStatusWriter Status { get; } = new();
    public RecordingEventRecorder Events { get; } = new();
    public InMemoryTrustSources TrustSources { get; } = new();
    public InMemoryMetadataSource Metadata { get; } = new();
    public InMemoryCertificateAuthoritySource Authority { get; } = new();
    public RecordingAlertSink Alerts { get; } = new();
    public RecordingMetrics Metrics { get; } = new();
    public FakeWorkloadRestarter Workloads { get; } = new();
    public CountingGrainStorage Storage { get; } = new();
    public FaultInjector Faults { get; } = new();
    public CountingIssuer Issuer { get; private set; } = null!;
    /// <summary>An issuer that works in steps like ACM, named "stepping" (spec.issuer).</summary>
    public SteppingIssuer Stepping { get; private set; } = null!;
    public CountingReminderTable Reminders { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        Issuer = new CountingIssuer(new BuiltInIssuer(Authority, Time));
        Stepping = new SteppingIssuer(new BuiltInIssuer(Authority, Time));
        Store.Clock = Time;
        var builder = new InProcessTestClusterBuilder(1).RetryingClientConnection();
        builder.ConfigureSilo((_, silo) => Reminders.Decorate(silo
            .AddMemoryGrainStorage(GrainStorage.Name, o => o.UseNotarySerializer())
            .UseInMemoryReminderService()
            .AddIncomingGrainCallFilter(Faults)
            .Services));
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddNotaryGrainPorts(new GrainPorts
            {
                Time = Time,
                Store = Store,
                Status = Status,
                Events = Events,
                Metadata = Metadata,
                TrustSources = TrustSources,
                Alerts = Alerts,
                Metrics = Metrics,
                Workloads = Workloads,
                Authority = Authority,
                Issuers = new IssuerResolver([Issuer, Stepping], BuiltInIssuer.DefaultName),
                DataKeys = DataKeys,
            });
            // The same memory storage, counted: registered after AddMemoryGrainStorage, so it wins.
            host.Services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, (sp, name) =>
            {
                Storage.Inner = MemoryGrainStorageFactory.Create(sp, (string)name!);
                return Storage;
            });
            host.Services.Configure<RotationOptions>(ConfigureRotation);
            host.Logging.SetMinimumLevel(LogLevel.Information);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>The cluster's Rotation options; the defaults here.</summary>
    protected virtual void ConfigureRotation(RotationOptions options)
    {
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Authority.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class LifecycleCollection : ICollectionFixture<LifecycleClusterFixture>
{
    public const string Name = "lifecycle";
}

/// <summary>Renewal and alerts on reminders, against a clock the tests move.</summary>
[Collection(LifecycleCollection.Name)]
[Trait("Category", "Slow")]
public sealed class LifecycleTests(LifecycleClusterFixture fx)
{
    internal static ResourceVersionInfo V(long generation) => new("uid-" + Guid.NewGuid().ToString("N")[..8], generation);

    internal static CertificateSpec Cert(string fqdn, string duration, string? renewBefore = null) =>
        new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256, Duration = duration, RenewBefore = renewBefore };

    private ICertificateGrain CertGrain(ResourceKey key) => fx.Grains.GetGrain<ICertificateGrain>(key.ToString());

    internal static ResourceKey NewKey() => new("l-" + Guid.NewGuid().ToString("N")[..10], "svc");

    /// <summary>What Orleans does when the lifecycle reminder fires (the clock is fake; Orleans' reminder timers are not).</summary>
    private Task FireAsync(ResourceKey key) =>
        CertGrain(key).AsReference<IRemindable>().ReceiveReminder("lifecycle", new TickStatus(fx.Time.GetUtcNow().UtcDateTime, TimeSpan.FromDays(7), fx.Time.GetUtcNow().UtcDateTime));

    [Fact]
    public async Task A_certificate_is_renewed_at_its_renewal_time_and_not_before()
    {
        var key = NewKey();
        var issued = await CertGrain(key).ApplyAsync(Cert($"svc.{key.Namespace}.svc", "2160h"), V(1));
        Assert.Equal(1, issued.Revision);
        var renewalTime = issued.RenewalTime!.Value;
        Assert.Equal(issued.NotAfter!.Value - ((issued.NotAfter.Value - issued.NotBefore!.Value) / 3), renewalTime);

        fx.Time.SetUtcNow(renewalTime - TimeSpan.FromMinutes(5));
        await FireAsync(key);
        Assert.Equal(1, (await CertGrain(key).GetStatusAsync())!.Revision);

        fx.Time.SetUtcNow(renewalTime + TimeSpan.FromMinutes(1));
        await FireAsync(key);
        var renewed = (await CertGrain(key).GetStatusAsync())!;
        Assert.Equal(2, renewed.Revision);
        Assert.True(renewed.IsReady);
        Assert.NotEqual(issued.SerialNumber, renewed.SerialNumber);
        Assert.True(renewed.NotAfter > issued.NotAfter);
        Assert.Equal(1, fx.Metrics.Counted(key, "renewed"));
        Assert.Contains(fx.Events.For(key), e => e.Reason == "Renewed");
        Assert.Empty(fx.Alerts.For(key));

        // A second tick at the same time renews nothing more.
        await FireAsync(key);
        Assert.Equal(2, (await CertGrain(key).GetStatusAsync())!.Revision);
    }

    [Fact]
    public async Task Alerts_fire_once_at_each_threshold_before_an_unrenewed_expiry_then_it_expires()
    {
        var key = NewKey();
        // Renewal only 12 hours before expiry: every threshold (30d, 7d, 1d) comes first.
        var issued = await CertGrain(key).ApplyAsync(Cert($"svc.{key.Namespace}.svc", "2160h", "12h"), V(1));
        var notAfter = issued.NotAfter!.Value;

        foreach (var (at, expected) in new[] { (31.0, 0), (29.5, 1), (29.0, 1), (6.5, 2), (6.0, 2), (0.9, 3), (0.8, 3) })
        {
            fx.Time.SetUtcNow(notAfter - TimeSpan.FromDays(at));
            await FireAsync(key);
            var expiring = fx.Alerts.For(key).Where(a => a.Reason == Reasons.ExpiringSoon).ToList();
            Assert.True(expected == expiring.Count, $"{at} days before expiry: {expiring.Count} alerts, expected {expected}");
        }

        var alerts = fx.Alerts.For(key).Where(a => a.Reason == Reasons.ExpiringSoon).ToList();
        Assert.Contains("within 30 days", alerts[0].Message, StringComparison.Ordinal);
        Assert.Contains("within 7 days", alerts[1].Message, StringComparison.Ordinal);
        Assert.Contains("within 1 day", alerts[2].Message, StringComparison.Ordinal);
        Assert.All(alerts, a => Assert.Equal(notAfter, a.NotAfter));
        Assert.Equal(3, fx.Events.For(key).Count(e => e.Reason == Reasons.ExpiringSoon && e.Severity == EventSeverity.Warning));

        // Then it expires: its renewal (12 hours before) keeps failing, and at notAfter it turns
        // Ready=False/Expired, in the grain's status, in the status written and in the metrics.
        // The wake-up at expiry falls within the backoff of the last failed attempt; the next
        // attempt, after expiry, fails too and the certificate stays Expired (the failure in Issuing).
        fx.Issuer.FailFor(key);
        try
        {
            fx.Time.SetUtcNow(notAfter - TimeSpan.FromHours(11));
            await FireAsync(key);
            fx.Time.SetUtcNow(notAfter - TimeSpan.FromSeconds(30));
            await FireAsync(key);
            Assert.Equal(2, fx.Alerts.For(key).Count(a => a.Reason == Reasons.RenewalFailed));
            Assert.True((await CertGrain(key).GetStatusAsync())!.IsReady, "before expiry, a failed renewal keeps the certificate Ready");
            fx.Time.SetUtcNow(notAfter + TimeSpan.FromMinutes(1));
            await FireAsync(key);
            var expired = (await CertGrain(key).GetStatusAsync())!;
            Assert.Equal(1, expired.Revision);
            Assert.Equal((Conditions.False, Reasons.Expired), (expired.Condition(Conditions.Ready)!.Status, expired.Condition(Conditions.Ready)!.Reason));
            var written = await fx.Status.WaitCertificateAsync(key, s => !s.IsReady, "Ready=False written");
            Assert.Equal(Reasons.Expired, written.Condition(Conditions.Ready)!.Reason);
            Assert.False(fx.Metrics.Certificate(key)!.Value.Ready);

            fx.Time.SetUtcNow(notAfter + TimeSpan.FromHours(2));
            await FireAsync(key);
            Assert.Equal(3, fx.Alerts.For(key).Count(a => a.Reason == Reasons.RenewalFailed));
            var still = (await CertGrain(key).GetStatusAsync())!;
            Assert.Equal((Conditions.False, Reasons.Expired), (still.Condition(Conditions.Ready)!.Status, still.Condition(Conditions.Ready)!.Reason));
            Assert.Equal(Conditions.False, still.Condition(Conditions.Issuing)!.Status);
            Assert.Equal(1, fx.Events.For(key).Count(e => e.Reason == Reasons.Expired));

            // A new renewBefore moves the renewal time only: it does not make the expired certificate Ready again.
            var moved = await CertGrain(key).ApplyAsync(Cert($"svc.{key.Namespace}.svc", "2160h", "13h"), V(2));
            Assert.Equal((Conditions.False, Reasons.Expired), (moved.Condition(Conditions.Ready)!.Status, moved.Condition(Conditions.Ready)!.Reason));
            Assert.Equal(1, moved.Revision);
        }
        finally
        {
            fx.Issuer.Recover(key);
        }
    }

    [Fact]
    public async Task A_failing_renewal_keeps_the_certificate_backs_off_alerts_and_recovers()
    {
        var key = NewKey();
        var issued = await CertGrain(key).ApplyAsync(Cert($"svc.{key.Namespace}.svc", "2160h"), V(1));
        fx.Issuer.FailFor(key);
        try
        {
            fx.Time.SetUtcNow(issued.RenewalTime!.Value + TimeSpan.FromSeconds(1));
            await FireAsync(key);
            var status = (await CertGrain(key).GetStatusAsync())!;
            Assert.Equal(1, status.Revision);
            Assert.True(status.IsReady, "the current certificate stays in use");
            var failed = Assert.Single(fx.Alerts.For(key), a => a.Reason == Reasons.RenewalFailed);
            Assert.Contains("next attempt at", failed.Message, StringComparison.Ordinal);

            // Within the backoff (1 minute after the first failure) nothing is attempted again.
            var attempts = fx.Metrics.Counted(key, "failed");
            fx.Time.Advance(TimeSpan.FromSeconds(30));
            await FireAsync(key);
            Assert.Equal(attempts, fx.Metrics.Counted(key, "failed"));

            // After it: a second attempt, a second alert, and the next backoff is longer.
            fx.Time.Advance(TimeSpan.FromSeconds(31));
            await FireAsync(key);
            Assert.True(fx.Metrics.Counted(key, "failed") > attempts);
            Assert.Equal(2, fx.Alerts.For(key).Count(a => a.Reason == Reasons.RenewalFailed));
        }
        finally
        {
            fx.Issuer.Recover(key);
        }

        fx.Time.Advance(TimeSpan.FromMinutes(3));
        await FireAsync(key);
        var renewed = (await CertGrain(key).GetStatusAsync())!;
        Assert.Equal(2, renewed.Revision);
        Assert.True(renewed.IsReady);
    }

    [Fact]
    public async Task A_store_whose_writes_keep_failing_retries_with_a_doubling_delay_not_every_second()
    {
        var key = NewKey();
        fx.Metadata.Set(key.Namespace, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        await CertGrain(key).ApplyAsync(Cert($"{key.Name}.{key.Namespace}.svc", "2160h"), V(1));
        fx.Store.FailFor(key, new SecretStoreFailedException("store unavailable (test)"));
        try
        {
            var keystore = fx.Grains.GetGrain<IKeystoreGrain>(key.ToString());
            var failed = await keystore.ApplyAsync(new KeystoreSpec { Fqdn = $"{key.Name}.{key.Namespace}.svc", CertName = key.Name }, V(1));
            Assert.Equal(Reasons.StoreFailed, failed.Condition(Conditions.Ready)?.Reason);

            // Doubling delays put the fifth attempt at least 1 + 2 + 4 + 8 = 15 s after the first;
            // a retry every second would make it about 4 s.
            var attempts = await RetryWritesAsync(key, attempts: 5, steps: 100);
            Assert.True(attempts.Count >= 5, $"{attempts.Count} write attempts in 25 s of retries");
            for (var i = 1; i < 4; i++)
            {
                var gap = attempts[i + 1] - attempts[i];
                Assert.True(gap >= TimeSpan.FromSeconds(1 << i), $"attempt {i + 2} came {gap.TotalSeconds} s after attempt {i + 1}; expected at least {1 << i} s");
            }
        }
        finally
        {
            fx.Store.Recover(key);
        }
    }

    [Fact]
    public async Task A_store_refused_by_a_silo_that_is_down_retries_every_two_seconds_at_most_however_often_refused()
    {
        var key = NewKey();
        fx.Metadata.Set(key.Namespace, "notary-metadata", InMemoryMetadataSource.Json("password-1", "password-2"));
        await CertGrain(key).ApplyAsync(Cert($"{key.Name}.{key.Namespace}.svc", "2160h"), V(1));
        // What a grain call to a silo not yet declared dead throws, at once, until it is.
        fx.Store.FailFor(key, new SiloUnavailableException("silo down (test)"));
        try
        {
            var keystore = fx.Grains.GetGrain<IKeystoreGrain>(key.ToString());
            await keystore.ApplyAsync(new KeystoreSpec { Fqdn = $"{key.Name}.{key.Namespace}.svc", CertName = key.Name }, V(1));

            // Doubling delays would put the eighth attempt 1 + 2 + ... + 64 = 127 s after the
            // first; capped at 2 s it comes about 13 s after.
            var attempts = await RetryWritesAsync(key, attempts: 8, steps: 160, dueWithin: ClusterFailures.MaxUnavailableSiloRetryDelay);
            Assert.True(attempts.Count >= 8, $"{attempts.Count} write attempts in 40 s of retries");
            for (var i = 1; i < attempts.Count; i++)
            {
                var gap = attempts[i] - attempts[i - 1];
                Assert.True(gap <= ClusterFailures.MaxUnavailableSiloRetryDelay + TimeSpan.FromMilliseconds(250), $"attempt {i + 1} came {gap.TotalSeconds} s after attempt {i}");
            }
        }
        finally
        {
            fx.Store.Recover(key);
        }
    }

    /// <summary>
    /// Moves the fake clock in quarter seconds (at most <paramref name="steps"/> of them), giving
    /// each due retry a moment to run, until the store saw <paramref name="attempts"/> write
    /// attempts of <paramref name="key"/>; returns when each was made.
    /// </summary>
    // dueWithin: when the fake clock is this far past the last attempt, a retry is due: the clock
    // then waits for it (up to 10 s of real time) instead of moving on, so a busy machine cannot
    // stretch the gaps a test measures. Without it, each step gives a due retry 50 ms.
    private async Task<IReadOnlyList<DateTimeOffset>> RetryWritesAsync(ResourceKey key, int attempts, int steps, TimeSpan? dueWithin = null)
    {
        for (var step = 0; step < steps && fx.Store.AttemptsOf(key).Count < attempts; step++)
        {
            var before = fx.Store.AttemptsOf(key);
            fx.Time.Advance(TimeSpan.FromMilliseconds(250));
            var due = dueWithin is { } within && before.Count > 0 && fx.Time.GetUtcNow() - before[^1] >= within;
            var wait = Stopwatch.StartNew();
            while (fx.Store.AttemptsOf(key).Count == before.Count && wait.ElapsedMilliseconds < (due ? 10_000 : 50))
            {
                await Task.Yield();
            }
        }

        return fx.Store.AttemptsOf(key);
    }

    [Fact]
    public async Task A_one_year_certificate_registers_a_short_reminder_and_the_real_reminder_service_renews_it_months_later()
    {
        var key = NewKey();
        var issuedOrigin = V(1);
        var issued = await CertGrain(key).ApplyAsync(Cert($"svc.{key.Namespace}.svc", "8760h"), issuedOrigin);
        var renewalTime = issued.RenewalTime!.Value;
        Assert.True(renewalTime - fx.Time.GetUtcNow() > TimeSpan.FromDays(200), "renewal is months away, far beyond 49.7 days");

        // Registered, but never further ahead than MaxReminderDelay (7 days).
        var table = fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var grainId = ((GrainReference)CertGrain(key)).GrainId;
        var entry = Assert.Single((await table.ReadRows(grainId)).Reminders, r => r.ReminderName == "lifecycle");
        Assert.Equal(TimeSpan.FromDays(7), entry.Period);

        // Months later (a watcher resync re-plans): the reminder is due at once, and Orleans'
        // own reminder service delivers it and the certificate renews.
        fx.Time.SetUtcNow(renewalTime + TimeSpan.FromMinutes(1));
        await CertGrain(key).ApplyAsync(Cert($"svc.{key.Namespace}.svc", "8760h"), issuedOrigin);
        fx.Time.Advance(TimeSpan.FromSeconds(2));
        var renewed = await fx.Status.WaitCertificateAsync(key, s => s.Revision == 2, "renewed by the reminder service");
        Assert.True(renewed.NotAfter > issued.NotAfter);
    }

    [Fact]
    public async Task An_issuance_saves_the_certificate_and_when_its_reminder_is_due_in_one_state_write()
    {
        var key = NewKey();
        var spec = Cert($"svc.{key.Namespace}.svc", "2160h");
        var origin = V(1);
        var grainId = ((GrainReference)CertGrain(key)).GrainId;
        var issued = await CertGrain(key).ApplyAsync(spec, origin);
        Assert.True(issued.IsReady);
        Assert.Equal(1, fx.Storage.Writes(grainId));
        var table = fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        Assert.Single((await table.ReadRows(grainId)).Reminders, r => r.ReminderName == "lifecycle");

        // That one write held when the reminder is due: a resync from storage (a new activation)
        // finds it and writes nothing more.
        await fx.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var resynced = await CertGrain(key).ApplyAsync(spec, origin);
        Assert.Equal(issued.SerialNumber, resynced.SerialNumber);
        Assert.Equal(1, fx.Storage.Writes(grainId));
    }

    [Fact]
    public async Task A_resync_leaves_a_reminder_still_in_time_alone_and_registers_again_one_already_due()
    {
        var key = NewKey();
        var origin = V(1);
        var spec = Cert($"svc.{key.Namespace}.svc", "2160h");
        var issued = await CertGrain(key).ApplyAsync(spec, origin);
        var table = fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var grainId = ((GrainReference)CertGrain(key)).GrainId;
        var registered = Assert.Single((await table.ReadRows(grainId)).Reminders, r => r.ReminderName == "lifecycle");

        // An hour later (a restart's resync): the reminder still wakes the grain in time, so the
        // table is not written.
        fx.Time.Advance(TimeSpan.FromHours(1));
        await CertGrain(key).ApplyAsync(spec, origin);
        var kept = Assert.Single((await table.ReadRows(grainId)).Reminders, r => r.ReminderName == "lifecycle");
        Assert.Equal(registered.ETag, kept.ETag);
        Assert.Equal(registered.StartAt, kept.StartAt);

        // Past the registered wake-up (the silo was down then): registered again, ahead of now.
        fx.Time.Advance(TimeSpan.FromDays(8));
        await CertGrain(key).ApplyAsync(spec, origin);
        var again = Assert.Single((await table.ReadRows(grainId)).Reminders, r => r.ReminderName == "lifecycle");
        Assert.NotEqual(registered.ETag, again.ETag);
        Assert.True(again.StartAt > fx.Time.GetUtcNow().UtcDateTime, "the new registration is due ahead of now");
        Assert.Equal(issued.Revision, (await CertGrain(key).GetStatusAsync())!.Revision);
    }
}
