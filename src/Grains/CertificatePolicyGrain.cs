using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

/// <summary>
/// The cluster's CertificatePolicies (one activation, key "cluster"): holds them for the
/// Certificates to evaluate (<see cref="NamePolicy"/>), and wakes every Certificate they refused
/// when one is applied, changed or deleted, so a refused Certificate is issued as soon as a
/// policy allows it, without a retry timer. Each policy's status says whether it is applied
/// (Ready=True) or ignored for an invalid field (Ready=False/InvalidPolicy).
/// </summary>
public sealed class CertificatePolicyGrain(
    [PersistentState("certificatepolicies", GrainStorage.Name)] IPersistentState<CertificatePolicyState> state,
    ILogger<CertificatePolicyGrain> logger,
    TimeProvider time) : Grain, ICertificatePolicyGrain
{
    public const string InvalidPolicy = "InvalidPolicy";

    public const string Applied = "Applied";

    private CertificatePolicyState State => state.State;

    public async Task ApplyAsync(string name, CertificatePolicySpec spec, ResourceVersionInfo origin)
    {
        if (State.Origins.TryGetValue(name, out var known) && known == origin && State.Policies.ContainsKey(name))
        {
            // A resync of what is held: nothing changed, nobody to wake.
            return;
        }

        var problem = NamePolicy.Validate(spec);
        if (problem is not null)
        {
            PolicyLog.Invalid(logger, name, problem);
        }

        State.Policies[name] = spec;
        State.Origins[name] = origin;
        await SaveAsync();
        PolicyLog.Applied(logger, name, origin.Generation, State.Waiting.Count);
        WakeWaiting();
        await PublishAsync(name, origin.Generation, problem);
    }

    /// <summary>The policy's Ready condition; a failed write is logged and written again by the next resync of the policy.</summary>
    private async Task PublishAsync(string name, long generation, string? problem)
    {
        if (ServiceProvider.GetService<ICertificatePolicyStatusWriter>() is not { } writer)
        {
            return;
        }

        var ready = problem is null
            ? new StatusCondition(Conditions.Ready, Conditions.True, Applied, "The policy is applied to the Certificates of the namespaces it selects.", time.GetUtcNow(), generation)
            : new StatusCondition(Conditions.Ready, Conditions.False, InvalidPolicy, $"The policy is ignored: {problem}.", time.GetUtcNow(), generation);
        try
        {
            await writer.WriteAsync(name, ready, generation, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            PolicyLog.StatusFailed(logger, name, ex.GetType().Name, ex.Message);
            // Let the next resync (same origin) write it again.
            State.Origins.Remove(name);
        }
    }

    public async Task DeleteAsync(string name)
    {
        if (!State.Policies.Remove(name))
        {
            return;
        }

        State.Origins.Remove(name);
        await SaveAsync();
        PolicyLog.Deleted(logger, name, State.Waiting.Count);
        WakeWaiting();
    }

    public async Task PruneAsync(IReadOnlyDictionary<string, string> existing)
    {
        ArgumentNullException.ThrowIfNull(existing);
        // A held policy whose origin is unknown (its status write failed) is judged by name alone.
        var gone = State.Policies.Keys
            .Where(name => !existing.TryGetValue(name, out var uid) || (State.Origins.TryGetValue(name, out var origin) && origin.Uid != uid))
            .ToList();
        if (gone.Count == 0)
        {
            return;
        }

        foreach (var name in gone)
        {
            State.Policies.Remove(name);
            State.Origins.Remove(name);
        }

        await SaveAsync();
        foreach (var name in gone)
        {
            PolicyLog.Pruned(logger, name, State.Waiting.Count);
        }

        WakeWaiting();
    }

    public Task<IReadOnlyList<NamedCertificatePolicy>> GetPoliciesAsync() =>
        Task.FromResult<IReadOnlyList<NamedCertificatePolicy>>([.. State.Policies.Select(p => new NamedCertificatePolicy(p.Key, p.Value))]);

    public async Task WaitAsync(string certificateKey)
    {
        if (State.Waiting.Add(certificateKey))
        {
            await SaveAsync();
        }
    }

    public async Task StopWaitingAsync(string certificateKey)
    {
        if (State.Waiting.Remove(certificateKey))
        {
            await SaveAsync();
        }
    }

    /// <summary>One-way: each refused Certificate evaluates again in its own turn (and stops waiting once allowed).</summary>
    private void WakeWaiting()
    {
        foreach (var key in State.Waiting)
        {
            _ = GrainFactory.GetGrain<ICertificatePolicySubscriber>(key).OnPoliciesChangedAsync();
        }
    }

    private Task SaveAsync() => Persistence.SaveAsync(state, DeactivateOnIdle);
}
