using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Policies;

namespace Notary.Grains;

/// <summary>
/// The cluster's CertificatePolicies (one activation, key "cluster"): holds them for the
/// Certificates to evaluate (<see cref="NamePolicy"/>), and wakes every Certificate they refused
/// when one is applied, changed or deleted, so a refused Certificate is issued as soon as a
/// policy allows it, without a retry timer.
/// </summary>
public sealed class CertificatePolicyGrain(
    [PersistentState("certificatepolicies", GrainStorage.Name)] IPersistentState<CertificatePolicyState> state,
    ILogger<CertificatePolicyGrain> logger) : Grain, ICertificatePolicyGrain
{
    private CertificatePolicyState State => state.State;

    public async Task ApplyAsync(string name, CertificatePolicySpec spec, ResourceVersionInfo origin)
    {
        if (State.Origins.TryGetValue(name, out var known) && known == origin && State.Policies.ContainsKey(name))
        {
            // A resync of what is held: nothing changed, nobody to wake.
            return;
        }

        if (NamePolicy.Validate(spec) is { } problem)
        {
            PolicyLog.Invalid(logger, name, problem);
        }

        State.Policies[name] = spec;
        State.Origins[name] = origin;
        await SaveAsync();
        PolicyLog.Applied(logger, name, origin.Generation, State.Waiting.Count);
        WakeWaiting();
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
