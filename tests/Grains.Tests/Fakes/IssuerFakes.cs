using System.Collections.Concurrent;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Orleans.Serialization;
using Orleans.Storage;

namespace Notary.Grains.Tests.Fakes;

/// <summary>CA Secrets (tls.crt, tls.key) in memory by namespace/name, recording every read.</summary>
public sealed class InMemoryCaSecrets : ICaSecretReader
{
    private readonly ConcurrentDictionary<(string Namespace, string Name), (string? Certificate, string? Key)> _secrets = new();
    private readonly ConcurrentQueue<(string Namespace, string Name)> _reads = new();
    private long _version;

    public string NotaryNamespace => "notary-system";

    public IReadOnlyCollection<string> ReservedSecretNames => ["notary-ca", "notary-state-key"];

    public IReadOnlyList<(string Namespace, string Name)> Reads => [.. _reads];

    public void Put(string @namespace, string name, string? certificatePem, string? keyPem)
    {
        Interlocked.Increment(ref _version);
        _secrets[(@namespace, name)] = (certificatePem, keyPem);
    }

    public void Remove(string @namespace, string name) => _secrets.TryRemove((@namespace, name), out _);

    private readonly ConcurrentDictionary<(string Namespace, string Name), int> _failures = new();

    /// <summary>The next <paramref name="times"/> reads of that Secret throw, as an unreachable API server would.</summary>
    public void FailNext(string @namespace, string name, int times) => _failures[(@namespace, name)] = times;

    private readonly ConcurrentDictionary<string, Func<Task>> _holds = new(StringComparer.Ordinal);

    /// <summary>Reads of that namespace's Secrets await <paramref name="hold"/> first (null: no longer), as a slow API server would.</summary>
    public void HoldReads(string @namespace, Func<Task>? hold)
    {
        if (hold is null)
        {
            _holds.TryRemove(@namespace, out _);
        }
        else
        {
            _holds[@namespace] = hold;
        }
    }

    public async Task<CaSecretContent> ReadAsync(string @namespace, string secretName, CancellationToken cancellationToken)
    {
        if (_holds.TryGetValue(@namespace, out var hold))
        {
            await hold();
        }

        _reads.Enqueue((@namespace, secretName));
        if (_failures.TryGetValue((@namespace, secretName), out var left) && left > 0 && _failures.TryUpdate((@namespace, secretName), left - 1, left))
        {
            throw new HttpRequestException("injected: the API server is unreachable");
        }

        var version = Interlocked.Read(ref _version).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return !_secrets.TryGetValue((@namespace, secretName), out var secret) ? new CaSecretContent(CaSecretOutcome.SecretMissing, null, null, null)
            : secret.Certificate is null || secret.Key is null ? new CaSecretContent(CaSecretOutcome.KeyMissing, null, null, version)
            : new CaSecretContent(CaSecretOutcome.Found, secret.Certificate, secret.Key, version);
    }
}

/// <summary>Issuer statuses as written, by issuer key.</summary>
public sealed class RecordingIssuerStatus : IIssuerStatusWriter
{
    private readonly ConcurrentDictionary<string, IssuerStatus> _statuses = new(StringComparer.Ordinal);

    public Signal Changed { get; } = new();

    public Task WriteIssuerStatusAsync(string issuerKey, IssuerStatus status, CancellationToken cancellationToken)
    {
        _statuses[issuerKey] = status;
        Changed.Pulse();
        return Task.CompletedTask;
    }

    public IssuerStatus? Of(string issuerKey) => _statuses.GetValueOrDefault(issuerKey);

    public Task<IssuerStatus> WaitAsync(string issuerKey, Func<IssuerStatus, bool> condition, string what) =>
        Changed.WaitAsync(() => Of(issuerKey), condition, TimeSpan.FromSeconds(30), $"issuer {issuerKey}: {what}");

    public Task<IssuerStatus> WaitReasonAsync(string issuerKey, string reason) =>
        WaitAsync(issuerKey, s => s.Conditions.Any(c => c.Type == Conditions.Ready && c.Reason == reason), $"Ready reason {reason}");
}

/// <summary>
/// Stands in for the CA rotation grain of the issuers a test registers (the "rot" side of the
/// contract), recording the issuer's calls; every other issuer gets the real grain.
/// </summary>
public sealed class FakeCaRotations : ICaRotationLocator
{
    private readonly ConcurrentDictionary<string, FakeCaRotation> _fakes = new(StringComparer.Ordinal);

    public FakeCaRotation Register(string issuerKey) => _fakes.GetOrAdd(issuerKey, _ => new FakeCaRotation());

    public ICaRotationGrain? Find(string issuerKey) => _fakes.GetValueOrDefault(issuerKey);
}

public sealed class FakeCaRotation : ICaRotationGrain
{
    private readonly ConcurrentQueue<CaRotationStart> _begun = new();
    private readonly ConcurrentQueue<(ResourceKey Certificate, string Fingerprint)> _issued = new();
    private readonly ConcurrentQueue<ResourceKey> _left = new();
    private int _cancelled;
    private int _paused;

    public Signal Changed { get; } = new();

    public IReadOnlyList<CaRotationStart> Begun => [.. _begun];

    public IReadOnlyList<(ResourceKey Certificate, string Fingerprint)> Issued => [.. _issued];

    public int Cancelled => Volatile.Read(ref _cancelled);

    /// <summary>What MaySignWithNewCaAsync answers.</summary>
    public bool MaySign { get; set; }

    /// <summary>What GetStatusAsync answers (null: no rotation in progress).</summary>
    public IssuerRotationStatus? Status { get; set; }

    public Task BeginAsync(CaRotationStart start)
    {
        _begun.Enqueue(start);
        Changed.Pulse();
        return Task.CompletedTask;
    }

    public Task OnIssuedAsync(ResourceKey certificate, string caFingerprint)
    {
        _issued.Enqueue((certificate, caFingerprint));
        Changed.Pulse();
        return Task.CompletedTask;
    }

    public Task<bool> MaySignWithNewCaAsync() => Task.FromResult(MaySign);

    public Task<IssuerRotationStatus?> GetStatusAsync() => Task.FromResult(Status);

    public Task CancelAsync()
    {
        Interlocked.Increment(ref _cancelled);
        return Task.CompletedTask;
    }

    public int Paused => Volatile.Read(ref _paused);

    public IReadOnlyList<ResourceKey> Left => [.. _left];

    public Task PauseAsync()
    {
        Interlocked.Increment(ref _paused);
        Changed.Pulse();
        return Task.CompletedTask;
    }

    public Task OnCertificateLeftAsync(ResourceKey certificate)
    {
        _left.Enqueue(certificate);
        Changed.Pulse();
        return Task.CompletedTask;
    }
}

/// <summary>Keeps the bytes of every write of the issuer grains' state (as the production storage serializes it), passing everything on.</summary>
public sealed class StateBytesRecorder
{
    /// <summary>The state names recorded.</summary>
    public const string Recorded = "issuer";

    private readonly ConcurrentDictionary<(string State, GrainId Grain), byte[]> _written = new();

    public IReadOnlyList<byte[]> Written(string stateName, GrainId grain) =>
        [.. _written.Where(e => e.Key.State == stateName && e.Key.Grain == grain).Select(e => e.Value)];

    /// <summary>Every state of that name ever written, each grain's writes concatenated (searched for secrets).</summary>
    public IReadOnlyList<byte[]> All(string stateName) => [.. _written.Where(e => e.Key.State == stateName).Select(e => e.Value)];

    public IGrainStorage Decorate(IGrainStorage inner, Serializer serializer) => new Storage(this, inner, serializer);

    private sealed class Storage(StateBytesRecorder recorder, IGrainStorage inner, Serializer serializer) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            if (stateName == Recorded)
            {
                var bytes = serializer.SerializeToArray(grainState.State);
                recorder._written.AddOrUpdate((stateName, grainId), bytes, (_, before) => [.. before, .. bytes]);
            }

            return inner.WriteStateAsync(stateName, grainId, grainState);
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
    }
}

/// <summary>ACM issuers whose check answers what a test sets per Private CA ARN; Create wraps the built-in CA, recording the names and specs.</summary>
public sealed class FakeAcmIssuerFactory(ICertificateAuthoritySource authority) : IAcmIssuerFactory
{
    private readonly ConcurrentDictionary<string, AcmIssuerCheck> _checks = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Name, AcmIssuerSpec Spec)> _created = new();

    public IReadOnlyList<(string Name, AcmIssuerSpec Spec)> Created => [.. _created];

    public void Answer(string privateCaArn, AcmIssuerCheck check) => _checks[privateCaArn] = check;

    private readonly ConcurrentQueue<(string Name, string Arn, RetireReason Reason)> _retired = new();
    private volatile bool _retireFails;
    private readonly ConcurrentQueue<IssueRequest> _requests = new();

    /// <summary>Every request that reached an issuer this factory created.</summary>
    public IReadOnlyList<IssueRequest> Requests => [.. _requests];

    /// <summary>Every certificate retired through an issuer this factory created, with that issuer's name (its issuer key).</summary>
    public IReadOnlyList<(string Name, string Arn, RetireReason Reason)> Retired => [.. _retired];

    /// <summary>While true, retiring fails as if AWS were unreachable.</summary>
    public bool RetireFails { get => _retireFails; set => _retireFails = value; }

    public ICertificateIssuer Create(string name, AcmIssuerSpec spec)
    {
        _created.Enqueue((name, spec));
        return new Recording(new Issuers.BuiltInIssuer(authority, TimeProvider.System) { Name = name, ArnPrefix = $"arn:aws:acm-pca:{spec.Region}:111122223333:certificate/" }, this);
    }

    private sealed class Recording(ICertificateIssuer inner, FakeAcmIssuerFactory factory) : ICertificateIssuer
    {
        public string Name => inner.Name;

        public bool Supports(string certificateType) => inner.Supports(certificateType);

        public Task<IssueProgress> IssueAsync(IssueRequest request, CancellationToken cancellationToken)
        {
            factory._requests.Enqueue(request);
            return inner.IssueAsync(request, cancellationToken);
        }

        public Task RetireAsync(string arn, RetireReason reason, CancellationToken cancellationToken)
        {
            if (factory.RetireFails)
            {
                throw new HttpRequestException("acm-pca unreachable");
            }

            factory._retired.Enqueue((inner.Name, arn, reason));
            return Task.CompletedTask;
        }
    }

    public Task<AcmIssuerCheck> CheckAsync(AcmIssuerSpec spec, CancellationToken cancellationToken) =>
        Task.FromResult(_checks.GetValueOrDefault(spec.PrivateCaArn) ?? new AcmIssuerCheck(new IssuerReadiness(false, "CaNotFound", $"Private CA {spec.PrivateCaArn} does not exist."), null));
}
