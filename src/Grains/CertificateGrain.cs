using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

/// <summary>Persisted state of a Certificate. The material is kept so stores can be rebuilt after a restart.</summary>
[GenerateSerializer]
public sealed class CertificateState
{
    [Id(0)] public CertificateSpec? Spec { get; set; }
    [Id(1)] public ResourceVersionInfo? Origin { get; set; }
    [Id(2)] public IssuedMaterial? Material { get; set; }
    /// <summary>The spec the current material was issued for.</summary>
    [Id(3)] public CertificateSpec? IssuedFor { get; set; }
    [Id(4)] public long Revision { get; set; }
    [Id(5)] public DateTimeOffset? RenewalTime { get; set; }
    [Id(6)] public List<StatusCondition> Conditions { get; set; } = [];
    [Id(7)] public HashSet<SubscriberRef> Subscribers { get; set; } = [];
    /// <summary>The fqdn registered in the tag index, null when not registered.</summary>
    [Id(8)] public string? RegisteredFqdn { get; set; }
    /// <summary>
    /// The origin whose apply reached a final outcome (issued, nothing to do, or a problem only a
    /// spec change can fix). A transient failure leaves it behind, so the next apply retries.
    /// </summary>
    [Id(9)] public ResourceVersionInfo? Reconciled { get; set; }
}

/// <summary>
/// One Certificate: validates its spec, issues through the issuer port when the certificate must
/// change, keeps serial, validity, renewal time and revision, and tells its subscribers (the
/// keystores and truststores using it) whenever the certificate changes or goes away.
/// </summary>
public sealed class CertificateGrain(
    [PersistentState("certificate", GrainStorage.Name)] IPersistentState<CertificateState> state,
    IIssuerResolver issuers,
    IStatusWriter statusWriter,
    IEventRecorder events,
    TimeProvider time,
    ILogger<CertificateGrain> logger) : Grain, ICertificateGrain
{
    private readonly Reporter _reporter = new(statusWriter, events, logger, ResourceKind.Certificate);
    private ResourceKey _resource;

    private CertificateState S => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _resource = ResourceKey.Parse(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public async Task<CertificateStatus> ApplyAsync(CertificateSpec spec, ResourceVersionInfo origin)
    {
        if (S.Origin is { } current && current.Uid == origin.Uid && origin.Generation < current.Generation)
        {
            Log.Stale(logger, nameof(ResourceKind.Certificate), _resource.ToString(), origin.Generation, current.Generation);
            return BuildStatus();
        }

        var done = S.Reconciled == origin && S.Spec is not null && CertificatePolicy.SameSpec(S.Spec, spec);
        S.Spec = spec;
        S.Origin = origin;
        if (done)
        {
            // A resync of what was already applied: publish again in case the last write failed.
            await _reporter.PublishAsync(_resource, BuildStatus());
            return BuildStatus();
        }

        await RegisterTagAsync(spec.Fqdn);
        var (valid, problem) = CertificatePolicy.Validate(spec);
        problem ??= CheckIssuer(spec);
        if (problem is not null)
        {
            S.Reconciled = origin;
            return await NotReadyAsync(problem);
        }

        if (S.Material is not null && S.IssuedFor is not null && !CertificatePolicy.AffectsCertificate(S.IssuedFor, spec))
        {
            // Nothing the certificate contains changed (e.g. only renewBefore): move the renewal time.
            S.RenewalTime = CertificatePolicy.RenewalTime(S.Material.NotBefore, S.Material.NotAfter, valid!.RenewBefore);
            SetReady(Reasons.Issued, $"Certificate is valid until {S.Material.NotAfter:O}.");
            ConditionList.Remove(S.Conditions, Conditions.Issuing);
            S.Reconciled = origin;
            await SaveAsync();
            await _reporter.PublishAsync(_resource, BuildStatus());
            return BuildStatus();
        }

        return S.Material is null
            ? await IssueAsync(valid!, "Issued", "the certificate was created")
            : await IssueAsync(valid!, "Reissued", "the spec changed");
    }

    public async Task<CertificateStatus> ReissueAsync(string reason)
    {
        if (S.Spec is null)
        {
            throw new InvalidOperationException($"Certificate {_resource} does not exist.");
        }

        var (valid, problem) = CertificatePolicy.Validate(S.Spec);
        problem ??= CheckIssuer(S.Spec);
        if (problem is not null)
        {
            return await NotReadyAsync(problem);
        }

        return await IssueAsync(valid!, "Reissued", reason);
    }

    public async Task DeleteAsync()
    {
        if (S.Spec is null && S.RegisteredFqdn is null)
        {
            return;
        }

        if (S.RegisteredFqdn is not null)
        {
            await GrainFactory.GetGrain<ICertificateTagGrain>(_resource.Name).UnregisterAsync(_resource.Namespace);
        }

        var uid = S.Origin?.Uid;
        // Subscribers stay: a Certificate created again under this name serves them again. The
        // revision stays too, so that a re-created certificate never repeats a revision a store
        // was built from.
        state.State = new CertificateState { Subscribers = S.Subscribers, Revision = S.Revision };
        await SaveAsync();
        _reporter.Reset();
        Log.Deleted(logger, nameof(ResourceKind.Certificate), _resource.ToString());
        NotifySubscribers(-1);
        await _reporter.EventAsync(_resource, uid, EventSeverity.Normal, Reasons.Deleted, "Certificate deleted; stores that use it keep their last contents.");
    }

    public Task<CertificateSnapshot> GetSnapshotAsync()
    {
        var spec = S.Spec;
        // Material issued for an older spec (a change whose re-issue has not succeeded) is not
        // this certificate any more: stores keep what they have rather than rebuild from it.
        var material = CurrentMaterial();
        var published = material is null ? null : new PublicMaterial(material.Arn, material.CertificatePem, material.ChainPem, material.SerialNumber, material.NotAfter);
        return Task.FromResult(new CertificateSnapshot(_resource, spec is not null, spec?.Fqdn, S.Revision, published));
    }

    public Task<IssuedMaterial?> GetIssuedMaterialAsync(long revision) =>
        Task.FromResult(revision == S.Revision ? CurrentMaterial() : null);

    private IssuedMaterial? CurrentMaterial() =>
        S.Spec is not null && S.IssuedFor is not null && !CertificatePolicy.AffectsCertificate(S.IssuedFor, S.Spec) ? S.Material : null;

    public Task<CertificateStatus?> GetStatusAsync() => Task.FromResult(S.Spec is null ? null : BuildStatus());

    public async Task SubscribeAsync(SubscriberRef subscriber)
    {
        if (S.Subscribers.Add(subscriber))
        {
            await SaveAsync();
        }
    }

    public async Task UnsubscribeAsync(SubscriberRef subscriber)
    {
        if (S.Subscribers.Remove(subscriber))
        {
            await SaveAsync();
        }
    }

    private async Task<CertificateStatus> IssueAsync(ValidCertificateSpec valid, string eventReason, string why)
    {
        var spec = S.Spec!;
        var issuer = issuers.Resolve(spec.Issuer)!;
        var request = new IssueRequest
        {
            Resource = _resource,
            Origin = S.Origin!,
            Type = spec.Type,
            Fqdn = spec.Fqdn,
            Alt = spec.Alt,
            Lifetime = valid.Lifetime,
            Key = valid.Key,
            Revision = S.Revision,
        };

        IssuedMaterial material;
        try
        {
            material = await issuer.IssueAsync(request, CancellationToken.None);
        }
        catch (IssuerRejectedException ex)
        {
            // Final for this spec: adapters word these messages for users (no secret in them).
            S.Reconciled = S.Origin;
            return await IssuanceFailedAsync(new Problem(ex.Reason, $"Issuer \"{issuer.Name}\" rejected the certificate: {ex.Message}"));
        }
        catch (Exception ex)
        {
            // Transient: retried on the next apply. Only the error's type reaches status and
            // events, which more people can read than the logs.
            Log.IssueFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
            return await IssuanceFailedAsync(new Problem(Reasons.IssueFailed, $"Issuer \"{issuer.Name}\" failed ({ex.GetType().Name}); Notary retries, and its log has the details."));
        }

        S.Material = material;
        S.IssuedFor = spec;
        S.Reconciled = S.Origin;
        S.Revision++;
        S.RenewalTime = CertificatePolicy.RenewalTime(material.NotBefore, material.NotAfter, valid.RenewBefore);
        SetReady(Reasons.Issued, $"Certificate is valid until {material.NotAfter:O}.");
        ConditionList.Remove(S.Conditions, Conditions.Issuing);
        // Persist before anyone hears of it: a crash after this point loses no certificate.
        await SaveAsync();
        Log.Issued(logger, _resource.ToString(), material.SerialNumber, S.Revision, material.NotAfter);
        await _reporter.EventAsync(_resource, S.Origin?.Uid, EventSeverity.Normal, eventReason,
            $"Issued serial {material.SerialNumber} (revision {S.Revision}) by {issuer.Name} because {why}; valid until {material.NotAfter:O}.");
        await _reporter.PublishAsync(_resource, BuildStatus());
        NotifySubscribers(S.Revision);
        return BuildStatus();
    }

    private Problem? CheckIssuer(CertificateSpec spec)
    {
        var issuer = issuers.Resolve(spec.Issuer);
        if (issuer is null)
        {
            return new Problem(Reasons.UnknownIssuer, $"spec.issuer \"{spec.Issuer}\" is not configured; configured issuers: {string.Join(", ", issuers.Names)}.");
        }

        if (!issuer.Supports(spec.Type))
        {
            return new Problem(Reasons.UnsupportedType, $"Issuer \"{issuer.Name}\" cannot issue {spec.Type} certificates; choose an issuer that can (ACM for Public certificates).");
        }

        return null;
    }

    /// <summary>
    /// A failed issuance. While the current certificate still matches the spec and is valid it
    /// stays Ready (services keep working); the failure shows as Issuing=False. Otherwise the
    /// certificate is not ready.
    /// </summary>
    private async Task<CertificateStatus> IssuanceFailedAsync(Problem problem)
    {
        var stillValid = S.Material is not null && S.IssuedFor is not null && S.Spec is not null
            && !CertificatePolicy.AffectsCertificate(S.IssuedFor, S.Spec) && S.Material.NotAfter > time.GetUtcNow();
        if (!stillValid)
        {
            return await NotReadyAsync(problem);
        }

        var changed = ConditionList.Set(S.Conditions, Conditions.Issuing, Conditions.False, problem.Reason, problem.Message, time.GetUtcNow(), S.Origin?.Generation ?? 0);
        await SaveAsync();
        if (changed)
        {
            await _reporter.EventAsync(_resource, S.Origin?.Uid, EventSeverity.Warning, problem.Reason, problem.Message);
        }

        await _reporter.PublishAsync(_resource, BuildStatus());
        return BuildStatus();
    }

    private async Task<CertificateStatus> NotReadyAsync(Problem problem)
    {
        var changed = ConditionList.Set(S.Conditions, Conditions.Ready, Conditions.False, problem.Reason, problem.Message, time.GetUtcNow(), S.Origin?.Generation ?? 0);
        await SaveAsync();
        if (changed)
        {
            Log.NotReady(logger, nameof(ResourceKind.Certificate), _resource.ToString(), problem.Reason, problem.Message);
            await _reporter.EventAsync(_resource, S.Origin?.Uid, EventSeverity.Warning, problem.Reason, problem.Message);
        }

        await _reporter.PublishAsync(_resource, BuildStatus());
        return BuildStatus();
    }

    private void SetReady(string reason, string message) =>
        ConditionList.Set(S.Conditions, Conditions.Ready, Conditions.True, reason, message, time.GetUtcNow(), S.Origin?.Generation ?? 0);

    private Task SaveAsync() => Persistence.SaveAsync(state, DeactivateOnIdle);

    private async Task RegisterTagAsync(string fqdn)
    {
        if (S.RegisteredFqdn == fqdn)
        {
            return;
        }

        await GrainFactory.GetGrain<ICertificateTagGrain>(_resource.Name).RegisterAsync(new TagRegistration(_resource.Namespace, fqdn));
        S.RegisteredFqdn = fqdn;
    }

    private void NotifySubscribers(long revision)
    {
        var key = _resource.ToString();
        foreach (var subscriber in S.Subscribers)
        {
            // One-way calls: they return once sent, so this does not wait on any rebuild.
            _ = Subscribers.Get(GrainFactory, subscriber).OnCertificateChangedAsync(key, revision);
        }
    }

    private CertificateStatus BuildStatus() => new()
    {
        Arn = S.Material?.Arn,
        SerialNumber = S.Material?.SerialNumber,
        NotBefore = S.Material?.NotBefore,
        NotAfter = S.Material?.NotAfter,
        RenewalTime = S.RenewalTime,
        Revision = S.Revision,
        Tags = S.Spec is null ? new Dictionary<string, string>() : new Dictionary<string, string>
        {
            ["notary.dev/namespace"] = _resource.Namespace,
            ["notary.dev/name"] = _resource.Name,
            ["notary.dev/fqdn"] = S.Spec.Fqdn,
        },
        Conditions = [.. S.Conditions],
        ObservedGeneration = S.Origin?.Generation ?? 0,
    };
}
