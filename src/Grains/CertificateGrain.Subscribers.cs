using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains;

// Who uses the certificate: the stores subscribed to it (told of every change), the quarantine
// that takes it out of every truststore, and its entry in the tag index.
public sealed partial class CertificateGrain
{
    public async Task SubscribeAsync(SubscriberRef subscriber)
    {
        if (State.AddSubscriber(subscriber))
        {
            await SaveAsync();
        }
    }

    public async Task UnsubscribeAsync(SubscriberRef subscriber)
    {
        if (State.RemoveSubscriber(subscriber))
        {
            await SaveAsync();
            if ((subscriber.Kind == ResourceKind.Truststore && State.Roll is not null) || (subscriber.Kind == ResourceKind.Keystore && State.KeystoresWritten is not null))
            {
                // The roll may wait for nothing more now (RollPolicy counts from AllWrittenAt), nor
                // an overlap for a keystore (it starts once the remaining keystores confirmed).
                await AdvanceRollAsync();
            }
        }
    }

    public Task<IReadOnlyList<SubscriberRef>> GetSubscribersAsync() =>
        Task.FromResult<IReadOnlyList<SubscriberRef>>([.. State.Subscribers.OrderBy(s => s.Kind).ThenBy(s => s.Key, StringComparer.Ordinal)]);

    public async Task<CertificateStatus?> HoldQuarantineAsync(string breach, bool hold, string reason)
    {
        var before = State.IsQuarantined;
        if (!State.HoldQuarantine(breach, hold))
        {
            return State.Spec is null ? null : BuildStatus();
        }

        var quarantined = State.IsQuarantined;
        if (State.Spec is null || before == quarantined)
        {
            // Counted only: nothing a truststore contains changes (another quarantine still holds
            // it), or there is no certificate (yet) to publish a condition on.
            await SaveAsync();
            return State.Spec is null ? null : BuildStatus();
        }

        var now = time.GetUtcNow();
        var generation = State.Origin?.Generation ?? 0;
        if (quarantined)
        {
            ConditionList.Set(State.Conditions, Conditions.Compromised, Conditions.True, "Quarantined", $"Quarantined: {reason}. Truststores no longer trust it until every quarantine Breach of it is deleted.", now, generation);
        }
        else
        {
            ConditionList.Set(State.Conditions, Conditions.Compromised, Conditions.False, "QuarantineLifted", $"The quarantine was lifted: {reason}.", now, generation);
        }

        await SaveAsync();
        await _reporter.EventAsync(_resource, State.Origin?.Uid, quarantined ? EventSeverity.Warning : EventSeverity.Normal,
            quarantined ? "Quarantined" : "QuarantineLifted", quarantined ? $"Certificate quarantined: {reason}." : $"Quarantine lifted: {reason}.");
        await PublishAsync();
        // Revision 0: nothing was issued, but what truststores may contain changed.
        NotifySubscribers(0);
        return BuildStatus();
    }

    public Task<IReadOnlyList<string>> GetQuarantinesAsync() =>
        Task.FromResult<IReadOnlyList<string>>([.. State.QuarantinedBy.Order(StringComparer.Ordinal)]);

    private async Task RegisterTagAsync(string fqdn)
    {
        if (State.RegisteredFqdn == fqdn)
        {
            return;
        }

        await GrainFactory.GetGrain<ICertificateTagGrain>(_resource.Name).RegisterAsync(new TagRegistration(_resource.Namespace, fqdn, State.Origin?.Uid));
        State.RegisteredFqdn = fqdn;
    }

    private void NotifySubscribers(long revision)
    {
        var key = _resource.ToString();
        foreach (var subscriber in State.Subscribers)
        {
            // One-way calls: they return once sent, so this does not wait on any rebuild.
            _ = Subscribers.Get(GrainFactory, subscriber).OnCertificateChangedAsync(key, revision);
        }
    }

    /// <summary>Notifies the named truststores only (a roll asking the ones it still waits for again).</summary>
    private void Notify(long revision, IEnumerable<string> truststores)
    {
        var key = _resource.ToString();
        foreach (var truststore in truststores)
        {
            _ = Subscribers.Get(GrainFactory, new SubscriberRef(ResourceKind.Truststore, truststore)).OnCertificateChangedAsync(key, revision);
        }
    }
}
