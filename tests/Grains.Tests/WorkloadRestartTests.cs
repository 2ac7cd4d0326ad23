using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Restarts;
using Notary.Grains.Tests.Fakes;
using Orleans.TestingHost;

namespace Notary.Grains.Tests;

/// <summary>One silo whose clock (the grains' and Orleans' reminder service's) is a FakeTimeProvider; the workloads are fakes.</summary>
public sealed class RestartClusterFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Start = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);

    public FakeTimeProvider Time { get; } = new(Start);
    public FakeWorkloads Workloads { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1).RetryingClientConnection();
        builder.ConfigureSilo((_, silo) => silo
            .AddMemoryGrainStorage(GrainStorage.Name, o => o.UseNotarySerializer())
            .UseInMemoryReminderService());
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton<TimeProvider>(Time);
            host.Services.AddSingleton<IWorkloadFinder>(Workloads);
            host.Services.AddSingleton<IWorkloadPatcher>(Workloads);
            host.Services.AddNotaryWorkloadRestarts(new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Notary:Restarts:MinRestartInterval"] = "00:01:00" })
                .Build());
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public Task DisposeAsync() => Cluster.DisposeAsync().AsTask();
}

[CollectionDefinition(Name)]
public sealed class RestartCollection : ICollectionFixture<RestartClusterFixture>
{
    public const string Name = "restarts";
}

/// <summary>
/// The restart grains behind <see cref="IWorkloadRestarter"/>: the rate limit, coalescing and
/// deferral that the Kubernetes restarter kept in memory before, now grain state with a reminder.
/// </summary>
[Collection(RestartCollection.Name)]
[Trait("Category", "Slow")]
public sealed class WorkloadRestartTests(RestartClusterFixture fx)
{
    private readonly GrainWorkloadRestarter _restarter = new(fx.Workloads, fx.Grains, NullLogger<GrainWorkloadRestarter>.Instance);

    private static WorkloadRef NewWorkload(string name = "api", string kind = "Deployment") => new("r-" + Guid.NewGuid().ToString("N")[..10], kind, name);

    private IWorkloadRestartGrain Grain(WorkloadRef workload) => fx.Grains.GetGrain<IWorkloadRestartGrain>(WorkloadRestartKeys.Of(workload));

    /// <summary>What Orleans does when the backing reminder fires (it may, with the fake clock, or the grain timer may come first: either runs the restart once).</summary>
    private Task FireReminderAsync(WorkloadRef workload) =>
        Grain(workload).AsReference<IRemindable>().ReceiveReminder(WorkloadRestartGrain.ReminderName, new TickStatus(fx.Time.GetUtcNow().UtcDateTime, WorkloadRestartGrain.ReminderPeriod, fx.Time.GetUtcNow().UtcDateTime));

    private Task<ReminderEntry?> ReminderAsync(WorkloadRef workload) =>
        fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>().ReadRow(Grain(workload).GetGrainId(), WorkloadRestartGrain.ReminderName);

    private Task<IReadOnlyList<Restarted>> RestartsAsync(WorkloadRef workload, int count) =>
        fx.Workloads.Changed.WaitAsync(() => fx.Workloads.Restarts(workload), r => r.Count >= count, TimeSpan.FromSeconds(10), $"{count} restart(s) of {workload}");

    /// <summary>A fresh slot of time for each test (they share the clock): the interval of any earlier test has ended.</summary>
    private DateTimeOffset Now()
    {
        fx.Time.Advance(TimeSpan.FromHours(1));
        return fx.Time.GetUtcNow();
    }

    [Fact]
    public async Task Restarts_asked_for_within_the_interval_are_coalesced_into_one_at_its_end()
    {
        var api = NewWorkload();
        fx.Workloads.Add(api, optedIn: false, "api-keystore", "api-truststore");
        var start = Now();

        // The first restarts now; the others are accepted and say when the one coalesced restart happens.
        var end = start + TimeSpan.FromMinutes(1);
        Assert.Equal([new WorkloadRestart(api)], await _restarter.RestartAsync(api.Namespace, ["api-keystore"], false, "keystore rebuilt", CancellationToken.None));
        fx.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal([new WorkloadRestart(api, end)], await _restarter.RestartAsync(api.Namespace, ["api-truststore"], false, "truststore rebuilt", CancellationToken.None));
        fx.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal([new WorkloadRestart(api, end)], await _restarter.RestartAsync(api.Namespace, ["api-truststore"], false, "truststore rebuilt", CancellationToken.None));

        // Within the interval: still the first restart only, and the deferral is durable: a reminder whose first tick is its end.
        Assert.Equal(start, Assert.Single(fx.Workloads.Restarts(api)).At);
        var reminder = await ReminderAsync(api);
        Assert.NotNull(reminder);
        Assert.Equal(end.UtcDateTime, reminder.StartAt);
        await FireReminderAsync(api);
        Assert.Single(fx.Workloads.Restarts(api));

        // At the end of the interval, one restart for both requests.
        fx.Time.Advance(TimeSpan.FromSeconds(40));
        await FireReminderAsync(api);
        var restarts = await RestartsAsync(api, 2);
        Assert.Equal(2, restarts.Count);
        Assert.Equal(end, restarts[1].At);
        Assert.Equal(["api-truststore"], restarts[1].Secrets);
        Assert.Equal(["truststore rebuilt"], restarts[1].Reasons);
        Assert.Null(await ReminderAsync(api));

        // The window starts again from the deferred restart.
        fx.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal([new WorkloadRestart(api, end + TimeSpan.FromMinutes(1))], await _restarter.RestartAsync(api.Namespace, ["api-keystore"], false, "again", CancellationToken.None));
        fx.Time.Advance(TimeSpan.FromSeconds(30));
        await FireReminderAsync(api);
        Assert.Equal(end + TimeSpan.FromMinutes(1), (await RestartsAsync(api, 3))[2].At);
        await FireReminderAsync(api);
        Assert.Equal(3, fx.Workloads.Restarts(api).Count);
    }

    [Fact]
    public async Task A_deferred_restart_coalesces_the_Secrets_and_reasons_of_every_request()
    {
        var api = NewWorkload();
        fx.Workloads.Add(api, optedIn: true, "api-keystore", "api-truststore");
        var start = Now();
        await _restarter.RestartAsync(api.Namespace, ["api-keystore"], true, "renewal", CancellationToken.None);
        await _restarter.RestartAsync(api.Namespace, ["api-truststore"], true, "truststore rebuilt", CancellationToken.None);
        await _restarter.RestartAsync(api.Namespace, ["api-keystore", "api-truststore"], false, "breach b-1", CancellationToken.None);

        fx.Time.Advance(TimeSpan.FromMinutes(1));
        await FireReminderAsync(api);

        var deferred = (await RestartsAsync(api, 2))[1];
        Assert.Equal(start + TimeSpan.FromMinutes(1), deferred.At);
        Assert.Equal(["api-keystore", "api-truststore"], deferred.Secrets);
        Assert.Equal(["truststore rebuilt", "breach b-1"], deferred.Reasons);
    }

    [Fact]
    public async Task The_interval_counts_a_restart_by_another_instance_and_a_restart_since_makes_the_deferred_one_unneeded()
    {
        var api = NewWorkload();
        fx.Workloads.Add(api, optedIn: false, "api-tls");
        var start = Now();

        // Another Notary instance restarted it 5 s ago: the annotation says so.
        fx.Workloads.RestartedElsewhere(api, start - TimeSpan.FromSeconds(5));
        var restarted = Assert.Single(await _restarter.RestartAsync(api.Namespace, ["api-tls"], false, "second", CancellationToken.None));
        Assert.Equal(start + TimeSpan.FromSeconds(55), restarted.DeferredUntil);
        Assert.Empty(fx.Workloads.Restarts(api));

        // Someone restarts it after the request (a third instance whose window had ended, say).
        fx.Time.Advance(TimeSpan.FromSeconds(5));
        fx.Workloads.RestartedElsewhere(api, fx.Time.GetUtcNow());
        fx.Time.Advance(TimeSpan.FromSeconds(50));
        await FireReminderAsync(api);

        Assert.Empty(fx.Workloads.Restarts(api));
        Assert.Null(await ReminderAsync(api));
    }

    [Fact]
    public async Task Only_opted_in_workloads_restart_on_renewal_and_all_of_them_on_a_breach()
    {
        var ns = NewWorkload().Namespace;
        var onWorkload = new WorkloadRef(ns, "Deployment", "on-workload");
        var onTemplate = new WorkloadRef(ns, "StatefulSet", "on-template");
        var silent = new WorkloadRef(ns, "DaemonSet", "silent");
        fx.Workloads.Add(onWorkload, optedIn: true, "api-tls");
        fx.Workloads.Add(onTemplate, optedIn: true, "api-tls");
        fx.Workloads.Add(silent, optedIn: false, "api-tls");
        Now();

        var renewed = await _restarter.RestartAsync(ns, ["api-tls"], onlyOptedIn: true, "renewal", CancellationToken.None);

        Assert.Equal(["on-template", "on-workload"], renewed.Select(w => w.Workload.Name).Order(StringComparer.Ordinal));
        Assert.All(renewed, w => Assert.Null(w.DeferredUntil));
        Assert.Empty(fx.Workloads.Restarts(silent));

        var breach = await _restarter.RestartAsync(ns, ["api-tls"], onlyOptedIn: false, "breach", CancellationToken.None);

        Assert.Equal(3, breach.Count);
        Assert.Null(breach.Single(w => w.Workload == silent).DeferredUntil);
        Assert.Single(fx.Workloads.Restarts(silent));
        Assert.All(breach.Where(w => w.Workload != silent), w => Assert.NotNull(w.DeferredUntil));
        Assert.Equal(3, (await _restarter.FindAsync(ns, ["api-tls"], CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_deferred_renewal_restart_is_dropped_when_the_workload_opted_out_or_went_away()
    {
        var ns = NewWorkload().Namespace;
        var optedOut = new WorkloadRef(ns, "Deployment", "opted-out");
        var gone = new WorkloadRef(ns, "Deployment", "gone");
        fx.Workloads.Add(optedOut, optedIn: true, "api-tls");
        fx.Workloads.Add(gone, optedIn: true, "api-tls");
        Now();
        await _restarter.RestartAsync(ns, ["api-tls"], true, "renewal", CancellationToken.None);
        Assert.All(await _restarter.RestartAsync(ns, ["api-tls"], true, "renewal again", CancellationToken.None), w => Assert.NotNull(w.DeferredUntil));

        fx.Workloads.OptIn(optedOut, false);
        fx.Workloads.Remove(gone);
        fx.Time.Advance(TimeSpan.FromMinutes(1));
        await FireReminderAsync(optedOut);
        await FireReminderAsync(gone);

        Assert.Single(fx.Workloads.Restarts(optedOut));
        Assert.Single(fx.Workloads.Restarts(gone));
        Assert.Null(await ReminderAsync(optedOut));
        Assert.Null(await ReminderAsync(gone));
    }

    [Fact]
    public async Task A_workload_that_cannot_be_restarted_does_not_stop_the_others_and_a_retry_restarts_it_at_once()
    {
        var ns = NewWorkload().Namespace;
        var api = new WorkloadRef(ns, "Deployment", "api");
        var db = new WorkloadRef(ns, "StatefulSet", "db");
        fx.Workloads.Add(api, optedIn: false, "api-tls");
        fx.Workloads.Add(db, optedIn: false, "api-tls");
        fx.Workloads.Refused[api] = true;
        Now();

        var error = await Assert.ThrowsAsync<WorkloadRestartException>(() => _restarter.RestartAsync(ns, ["api-tls"], false, "breach", CancellationToken.None));

        Assert.Contains($"Deployment {ns}/api", error.Message, StringComparison.Ordinal);
        Assert.Single(fx.Workloads.Restarts(db));

        // The failed one was not counted as restarted: a retry restarts it at once rather than at the end of the interval.
        fx.Workloads.Refused.TryRemove(api, out _);
        fx.Time.Advance(TimeSpan.FromSeconds(1));
        var retried = await _restarter.RestartAsync(ns, ["api-tls"], false, "breach", CancellationToken.None);
        Assert.Null(retried.Single(w => w.Workload == api).DeferredUntil);
        Assert.NotNull(retried.Single(w => w.Workload == db).DeferredUntil);
        Assert.Single(fx.Workloads.Restarts(api));
    }

    [Fact]
    public async Task A_breach_over_many_workloads_restarts_every_one_but_never_more_than_eight_patches_at_once()
    {
        // Twenty workloads mount one truststore: one burst of twenty PATCHes could meet the API
        // server's rate limit, so at most GrainWorkloadRestarter.MaxConcurrentRequests run at once.
        var ns = NewWorkload().Namespace;
        var workloads = Enumerable.Range(0, 20).Select(i => new WorkloadRef(ns, "Deployment", $"w{i:D2}")).ToList();
        foreach (var workload in workloads)
        {
            fx.Workloads.Add(workload, optedIn: false, "shared-truststore");
        }

        Now();
        fx.Workloads.PatchDelay = TimeSpan.FromMilliseconds(100);
        fx.Workloads.ResetInFlight(ns);
        try
        {
            var restarted = await _restarter.RestartAsync(ns, ["shared-truststore"], false, "breach b-2", CancellationToken.None);

            Assert.Equal(workloads.Select(w => new WorkloadRestart(w)), restarted.OrderBy(r => r.Workload.Name, StringComparer.Ordinal));
            Assert.All(workloads, w => Assert.Single(fx.Workloads.Restarts(w)));
            Assert.InRange(fx.Workloads.MaxInFlight, 2, 8);
        }
        finally
        {
            fx.Workloads.PatchDelay = TimeSpan.Zero;
        }
    }

    [Fact]
    public async Task Several_failures_are_thrown_together()
    {
        var ns = NewWorkload().Namespace;
        var api = new WorkloadRef(ns, "Deployment", "api");
        var db = new WorkloadRef(ns, "StatefulSet", "db");
        fx.Workloads.Add(api, optedIn: false, "api-tls");
        fx.Workloads.Add(db, optedIn: false, "api-tls");
        fx.Workloads.Refused[api] = true;
        fx.Workloads.Refused[db] = true;
        Now();

        var error = await Assert.ThrowsAsync<WorkloadRestartException>(() => _restarter.RestartAsync(ns, ["api-tls"], false, "breach", CancellationToken.None));

        Assert.Contains($"Deployment {ns}/api", error.Message, StringComparison.Ordinal);
        Assert.Contains($"StatefulSet {ns}/db", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_workload_that_is_gone_is_not_restarted_and_a_namespace_without_workloads_has_nothing_to_restart()
    {
        var api = NewWorkload();
        Now();

        Assert.Null(await Grain(api).RequestRestartAsync(new WorkloadRestartRequest(["api-tls"], "breach", false, null)));
        Assert.Empty(await _restarter.RestartAsync(api.Namespace, ["api-tls"], false, "breach", CancellationToken.None));
        Assert.Empty(await _restarter.FindAsync(api.Namespace, ["api-tls"], CancellationToken.None));
    }
}

/// <summary>A deferred restart is grain state with a reminder: it happens even when the silo that deferred it dies.</summary>
[Trait("Category", "Slow")]
public sealed class WorkloadRestartSurvivalTests
{
    [Fact]
    public async Task A_deferred_restart_survives_the_death_of_the_silo_that_holds_it()
    {
        // Two silos sharing what production keeps in Redis (grain state, reminders), and a real clock:
        // Orleans' reminder service takes over the dead silo's reminders on real time.
        // Long enough for the cluster to declare the killed silo dead before the restart is due
        // (then the survivor's reminder service runs it on time; otherwise at the reminder's next minute).
        var interval = TimeSpan.FromSeconds(30);
        var workloads = new FakeWorkloads();
        var state = new SharedGrainState();
        var reminders = new SharedReminderTable();
        var builder = new InProcessTestClusterBuilder(2).RetryingClientConnection();
        builder.ConfigureSilo((_, silo) => silo
            .AddMemoryGrainStorage(GrainStorage.Name)
            .UseInMemoryReminderService()
            .Configure<Orleans.Configuration.ClusterMembershipOptions>(o =>
            {
                // A killed silo is declared dead within about ten seconds (one vote suffices with
                // one silo left); probes still tolerate a loaded machine's pauses of a few seconds.
                o.ProbeTimeout = TimeSpan.FromSeconds(3);
                o.NumMissedProbesLimit = 3;
                o.NumVotesForDeathDeclaration = 1;
            }));
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton(TimeProvider.System);
            host.Services.AddSingleton<IReminderTable>(reminders);
            host.Services.AddKeyedSingleton<Orleans.Storage.IGrainStorage>(GrainStorage.Name, (sp, _) => state.For(sp.GetRequiredService<Orleans.Serialization.Serializer>()));
            host.Services.AddSingleton<IWorkloadFinder>(workloads);
            host.Services.AddSingleton<IWorkloadPatcher>(sp => new SiloPatcher(workloads, sp.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToString()));
            host.Services.AddSingleton(Options.Create(new NotaryRestartOptions { MinRestartInterval = interval }));
        });
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        var api = new WorkloadRef("survive", "Deployment", "api");
        workloads.Add(api, optedIn: false, "api-tls");
        var grain = cluster.Client.GetGrain<IWorkloadRestartGrain>(WorkloadRestartKeys.Of(api));
        var request = new WorkloadRestartRequest(["api-tls"], "breach", false, null);

        // Restarted now, then deferred to the end of the interval.
        Assert.Null((await grain.RequestRestartAsync(request))!.DeferredUntil);
        var first = Assert.Single(workloads.Restarts(api));
        var deferred = await grain.RequestRestartAsync(request with { Reason = "breach again" });
        Assert.Equal(first.At + interval, deferred!.DeferredUntil);

        // Kill the silo that holds the grain (and its timer) before the restart is due.
        Assert.True(cluster.TryGetGrainContext(grain.GetGrainId(), out var context));
        var holder = cluster.Silos.Single(s => s.SiloAddress.Equals(context.Address.SiloAddress));
        var survivor = cluster.Silos.Single(s => s != holder);
        await cluster.KillSiloAsync(holder);
        Assert.True(DateTimeOffset.UtcNow < deferred.DeferredUntil, "the silo died after the restart was due; make the interval longer");

        // The other silo's reminder service delivers it: restarted once, by the survivor, not before it was due.
        var restarts = await workloads.Changed.WaitAsync(() => workloads.Restarts(api), r => r.Count >= 2, TimeSpan.FromMinutes(2), "the deferred restart on the surviving silo");
        var done = restarts[1];
        Assert.Equal(survivor.SiloAddress.ToString(), done.Silo);
        Assert.True(done.At >= deferred.DeferredUntil, $"restarted at {done.At:O}, before {deferred.DeferredUntil:O}");
        Assert.Equal(["breach again"], done.Reasons);
        Assert.Equal(2, workloads.Restarts(api).Count);
    }
}
