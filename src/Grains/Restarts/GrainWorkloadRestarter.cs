using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Restarts;

/// <summary>
/// <see cref="IWorkloadRestarter"/> for the grains that rebuild stores and handle breaches:
/// asks the <see cref="IWorkloadFinder"/> which workloads use the Secrets, then asks each
/// workload's <see cref="IWorkloadRestartGrain"/> to restart it, at most
/// <see cref="MaxConcurrentRequests"/> at a time; the grain decides now or later. A workload that cannot be restarted does not stop the others: the failures are
/// thrown together at the end. A singleton in the silo; the grain factory comes from the silo's
/// container (Orleans registers <see cref="IGrainFactory"/> there).
/// </summary>
public sealed class GrainWorkloadRestarter(IWorkloadFinder finder, IGrainFactory grains, ILogger<GrainWorkloadRestarter> logger) : IWorkloadRestarter
{
    // Lookups of one namespace share a list (see BatchedWorkloadFinder).
    private readonly BatchedWorkloadFinder _finder = new(finder);

    /// <summary>
    /// Restart requests in flight for one call: each may PATCH a workload and record an Event, and
    /// a breach in a namespace of hundreds of workloads must not send them all to the API server
    /// in one burst (its rate limit would answer 429, and the breach items would fail).
    /// </summary>
    public const int MaxConcurrentRequests = 8;

    public async Task<IReadOnlyList<WorkloadRef>> FindAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken) =>
        [.. (await _finder.FindAsync(@namespace, secretNames, cancellationToken)).Select(found => found.Workload)];

    /// <summary>
    /// Restarts the workloads that use any of <paramref name="secretNames"/> (with
    /// <paramref name="onlyOptedIn"/>, only those annotated <c>notary.dev/reload: "true"</c>).
    /// Returns those restarted now and those whose restart is deferred to the end of their
    /// interval: both will run pods that see the change.
    /// </summary>
    public async Task<IReadOnlyList<WorkloadRestart>> RestartAsync(string @namespace, IReadOnlyCollection<string> secretNames, bool onlyOptedIn, string reason, CancellationToken cancellationToken)
    {
        var found = await _finder.FindAsync(@namespace, secretNames, cancellationToken);
        var wanted = new List<WorkloadSnapshot>();
        foreach (var workload in found)
        {
            if (onlyOptedIn && !workload.OptedIn)
            {
                RestartLog.NotOptedIn(logger, workload.Workload);
                continue;
            }

            wanted.Add(workload);
        }

        using var gate = new SemaphoreSlim(MaxConcurrentRequests);
        var outcomes = await Task.WhenAll(wanted.Select(workload => RequestAsync(gate, workload, reason, onlyOptedIn, cancellationToken)));
        var failures = outcomes.Where(o => o.Error is not null).Select(o => o.Error!).ToList();
        if (failures.Count == 1)
        {
            ExceptionDispatchInfo.Throw(failures[0]);
        }
        else if (failures.Count > 1)
        {
            throw new WorkloadRestartException(string.Join(" ", failures.Select(f => f.Message)));
        }

        return [.. outcomes.Where(o => o.Restart is not null).Select(o => o.Restart!)];
    }

    private async Task<(WorkloadRestart? Restart, Exception? Error)> RequestAsync(SemaphoreSlim gate, WorkloadSnapshot workload, string reason, bool onlyOptedIn, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            var grain = grains.GetGrain<IWorkloadRestartGrain>(WorkloadRestartKeys.Of(workload.Workload));

            // The caller's token bounds its wait, not the grain's work: a restart the grain started goes on.
            var restart = await grain.RequestRestartAsync(new WorkloadRestartRequest(workload.Secrets, reason, onlyOptedIn, workload.RestartedAt)).WaitAsync(cancellationToken);
            return (restart, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return (null, ex);
        }
        finally
        {
            gate.Release();
        }
    }
}

public static class WorkloadRestartServiceCollectionExtensions
{
    /// <summary>
    /// Registers the restart grains' coordinator as the grains' <see cref="IWorkloadRestarter"/>
    /// and binds <see cref="NotaryRestartOptions"/> from <c>Notary:Restarts</c>, validated on start.
    /// The host registers the adapters behind <see cref="IWorkloadFinder"/> and <see cref="IWorkloadPatcher"/>.
    /// </summary>
    public static IServiceCollection AddNotaryWorkloadRestarts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<NotaryRestartOptions>()
            .Bind(configuration.GetSection(NotaryRestartOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NotaryRestartOptions>, NotaryRestartOptionsValidator>());
        services.TryAddSingleton<IWorkloadRestarter, GrainWorkloadRestarter>();
        return services;
    }
}
