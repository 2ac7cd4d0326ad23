using System.Collections.Concurrent;
using System.Text;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Grains.Tests.Fakes;

/// <summary>Waits for a condition on values that change: no sleeps, a deadline instead.</summary>
public sealed class Signal
{
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Pulse() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public async Task<T> WaitAsync<T>(Func<T?> probe, Func<T, bool> condition, TimeSpan timeout, string what)
        where T : class
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var changed = _changed.Task;
            var value = probe();
            if (value is not null && condition(value))
            {
                return value;
            }

            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}; last value: {value}");
            }
        }
    }
}

/// <summary>Secret store in memory, with an optional failure switch.</summary>
public sealed class InMemorySecretStore : ISecretStore
{
    private readonly ConcurrentDictionary<(ResourceKind, ResourceKey), StoreWrite> _stores = new();
    public Signal Changed { get; } = new();
    private volatile bool _fail;
    private int _puts;

    public bool Fail { get => _fail; set => _fail = value; }

    private readonly ConcurrentDictionary<ResourceKey, Exception> _failing = new();

    /// <summary>Fails writes of one resource only (with <paramref name="error"/>), so other tests in the collection are unaffected.</summary>
    public void FailFor(ResourceKey resource, Exception error) => _failing[resource] = error;

    public void Recover(ResourceKey resource) => _failing.TryRemove(resource, out _);

    public int Puts => Volatile.Read(ref _puts);

    private readonly ConcurrentDictionary<ResourceKey, ConcurrentQueue<DateTimeOffset>> _attempts = new();

    /// <summary>The clock that stamps <see cref="AttemptsOf"/> (the fixture's fake clock); unset, attempts are not recorded.</summary>
    public TimeProvider? Clock { get; set; }

    /// <summary>When each write of a resource was attempted, failed ones included.</summary>
    public IReadOnlyList<DateTimeOffset> AttemptsOf(ResourceKey resource) =>
        _attempts.TryGetValue(resource, out var attempts) ? [.. attempts] : [];

    public Task<StoredLocation> PutAsync(StoreWrite write, CancellationToken cancellationToken)
    {
        if (Clock is { } clock)
        {
            _attempts.GetOrAdd(write.Resource, _ => new()).Enqueue(clock.GetUtcNow());
        }

        if (Fail)
        {
            throw new IOException("secret store unavailable (test)");
        }

        if (_failing.TryGetValue(write.Resource, out var error))
        {
            throw error;
        }

        Interlocked.Increment(ref _puts);
        _stores[(write.Kind, write.Resource)] = write;
        _history.Enqueue((write, Clock?.GetUtcNow()));
        Changed.Pulse();
        var location = $"k8s://{write.Resource.Namespace}/secrets/{write.Resource.Name}";
        return Task.FromResult(new StoredLocation(location, location));
    }

    public Task<bool> DeleteAsync(ResourceKey resource, ResourceKind kind, CancellationToken cancellationToken)
    {
        var removed = _stores.TryRemove((kind, resource), out _);
        Changed.Pulse();
        return Task.FromResult(removed);
    }

    public StoreWrite? Get(ResourceKind kind, ResourceKey resource) => _stores.GetValueOrDefault((kind, resource));

    private readonly ConcurrentQueue<(StoreWrite Write, DateTimeOffset? At)> _history = new();

    /// <summary>Every successful write of every store, in the order they were stored.</summary>
    public IReadOnlyList<StoreWrite> AllWrites() => [.. _history.Select(h => h.Write)];

    /// <summary>Every successful write of one store, in order, stamped by <see cref="Clock"/> when set.</summary>
    public IReadOnlyList<(StoreWrite Write, DateTimeOffset? At)> History(ResourceKind kind, ResourceKey resource) =>
        [.. _history.Where(h => h.Write.Kind == kind && h.Write.Resource == resource)];
}

/// <summary>Records every status written and lets tests wait for one.</summary>
public sealed class RecordingStatusWriter : IStatusWriter
{
    private readonly ConcurrentDictionary<ResourceKey, CertificateStatus> _certificates = new();
    private readonly ConcurrentDictionary<(ResourceKind, ResourceKey), StoreStatus> _stores = new();
    private readonly ConcurrentDictionary<ResourceKey, int> _certificateWrites = new();
    private readonly ConcurrentDictionary<ResourceKey, ConcurrentQueue<CertificateStatus>> _certificateHistory = new();
    public Signal Changed { get; } = new();

    public Task WriteCertificateStatusAsync(ResourceKey resource, CertificateStatus status, CancellationToken cancellationToken)
    {
        _certificates[resource] = status;
        _certificateHistory.GetOrAdd(resource, _ => new()).Enqueue(status);
        _certificateWrites.AddOrUpdate(resource, 1, (_, writes) => writes + 1);
        Changed.Pulse();
        return Task.CompletedTask;
    }

    public Task WriteStoreStatusAsync(ResourceKey resource, ResourceKind kind, StoreStatus status, CancellationToken cancellationToken)
    {
        _stores[(kind, resource)] = status;
        Changed.Pulse();
        return Task.CompletedTask;
    }

    public CertificateStatus? Certificate(ResourceKey key) => _certificates.GetValueOrDefault(key);

    /// <summary>Every status written for the certificate, oldest first.</summary>
    public IReadOnlyList<CertificateStatus> CertificateHistory(ResourceKey key) => [.. _certificateHistory.GetValueOrDefault(key) ?? []];

    /// <summary>How many times the certificate's status was written.</summary>
    public int CertificateWrites(ResourceKey key) => _certificateWrites.GetValueOrDefault(key);

    public StoreStatus? Store(ResourceKind kind, ResourceKey key) => _stores.GetValueOrDefault((kind, key));

    public Task<StoreStatus> WaitStoreAsync(ResourceKind kind, ResourceKey key, Func<StoreStatus, bool> condition, string what) =>
        Changed.WaitAsync(() => Store(kind, key), condition, TimeSpan.FromSeconds(30), $"{kind} {key}: {what}");

    public Task<CertificateStatus> WaitCertificateAsync(ResourceKey key, Func<CertificateStatus, bool> condition, string what) =>
        Changed.WaitAsync(() => Certificate(key), condition, TimeSpan.FromSeconds(30), $"Certificate {key}: {what}");

    public Task<StoreStatus> WaitReadyAsync(ResourceKind kind, ResourceKey key) =>
        WaitStoreAsync(kind, key, s => s.IsReady, "Ready=True");

    public Task<StoreStatus> WaitReasonAsync(ResourceKind kind, ResourceKey key, string reason) =>
        WaitStoreAsync(kind, key, s => s.Condition(Conditions.Ready)?.Reason == reason, $"Ready reason {reason}");
}

public sealed record RecordedEvent(ResourceKey Resource, ResourceKind Kind, EventSeverity Severity, string Reason, string Message);

public sealed class RecordingEventRecorder : IEventRecorder
{
    private readonly ConcurrentQueue<RecordedEvent> _events = new();

    public Task RecordAsync(ResourceKey resource, ResourceKind kind, EventSeverity severity, string reason, string message, CancellationToken cancellationToken)
    {
        _events.Enqueue(new RecordedEvent(resource, kind, severity, reason, message));
        return Task.CompletedTask;
    }

    public IReadOnlyList<RecordedEvent> For(ResourceKey resource) => [.. _events.Where(e => e.Resource == resource)];
}

/// <summary>Trust sources in memory: "namespace/kind/name" to data key to PEM; defaultCAs is <see cref="DefaultCAs"/>.</summary>
public sealed class InMemoryTrustSources : ITrustSourceReader
{
    private readonly ConcurrentDictionary<string, Dictionary<string, string>> _objects = new();

    /// <summary>The machine's root bundle; null: missing from the image.</summary>
    public string? DefaultCAs { get; set; }

    public void Set(string @namespace, string kind, string name, string key, string pem) =>
        _objects[$"{@namespace}/{kind}/{name}"] = new Dictionary<string, string>(StringComparer.Ordinal) { [key] = pem };

    public void Remove(string @namespace, string kind, string name) => _objects.TryRemove($"{@namespace}/{kind}/{name}", out _);

    public Task<TrustSourceContent> ReadAsync(string truststoreNamespace, TrustSourceSpec source, CancellationToken cancellationToken) =>
        Task.FromResult(source.Kind == TrustSourceKinds.DefaultCAs
            ? new TrustSourceContent(DefaultCAs is null ? TrustSourceReadOutcome.ObjectMissing : TrustSourceReadOutcome.Found, DefaultCAs)
            : !_objects.TryGetValue($"{truststoreNamespace}/{source.Kind}/{source.Name}", out var data)
                ? new TrustSourceContent(TrustSourceReadOutcome.ObjectMissing, null)
                : data.TryGetValue(source.Key ?? string.Empty, out var pem)
                    ? new TrustSourceContent(TrustSourceReadOutcome.Found, pem)
                    : new TrustSourceContent(TrustSourceReadOutcome.KeyMissing, null));
}

/// <summary>Metadata Secrets in memory: namespace/name to the metadata.json text (null: Secret without the key).</summary>
public sealed class InMemoryMetadataSource : IServiceMetadataSource
{
    private readonly ConcurrentDictionary<string, string?> _secrets = new();
    private readonly ConcurrentDictionary<string, Exception> _failing = new();

    /// <summary>The next read of this Secret throws <paramref name="error"/> (an API server that did not answer).</summary>
    public void FailNext(string @namespace, string name, Exception error) => _failing[$"{@namespace}/{name}"] = error;

    public void Set(string @namespace, string name, string? metadataJson) => _secrets[$"{@namespace}/{name}"] = metadataJson;

    public void Remove(string @namespace, string name) => _secrets.TryRemove($"{@namespace}/{name}", out _);

    public Task<MetadataSecretContent> ReadAsync(string @namespace, string secretName, CancellationToken cancellationToken) =>
        _failing.TryRemove($"{@namespace}/{secretName}", out var error)
            ? Task.FromException<MetadataSecretContent>(error)
            : Task.FromResult(_secrets.TryGetValue($"{@namespace}/{secretName}", out var json)
                ? new MetadataSecretContent(true, json)
                : new MetadataSecretContent(false, null));

    public static string Json(string keyStorePassword, string trustStorePassword, string? keyStoreName = null, string? trustStoreName = null) =>
        System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string?>
        {
            ["tlsStoreRootPath"] = "/etc/tls",
            ["tlsKeyStoreName"] = keyStoreName,
            ["tlsTrustStoreName"] = trustStoreName,
            ["tlsKeyStorePassword"] = keyStorePassword,
            ["tlsTrustStorePassword"] = trustStorePassword,
        });
}

/// <summary>A CA created once in memory (the Kubernetes adapter keeps it in a Secret).</summary>
public sealed class InMemoryCertificateAuthoritySource : ICertificateAuthoritySource, IDisposable
{
    private readonly Lazy<CertificateAuthority> _ca = new(() =>
        CertificateAuthority.CreateRoot("Notary Test Root CA", TimeSpan.FromDays(3650), DateTimeOffset.UtcNow, new KeySpec(KeyAlgorithm.Ecdsa, 256)));

    public CertificateAuthority Authority => _ca.Value;

    public Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken) => Task.FromResult(_ca.Value);

    public void Dispose()
    {
        if (_ca.IsValueCreated)
        {
            _ca.Value.Dispose();
        }
    }
}

/// <summary>Wraps an issuer to count calls and fail on demand.</summary>
public sealed class CountingIssuer(ICertificateIssuer inner) : ICertificateIssuer
{
    private int _issued;
    private volatile bool _fail;

    public int Issued => Volatile.Read(ref _issued);

    public bool Fail { get => _fail; set => _fail = value; }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<ResourceKey, bool> _failing = new();

    /// <summary>Fails issuance for one resource only, so other tests in the collection are unaffected.</summary>
    public void FailFor(ResourceKey resource) => _failing[resource] = true;

    public void Recover(ResourceKey resource) => _failing.TryRemove(resource, out _);

    public string Name => inner.Name;

    public bool Supports(string certificateType) => inner.Supports(certificateType);

    public async Task<IssueProgress> IssueAsync(IssueRequest request, CancellationToken cancellationToken)
    {
        if (Fail || _failing.ContainsKey(request.Resource))
        {
            throw new HttpRequestException("issuer unavailable (test)");
        }

        var progress = await inner.IssueAsync(request, cancellationToken);
        Interlocked.Increment(ref _issued);
        return progress;
    }
}

/// <summary>
/// An issuer that takes steps, like ACM: the first call starts an issuance and answers with a
/// ticket (pending validation with a DNS record while <see cref="Validated"/> is false), the
/// next calls with that ticket finish it through the built-in CA. Records every call and every
/// retired ARN, and the tickets it handed out.
/// </summary>
public sealed class SteppingIssuer(ICertificateIssuer inner, string name = "stepping") : ICertificateIssuer
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IssueRequest> _started = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<IssueRequest> _calls = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Arn, RetireReason Reason)> _retired = new();
    private volatile bool _validated = true;

    public string Name => name;

    /// <summary>While false, a started issuance stays pending validation.</summary>
    public bool Validated { get => _validated; set => _validated = value; }

    public TimeSpan RetryAfter { get; set; } = TimeSpan.Zero;

    public IReadOnlyCollection<IssueRequest> Calls => _calls;

    public IReadOnlyCollection<(string Arn, RetireReason Reason)> Retired => _retired;

    public int Started => _started.Count;

    public bool Supports(string certificateType) => true;

    public async Task<IssueProgress> IssueAsync(IssueRequest request, CancellationToken cancellationToken)
    {
        _calls.Enqueue(request);
        if (request.Ticket is null)
        {
            var ticket = $"urn:stepping:{request.Resource}:{Guid.NewGuid():N}";
            _started[ticket] = request;
            return IssueProgress.Pending(ticket, "Issuing", "Requested.", TimeSpan.Zero);
        }

        if (!_started.ContainsKey(request.Ticket))
        {
            throw new InvalidOperationException($"unknown ticket {request.Ticket}");
        }

        if (!Validated)
        {
            return IssueProgress.Pending(request.Ticket, "PendingValidation", $"Create the DNS record for {request.Fqdn}.", RetryAfter,
                [new ValidationRecord($"_x.{request.Fqdn}.", "CNAME", "_y.acm-validations.aws.")]);
        }

        var progress = await inner.IssueAsync(request with { Ticket = null }, cancellationToken);
        return IssueProgress.Issued(progress.Material! with { Arn = request.Ticket });
    }

    public Task RetireAsync(string arn, RetireReason reason, CancellationToken cancellationToken)
    {
        _retired.Enqueue((arn, reason));
        return Task.CompletedTask;
    }
}

public static class Bytes
{
    public static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
