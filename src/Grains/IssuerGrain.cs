using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Abstractions.Retry;
using Notary.Grains.Retry;

namespace Notary.Grains;

/// <summary>
/// One Issuer or ClusterIssuer (key <see cref="IssuerKeys"/>): builds its issuer from the spec
/// (the built-in root, a team's CA key pair read from a Secret, or an ACM Private CA), reports
/// whether it is Ready, issues for the Certificates that name it, remembers which CA signed each
/// (the list a CA rotation re-issues) and wakes the Certificates that waited for it.
/// The reserved key <see cref="IssuerKeys.BuiltinRoot"/> is the built-in root itself: the
/// default path's certificates are signed through it (no Issuer object, so no status; its
/// rotation shows in logs and in Events on the certificates), see IssuerGrain.Root.cs.
/// </summary>
// This part: the grain's calls. Loading the CA and readiness: IssuerGrain.Load.cs.
public sealed partial class IssuerGrain(
    [PersistentState("issuer", GrainStorage.Name)] IPersistentState<IssuerState> state,
    IEventRecorder events,
    TimeProvider time,
    ILogger<IssuerGrain> logger) : Grain, IIssuerGrain, IRemindable, IDurableRetryOwner
{
    /// <summary>Backs up the retry timer after a transient failure to load the CA.</summary>
    public const string RetryReminder = "retry";

    /// <summary>Tickets this grain hands out while a CA rotation holds signing back (never passed to the issuer behind it).</summary>
    public const string RotationTicketPrefix = "urn:notary:issuer:ca-rotation/";

    /// <summary>How soon a certificate held back by a CA rotation asks again.</summary>
    public static readonly TimeSpan RotationRetryAfter = TimeSpan.FromSeconds(30);

    /// <summary>A transient failure (the API server, AWS unreachable) is retried after 5 s, doubling, at most 5 minutes apart.</summary>
    private static readonly ExponentialBackoff LoadBackoff = new(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), MaxDoublings: 10);

    private string _key = string.Empty;
    private string _kind = string.Empty;
    private string? _namespace;
    private string _name = string.Empty;
    private DurableRetry? _retry;
    // This activation registered the key with the issuer registry (done once per activation).
    private bool _registered;

    private IssuerState State => state.State;

    private IIssuerRegistryGrain Registry => GrainFactory.GetGrain<IIssuerRegistryGrain>(IIssuerRegistryGrain.ClusterKey);

    private DurableRetry Retry => _retry ??= new(this, RetryReminder, TimeSpan.FromMinutes(1), LoadBackoff);

    /// <summary>How users read this issuer: <c>Issuer NAMESPACE/NAME</c> or <c>ClusterIssuer NAME</c>.</summary>
    private string Display => _builtinRoot ? "Notary's built-in root CA" : _namespace is null ? $"{_kind} {_name}" : $"{_kind} {_namespace}/{_name}";

    /// <summary>The CA rotation of this issuer (same key); a registered <see cref="ICaRotationLocator"/> may stand in for it (tests).</summary>
    private ICaRotationGrain Rotation => ServiceProvider.GetService<ICaRotationLocator>()?.Find(_key) ?? GrainFactory.GetGrain<ICaRotationGrain>(_key);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = this.GetPrimaryKeyString();
        (_kind, _namespace, _name) = IssuerKeys.Parse(_key);
        _builtinRoot = _key == IssuerKeys.BuiltinRoot;
        if (_builtinRoot)
        {
            // No resource applies it: it is always the built-in root.
            State.Spec ??= new IssuerSpec { Builtin = true };
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await FlushOnDeactivateAsync();
        DropIssuer();
    }

    public async Task<IssuerStatus> ApplyAsync(IssuerSpec spec, ResourceVersionInfo origin)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(origin);
        State.Spec = spec;
        State.Origin = origin;
        if (!_registered)
        {
            // Before loading: a failure leaves the watcher's call to retry, and the key known.
            await Registry.RegisterAsync(_key);
            _registered = true;
        }

        await LoadAsync();
        return BuildStatus(await RotationStatusAsync());
    }

    public async Task DeleteAsync()
    {
        // Also when this grain holds nothing: the registry may still list it.
        await Registry.UnregisterAsync(_key);
        _registered = false;
        if (State.Spec is null)
        {
            return;
        }

        if (State.PreviousCaPem is not null)
        {
            // A rotation in progress pauses: its CAs stay trusted (certificates on the new CA and
            // those still on the old go on trusting each other) until no certificate names this
            // issuer, or it comes back and the rotation continues. Only persisted there.
            await Rotation.PauseAsync();
            await RecordAsync(EventSeverity.Warning, RotationPausedReason, $"{Display} was deleted during its CA rotation: the rotation is paused and its CAs stay trusted until no certificate names this issuer, or it is created again and the rotation continues.");
        }

        Retry.Cancel();
        if (State.RetryRegistered)
        {
            await Retry.ForgetReminderAsync();
        }

        DropIssuer();
        // Certificates that name it wait (IssuerNotReady) from their next issuance on; those
        // waiting already keep waiting, and are woken when an issuer of this name appears. Which
        // CA signed which certificate stays: an issuer of this name re-created with another CA
        // rotates them (trust first) rather than sign beside a CA their peers do not trust.
        var before = State;
        state.State = new IssuerState
        {
            Waiting = before.Waiting,
            Issued = before.Issued,
            CaPem = before.CaPem,
            CaFingerprint = before.CaFingerprint,
            CaNotAfter = before.CaNotAfter,
            PreviousCaPem = before.PreviousCaPem,
        };
        await SaveAsync();
        Log.IssuerDeleted(logger, _key);
    }

    public async Task OnCaSecretChangedAsync()
    {
        if (State.Spec is { Builtin: true })
        {
            // The built-in root may have changed (rotated, replaced by hand): a rotation begins if so.
            await CheckRootAsync();
            return;
        }

        if (State.Spec?.Ca is null)
        {
            return;
        }

        await LoadAsync();
    }

    public async Task OnRotationChangedAsync()
    {
        // The rotation moved on (or ended): what this grain recorded is written first.
        await FlushRecordsAsync();
        if (State.Spec is null || State.PreviousCaPem is null)
        {
            return;
        }

        // Asks the rotation (which clears PreviousCaPem once it is over) and writes the status.
        await PublishAsync(await RotationStatusAsync());
    }

    public async Task<IssuerReadiness> WatchAsync(ResourceKey certificate)
    {
        var readiness = await EnsureLoadedAsync();
        if (!readiness.Ready && State.Waiting.Add(certificate.ToString()))
        {
            await SaveAsync();
        }

        return readiness;
    }

    public async Task UnwatchAsync(ResourceKey certificate)
    {
        var key = certificate.ToString();
        var changed = State.Waiting.Remove(key);
        // It no longer names this issuer: a CA rotation has nothing to re-issue for it.
        changed |= State.Issued.Remove(key);
        if (changed)
        {
            // Written behind by the built-in root (deleting many default-path certificates must
            // not write its whole map once each); a lost removal is the conservative side: a
            // rotation asks the certificate, which no longer names the root, and drops it.
            await SaveRecordsAsync();
        }

        if (State.PreviousCaPem is not null)
        {
            // One-way: the rotation is done with it and takes its CAs out of it.
            await Rotation.OnCertificateLeftAsync(certificate);
        }
    }

    public async Task<IssueProgress> IssueAsync(IssueRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var readiness = await EnsureLoadedAsync();
        if (!readiness.Ready || _issuer is null)
        {
            throw new IssuerFailedException(Reasons.IssuerNotReady, $"{Display} is not ready ({readiness.Reason}): {readiness.Message}");
        }

        // Held: only a new issuance (or one a hold started). A Breach's rotate goes through at
        // once, signed by the new CA (the old CA's key is gone with the Secret's or the Private
        // CA's change): its own ca.crt already trusts both CAs, a peer whose store does not trust
        // the new CA yet refuses it only until that store catches up, and a leaked key must not
        // stay in use for hours. An issuance the issuer behind has in flight (an ACM ticket)
        // continues: holding it would overwrite its ticket and orphan the request.
        var held = request.Purpose != IssuePurpose.Rotate
            && (request.Ticket is null || request.Ticket.StartsWith(RotationTicketPrefix, StringComparison.Ordinal));
        if (State.Spec!.Builtin)
        {
            // The built-in root: a change of root begins its rotation before anything is signed.
            await CheckRootAsync();
            if (_readiness?.Ready != true || _issuer is null)
            {
                throw new IssuerFailedException(Reasons.IssuerNotReady, $"{Display} is not ready ({_readiness?.Reason}): {_readiness?.Message}");
            }
        }

        var rotating = (held || State.Spec.Builtin) && State.PreviousCaPem is not null && !await Rotation.MaySignWithNewCaAsync();
        var holding = held && rotating;
        var signer = _issuer;
        var fingerprint = State.CaFingerprint ?? string.Empty;
        if (State.Spec.Builtin && (await RootSignerAsync(rotating) ?? (holding ? null : await RootSignerAsync(false))) is { } root)
        {
            // Signed by the previous root while the new one is not trusted everywhere (its key is
            // still at hand; a Breach's rotate too: a leaf's breach is not the root's), else by
            // the root the rotation moves to.
            (signer, fingerprint, holding) = (root.Issuer, root.Fingerprint, false);
        }

        if (holding)
        {
            // Nothing is signed by the new CA before every store trusts it (make-before-break).
            return IssueProgress.Pending(
                RotationTicketPrefix + State.CaFingerprint,
                "CaRotation",
                $"{Display} rotates its CA: certificates are signed by the new CA once every store trusts it.",
                RotationRetryAfter);
        }

        // A ticket of ours (a rotation that held the issuance back) means nothing to the issuer behind.
        var forward = request.Ticket?.StartsWith(RotationTicketPrefix, StringComparison.Ordinal) == true ? request with { Ticket = null, Step = 0 } : request;
        IssueProgress progress;
        using (var step = PortCall.Start(time))
        {
            progress = await signer.IssueAsync(forward, step.Token);
        }

        if (progress.Material is not null)
        {
            var certificate = request.Resource.ToString();
            var changed = State.Waiting.Remove(certificate);
            if (!State.Issued.TryGetValue(certificate, out var before) || before != fingerprint)
            {
                State.Issued[certificate] = fingerprint;
                changed = true;
            }

            if (changed)
            {
                await SaveRecordsAsync();
                await PublishAsync(await RotationStatusAsync());
            }

            if (State.PreviousCaPem is not null)
            {
                // During a rotation the roll's list grows with every certificate issued (outside
                // one, BeginAsync gets the whole list from State.Issued).
                try
                {
                    await Rotation.OnIssuedAsync(request.Resource, fingerprint);
                }
                catch (Exception ex)
                {
                    // The certificate is issued either way; State.Issued still has it.
                    Log.IssuerRotationCallFailed(logger, _key, ex.GetType().Name, ex.Message);
                }
            }
        }

        return progress;
    }

    public async Task RetireAsync(string arn, RetireReason reason)
    {
        if (arn.StartsWith(RotationTicketPrefix, StringComparison.Ordinal))
        {
            return;
        }

        var readiness = await EnsureLoadedAsync();
        if (_issuer is null)
        {
            if (reason == RetireReason.Compromised)
            {
                // A compromised certificate's revocation is never dropped: the certificate retries
                // it (with backoff, and a Warning Event) until this issuer is Ready again.
                throw new IssuerFailedException(Reasons.IssuerNotReady, $"{Display} is not ready ({readiness.Reason}) to revoke a compromised certificate.");
            }

            // Not Ready (deleted, CA missing): the built-in and ca issuers keep nothing to retire,
            // and an ACM issuer that cannot be reached must not hold a Certificate's deletion back.
            Log.IssuerRetireSkipped(logger, _key, arn);
            return;
        }

        using var step = PortCall.Start(time);
        await _issuer.RetireAsync(arn, reason, step.Token);
    }

    public async Task<IssuerStatus?> GetStatusAsync() => State.Spec is null ? null : BuildStatus(await RotationStatusAsync());

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == RootCheckReminder)
        {
            await FlushRecordsAsync();
            await OnRootCheckAsync();
            return;
        }

        if (reminderName != RetryReminder)
        {
            return;
        }

        if (State.Spec is null || !_transient && _loaded)
        {
            await Retry.ForgetReminderAsync();
            await SaveAsync();
            return;
        }

        if (!Retry.TimerPending)
        {
            await LoadAsync();
        }
    }

    bool IDurableRetryOwner.RetryReminderRegistered
    {
        get => State.RetryRegistered;
        set => State.RetryRegistered = value;
    }

    Task IDurableRetryOwner.OnRetryDueAsync() => LoadAsync();

    void IDurableRetryOwner.OnRetryReminderFailed(Exception exception) =>
        Log.IssuerRetryReminderFailed(logger, _key, exception.GetType().Name, exception.Message);
}

/// <summary>Stands in for the CA rotation grain of some issuers (tests that check the issuer's calls); null: the real grain.</summary>
public interface ICaRotationLocator
{
    ICaRotationGrain? Find(string issuerKey);
}
