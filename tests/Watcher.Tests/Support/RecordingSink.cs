using Notary.Grains.Abstractions;

namespace Notary.Watcher.Tests.Support;

public enum Action
{
    Apply,
    Delete,
    SecretChanged,
    StoredSecretDeleted,
    PolicyApply,
    PolicyDelete,
    PoliciesListed,
    BreachApply,
    BreachDelete,
    TrustSourceChanged,
    IssuerApply,
    IssuerDelete,
    CaSecretChanged,
    IssuersListed,
    Renew,
}

/// <summary>One delivery: what the watcher forwarded, with the incarnation (uid) and generation it named.</summary>
public sealed record Delivery(Action Action, ResourceKind? Kind, string Key, string? Uid, long Generation, object? Spec)
{
    public override string ToString() => $"{Action} {Kind} {Key} uid={Uid} gen={Generation}";
}

/// <summary>Records what the watcher forwards; can fail on demand, as a grain that is not up yet would.</summary>
public sealed class RecordingSink : IResourceEventSink
{
    private readonly Lock _lock = new();
    private readonly List<Delivery> _deliveries = [];
    private readonly Dictionary<string, int> _failuresLeft = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _attempts;

    public IReadOnlyList<Delivery> Deliveries
    {
        get
        {
            lock (_lock)
            {
                return [.. _deliveries];
            }
        }
    }

    /// <summary>Calls that reached the sink, failed ones included.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>The next <paramref name="times"/> calls for <paramref name="key"/> throw.</summary>
    public void FailNext(string key, int times)
    {
        lock (_lock)
        {
            _failuresLeft[key] = times;
        }
    }

    public IEnumerable<Delivery> For(string key) => Deliveries.Where(d => d.Key == key);

    public async Task<IReadOnlyList<Delivery>> WaitAsync(Func<IReadOnlyList<Delivery>, bool> condition, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                changed = _changed.Task;
            }

            var snapshot = Deliveries;
            if (condition(snapshot))
            {
                return snapshot;
            }

            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting for {what}. Delivered:\n  {string.Join("\n  ", snapshot)}");
            }
        }
    }

    public Task ApplyCertificateAsync(ResourceKey resource, CertificateSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.Apply, ResourceKind.Certificate, resource.ToString(), origin.Uid, origin.Generation, spec));

    /// <summary>Recorded with the token as its spec and no uid or generation (the sink is not given them).</summary>
    public Task RenewCertificateAsync(ResourceKey resource, string token, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.Renew, ResourceKind.Certificate, resource.ToString(), null, 0, token));

    public Task ApplyKeystoreAsync(ResourceKey resource, KeystoreSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.Apply, ResourceKind.Keystore, resource.ToString(), origin.Uid, origin.Generation, spec));

    public Task ApplyTruststoreAsync(ResourceKey resource, TruststoreSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.Apply, ResourceKind.Truststore, resource.ToString(), origin.Uid, origin.Generation, spec));

    public Task DeleteAsync(ResourceKind kind, ResourceKey resource, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.Delete, kind, resource.ToString(), origin.Uid, origin.Generation, null));

    public Task MetadataSecretChangedAsync(ResourceKey secret, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.SecretChanged, null, secret.ToString(), null, 0, null));

    public Task StoredSecretDeletedAsync(ResourceKind kind, ResourceKey store, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.StoredSecretDeleted, kind, store.ToString(), null, 0, null));

    public Task ApplyCertificatePolicyAsync(string name, CertificatePolicySpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.PolicyApply, null, name, origin.Uid, origin.Generation, spec));

    public Task DeleteCertificatePolicyAsync(string name, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.PolicyDelete, null, name, null, 0, null));

    /// <summary>Recorded with key "*" and the uid-by-name map as its spec.</summary>
    public Task CertificatePoliciesListedAsync(IReadOnlyDictionary<string, string> existing, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.PoliciesListed, null, "*", null, 0, new Dictionary<string, string>(existing, StringComparer.Ordinal)));

    public Task TrustSourceChangedAsync(ResourceKey truststore, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.TrustSourceChanged, ResourceKind.Truststore, truststore.ToString(), null, 0, null));

    /// <summary>While set and not completed, a Breach's forward waits on it (a slow breach grain).</summary>
    public Task? BreachGate { get; set; }

    public async Task ApplyBreachAsync(ResourceKey breach, BreachRequest request, CancellationToken cancellationToken)
    {
        if (BreachGate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        await Record(new Delivery(Action.BreachApply, null, breach.ToString(), request.Uid, 0, request));
    }

    public Task DeleteBreachAsync(ResourceKey breach, string uid, BreachRequest? spec, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.BreachDelete, null, breach.ToString(), uid, 0, spec));

    /// <summary>While set and not completed, an issuer's forward waits on it (a slow issuer grain).</summary>
    public Task? IssuerGate { get; set; }

    public async Task ApplyIssuerAsync(string issuerKey, IssuerSpec spec, ResourceVersionInfo origin, CancellationToken cancellationToken)
    {
        if (IssuerGate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        await Record(new Delivery(Action.IssuerApply, null, issuerKey, origin.Uid, origin.Generation, spec));
    }

    public Task DeleteIssuerAsync(string issuerKey, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.IssuerDelete, null, issuerKey, null, 0, null));

    /// <summary>While set and not completed, the issuers' prune waits on it (a slow issuer registry).</summary>
    public Task? IssuersListedGate { get; set; }

    /// <summary>Recorded with the kind as key and the existing grain keys (ordered) as spec.</summary>
    public async Task IssuersListedAsync(string kind, IReadOnlySet<string> existing, CancellationToken cancellationToken)
    {
        if (IssuersListedGate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        await Record(new Delivery(Action.IssuersListed, null, kind, null, 0, existing.Order(StringComparer.Ordinal).ToList()));
    }

    public Task CaSecretChangedAsync(string issuerKey, CancellationToken cancellationToken) =>
        Record(new Delivery(Action.CaSecretChanged, null, issuerKey, null, 0, null));

    private Task Record(Delivery delivery)
    {
        Interlocked.Increment(ref _attempts);
        lock (_lock)
        {
            if (_failuresLeft.TryGetValue(delivery.Key, out var left) && left > 0)
            {
                _failuresLeft[delivery.Key] = left - 1;
                return Task.FromException(new InvalidOperationException($"grain for {delivery.Key} unavailable (test)"));
            }

            _deliveries.Add(delivery);
            _changed.TrySetResult();
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        return Task.CompletedTask;
    }
}
