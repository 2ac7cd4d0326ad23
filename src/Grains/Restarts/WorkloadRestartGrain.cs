using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Notary.Grains.Retry;

namespace Notary.Grains.Restarts;

/// <summary>
/// The restart policy of one workload ("namespace/kind/name"): at most one restart per
/// <see cref="NotaryRestartOptions.MinRestartInterval"/>; a request inside the interval is
/// deferred to its end, and every request until then is coalesced into that one restart. The
/// deferred restart is persisted and backed by a reminder, so it happens even when the silo that
/// deferred it dies (another silo's reminder service delivers it), and since there is one grain
/// per workload in the cluster, requests from every silo coalesce into it. A grain timer runs it
/// on time within the activation; the reminder (Orleans' periods are a minute at least) is the
/// durable backup, registered with the due time as its first tick. Reading and patching the
/// workload is the <see cref="IWorkloadPatcher"/>'s.
/// </summary>
public sealed class WorkloadRestartGrain(
    [PersistentState("restart", GrainStorage.Name)] IPersistentState<WorkloadRestartState> state,
    IWorkloadPatcher patcher,
    IOptions<NotaryRestartOptions> options,
    TimeProvider time,
    ILogger<WorkloadRestartGrain> logger) : Grain, IWorkloadRestartGrain, IRemindable
{
    /// <summary>The reminder that delivers a deferred restart if no activation's timer does.</summary>
    public const string ReminderName = "deferred-restart";

    /// <summary>Orleans' shortest reminder period: after the first tick at the due time, the reminder comes back until the restart clears it.</summary>
    public static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(1);

    private WorkloadRef _workload = null!;
    private IGrainTimer? _timer;

    private WorkloadRestartState State => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _workload = WorkloadRestartKeys.Parse(this.GetPrimaryKeyString());

        // A new activation (after a silo died, say) picks the deferred restart up from the state.
        if (State.Deferred is { } deferred)
        {
            ScheduleTimer(deferred.Due);
        }

        return Task.CompletedTask;
    }

    public async Task<WorkloadRestart?> RequestRestartAsync(WorkloadRestartRequest request)
    {
        var now = time.GetUtcNow();
        var entry = new DeferredRestartRequest([.. request.Secrets], request.Reason, request.OnlyOptedIn);
        if (State.Deferred is { } deferred)
        {
            // Coalesced: the deferred restart covers this request too. A request equal to one
            // already held (a store rebuilt again and again within the interval) adds nothing, so
            // the state stays as small as the distinct Secrets and reasons.
            if (!deferred.Requests.Any(held => held.Reason == entry.Reason && held.OnlyOptedIn == entry.OnlyOptedIn && held.Secrets.SequenceEqual(entry.Secrets, StringComparer.Ordinal)))
            {
                State.Deferred = deferred with { Requests = [.. deferred.Requests, entry] };
                await SaveAsync();
            }

            if (deferred.Due <= now)
            {
                // Its timer did not run it (it failed to, or this activation missed it): now.
                ScheduleTimer(deferred.Due);
            }

            return new WorkloadRestart(_workload, deferred.Due);
        }

        var interval = options.Value.MinRestartInterval;
        if (RestartPolicy.DeferUntil(now, State.LastRestart, request.ObservedRestartedAt, interval) is { } due)
        {
            await DeferAsync(new DeferredRestart(due, now, [entry]), now);
            RestartLog.Deferred(logger, _workload, due, interval);
            return new WorkloadRestart(_workload, due);
        }

        bool restarted;
        try
        {
            using var step = PortCall.Start(time);
            restarted = await patcher.RestartAsync(_workload, now, request.Secrets, [request.Reason], step.Token);
        }
        catch (Exception ex)
        {
            // Not counted as a restart: a retry restarts at once rather than at the end of an interval.
            RestartLog.Failed(logger, _workload, ex.Message);
            throw new WorkloadRestartException(Describe(ex));
        }

        if (!restarted)
        {
            RestartLog.Gone(logger, _workload);
            return null;
        }

        State.LastRestart = now;
        await SaveAsync();
        return new WorkloadRestart(_workload);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName)
        {
            return;
        }

        // A reminder an older activation registered: everything comes from the state.
        await RunDeferredAsync();
    }

    /// <summary>
    /// The reminder first: when the state write after it fails, the reminder finds no deferred
    /// restart and goes. A reminder that cannot be registered leaves the timer, and a warning.
    /// </summary>
    private async Task DeferAsync(DeferredRestart deferred, DateTimeOffset now)
    {
        try
        {
            await this.RegisterOrUpdateReminder(ReminderName, deferred.Due - now, ReminderPeriod);
        }
        catch (Exception ex)
        {
            RestartLog.ReminderFailed(logger, _workload, ex.GetType().Name, ex.Message, deferred.Due);
        }

        State.Deferred = deferred;
        await SaveAsync();
        ScheduleTimer(deferred.Due);
    }

    /// <summary>
    /// Runs the deferred restart once it is due (timer or reminder, whichever comes first; the
    /// other finds nothing). It is dropped when the workload is gone, was restarted since the
    /// first request, or (for renewals) is no longer opted in; the Event names every coalesced
    /// Secret and reason. A failure is logged and the restart dropped, as a refused restart is.
    /// </summary>
    private async Task RunDeferredAsync()
    {
        if (State.Deferred is not { } deferred)
        {
            await ForgetReminderAsync();
            return;
        }

        var now = time.GetUtcNow();
        if (now < deferred.Due)
        {
            ScheduleTimer(deferred.Due);
            return;
        }

        try
        {
            using var step = PortCall.Start(time);
            var current = await patcher.ReadAsync(_workload, step.Token);
            var requests = current is null ? [] : deferred.Requests.Where(r => !r.OnlyOptedIn || current.OptedIn).ToList();
            if (current is null)
            {
                RestartLog.Gone(logger, _workload);
            }
            else if (RestartPolicy.RestartedSince(current.RestartedAt, deferred.FirstRequestedAt))
            {
                RestartLog.Unneeded(logger, _workload, current.RestartedAt!.Value);
            }
            else if (requests.Count == 0)
            {
                RestartLog.NotOptedIn(logger, _workload);
            }
            else if (await patcher.RestartAsync(
                _workload,
                now,
                [.. requests.SelectMany(r => r.Secrets).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
                [.. requests.Select(r => r.Reason).Distinct(StringComparer.Ordinal)],
                step.Token))
            {
                State.LastRestart = now;
            }
            else
            {
                RestartLog.Gone(logger, _workload);
            }
        }
        catch (Exception ex)
        {
            RestartLog.DeferredFailed(logger, _workload, ex.GetType().Name, ex.Message);
        }

        State.Deferred = null;
        await SaveAsync();
        _timer?.Dispose();
        _timer = null;
        await ForgetReminderAsync();
    }

    private void ScheduleTimer(DateTimeOffset due)
    {
        _timer?.Dispose();
        var delay = due - time.GetUtcNow();

        // KeepAlive: the activation stays until its restart is done (the reminder would bring it back, but late).
        _timer = this.RegisterGrainTimer(
            async _ => await RunDeferredAsync(),
            new GrainTimerCreationOptions { DueTime = delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Period = Timeout.InfiniteTimeSpan, Interleave = false, KeepAlive = true });
    }

    /// <summary>Unregisters the reminder; a failure leaves it to find nothing to do next time and try again.</summary>
    private async Task ForgetReminderAsync()
    {
        try
        {
            if (await this.GetReminder(ReminderName) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }
        }
        catch (Exception ex)
        {
            RestartLog.ReminderNotRemoved(logger, _workload, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>The port's error names the workload already (the Kubernetes adapter's does); any other is prefixed with it.</summary>
    private string Describe(Exception ex) =>
        ex.Message.Contains(_workload.ToString(), StringComparison.Ordinal) ? ex.Message : $"Restarting {_workload} failed: {ex.Message}";

    private Task SaveAsync() => Persistence.SaveAsync(state, DeactivateOnIdle);
}
