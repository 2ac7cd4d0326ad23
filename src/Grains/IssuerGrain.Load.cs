using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Issuers;
using Notary.Pki;

namespace Notary.Grains;

// Loading the issuer: validates the spec, builds the issuer (built-in root, a ca Secret's key
// pair, an ACM Private CA), decides readiness with a precise reason, starts a CA rotation when
// the CA changed under certificates it issued, writes the status and wakes waiting certificates.
// Only transient failures (an exception reading the Secret or calling AWS) are retried, with
// backoff; a refusal (Secret missing, not a CA, AWS says no) waits for the next apply, the
// Secret's change or the watcher's resync.
public sealed partial class IssuerGrain
{
    /// <summary>Ready=True's reason.</summary>
    public const string ReadyReason = "Ready";

    /// <summary>No Issuer or ClusterIssuer of this name has been applied (never created, or deleted).</summary>
    public const string NotFoundReason = "IssuerNotFound";

    public const string SecretNotFoundReason = "SecretNotFound";

    public const string KeyMissingReason = "KeyMissing";

    /// <summary>Reading the CA (the Secret, the built-in root) or checking ACM failed in a way that passes; retried with backoff.</summary>
    public const string CaUnavailableReason = "CaUnavailable";

    /// <summary>An acm issuer where Notary has no ACM support configured.</summary>
    public const string AcmUnavailableReason = "AcmUnavailable";

    /// <summary>A ClusterIssuer names one of Notary's own Secrets (<see cref="ICaSecretReader.ReservedSecretNames"/>).</summary>
    public const string SecretNotAllowedReason = "SecretNotAllowed";

    /// <summary>The CA certificate an ACM Private CA returned is not a usable CA (not a CA, expired, broken chain).</summary>
    public const string AcmCaInvalidReason = "CaCertificateInvalid";

    private ICertificateIssuer? _issuer;
    // The ca issuer's key pair: this grain's own, disposed with it (the built-in root is its source's).
    private CertificateAuthority? _ownedCa;
    private IssuerReadiness? _readiness;
    private bool _loaded;
    private bool _transient;

    private async Task<IssuerReadiness> EnsureLoadedAsync()
    {
        if (State.Spec is null)
        {
            return new IssuerReadiness(false, NotFoundReason, $"no {_kind} named \"{_name}\"{(_namespace is null ? string.Empty : $" in namespace {_namespace}")} exists (or Notary has not seen it yet).");
        }

        if (!_loaded || (_transient && !Retry.TimerPending))
        {
            await LoadAsync();
        }

        return _readiness!;
    }

    private async Task LoadAsync()
    {
        var spec = State.Spec;
        if (spec is null)
        {
            return;
        }

        var wasReady = _readiness?.Ready ?? IsReadyInState();
        _loaded = true;
        DropIssuer();
        IssuerReadiness readiness;
        string? caPem = null;
        try
        {
            (readiness, caPem) = await BuildAsync(spec);
            _transient = false;
        }
        catch (Exception ex)
        {
            // Transient: retried with backoff. Only the error's type reaches the status.
            Log.IssuerLoadFailed(logger, _key, ex.GetType().Name, ex.Message);
            DropIssuer();
            readiness = new IssuerReadiness(false, CaUnavailableReason, $"reading the CA failed ({ex.GetType().Name}); Notary retries, and its log has the details.");
            _transient = true;
        }

        if (readiness.Ready && caPem is not null)
        {
            try
            {
                await OnCaLoadedAsync(caPem);
            }
            catch (Exception ex)
            {
                Log.IssuerLoadFailed(logger, _key, ex.GetType().Name, ex.Message);
                DropIssuer();
                readiness = new IssuerReadiness(false, CaUnavailableReason, $"starting the CA rotation failed ({ex.GetType().Name}); Notary retries.");
                _transient = true;
            }
        }

        _readiness = readiness;
        var before = State.Conditions.FirstOrDefault(c => c.Type == Conditions.Ready);
        var changed = ConditionList.Set(State.Conditions, Conditions.Ready, readiness.Ready ? Conditions.True : Conditions.False, readiness.Reason, readiness.Message, time.GetUtcNow(), State.Origin?.Generation ?? 0);
        if (_transient)
        {
            Retry.Schedule(Retry.NextFailureDelay());
            await Retry.EnsureReminderAsync();
        }
        else
        {
            Retry.ResetFailures();
            Retry.Cancel();
            if (State.RetryRegistered)
            {
                await Retry.ForgetReminderAsync();
            }
        }

        // The waiters stay listed until they are issued (IssueAsync) or leave (UnwatchAsync): a
        // wake-up lost (a crash between this save and the one-way calls, a message dropped) is
        // sent again at the next load (the watcher's resync, a CA change).
        var woken = readiness.Ready && State.Waiting.Count > 0 ? State.Waiting.ToList() : [];

        await SaveAsync();
        await RecordReadinessAsync(before, readiness);
        if (changed)
        {
            if (readiness.Ready)
            {
                Log.IssuerReady(logger, _key, State.CaFingerprint ?? "-");
            }
            else
            {
                Log.NotReady(logger, _kind, _key, readiness.Reason, readiness.Message);
            }
        }

        await PublishAsync(await RotationStatusAsync());
        if (woken.Count > 0 || (readiness.Ready && !wasReady))
        {
            Log.IssuerWakes(logger, _key, woken.Count);
        }

        foreach (var certificate in woken)
        {
            // One-way: an issuer never waits on its certificates (they call it to issue).
            await GrainFactory.GetGrain<ICertificateGrain>(certificate).OnIssuerChangedAsync();
        }
    }

    private bool IsReadyInState() => State.Conditions.Any(c => c.Type == Conditions.Ready && c.Status == Conditions.True);

    /// <summary>The issuer for <paramref name="spec"/> (set in <see cref="_issuer"/>) and its CA's public PEM; not Ready with the reason. Throws for transient failures.</summary>
    private async Task<(IssuerReadiness Readiness, string? CaPem)> BuildAsync(IssuerSpec spec)
    {
        switch (spec.Type)
        {
            case "builtin":
            {
                var ca = await Builtin.GetAsync(CancellationToken.None);
                _issuer = new BuiltInIssuer(Builtin, time) { Name = _key };
                await EnsureRootCheckAsync();
                return (Ready($"issues from Notary's built-in root CA (valid until {ca.NotAfter:O})."), PemEncoder.Bundle(ca.ChainPem));
            }

            case "ca":
            {
                // The namespace comes from the key, never from the spec: a namespaced Issuer reads
                // only its own namespace; a ClusterIssuer reads Notary's.
                var ns = _namespace ?? CaSecrets.NotaryNamespace;
                var secretName = spec.Ca!.SecretName;
                if (_namespace is null && CaSecrets.ReservedSecretNames.Contains(secretName, StringComparer.Ordinal))
                {
                    return (NotReady(SecretNotAllowedReason, $"Secret {ns}/{secretName} is one of Notary's own Secrets (its built-in root, its state key); a ClusterIssuer may not sign with it. Put the CA in a Secret of its own (kubectl create secret tls NAME -n {ns} --cert=ca.crt --key=ca.key); for Notary's built-in root use spec.builtin."), null);
                }

                var content = await CaSecrets.ReadAsync(ns, secretName, CancellationToken.None);
                switch (content.Outcome)
                {
                    case CaSecretOutcome.SecretMissing:
                        return (NotReady(SecretNotFoundReason, $"Secret {ns}/{secretName} does not exist; create it with the CA's tls.crt and tls.key (kubectl create secret tls {secretName} -n {ns} --cert=ca.crt --key=ca.key)."), null);
                    case CaSecretOutcome.KeyMissing:
                        return (NotReady(KeyMissingReason, $"Secret {ns}/{secretName} has no tls.crt or no tls.key."), null);
                }

                CertificateAuthority authority;
                try
                {
                    authority = CaKeyPairs.Load(content.CertificatePem!, content.PrivateKeyPem!, time.GetUtcNow());
                }
                catch (CaKeyPairException ex)
                {
                    return (NotReady(ex.Reason, $"Secret {ns}/{secretName}: {ex.Message}."), null);
                }

                _ownedCa = authority;
                _issuer = new BuiltInIssuer(new FixedAuthority(authority), time) { Name = _key, ArnPrefix = $"urn:notary:{_key}:certificate/" };
                return (Ready($"issues from the CA in Secret {ns}/{secretName} (valid until {authority.NotAfter:O})."), PemEncoder.Bundle(authority.ChainPem));
            }

            case "acm":
            {
                var factory = ServiceProvider.GetService<IAcmIssuerFactory>();
                if (factory is null)
                {
                    return (NotReady(AcmUnavailableReason, "this Notary has no ACM support configured."), null);
                }

                // The namespace comes from the key: it decides whether the spec is allowed and the
                // ExternalId / session tags of AssumeRole.
                var acm = spec.Acm! with { Namespace = _namespace };
                var check = await factory.CheckAsync(acm, CancellationToken.None);
                if (!check.Readiness.Ready)
                {
                    return (check.Readiness, null);
                }

                // The CA certificate comes from an endpoint: checked before it goes into ca.crt
                // and truststores.
                try
                {
                    CaKeyPairs.CheckCertificates(check.CaCertificatePem ?? "", time.GetUtcNow());
                }
                catch (CaKeyPairException ex)
                {
                    return (NotReady(AcmCaInvalidReason, $"ACM Private CA {acm.PrivateCaArn} returned a CA certificate Notary does not use: {ex.Message}."), null);
                }

                _issuer = factory.Create(_key, acm);
                return (check.Readiness, check.CaCertificatePem);
            }

            default:
            {
                var set = new[] { spec.Builtin ? "builtin" : null, spec.Ca is null ? null : "ca", spec.Acm is null ? null : "acm" }.OfType<string>().ToList();
                return (NotReady(Reasons.InvalidSpec, set.Count == 0
                    ? "spec sets no issuer type; set exactly one of builtin, ca, acm."
                    : $"spec sets {string.Join(" and ", set)}; set exactly one of builtin, ca, acm."), null);
            }
        }

        static IssuerReadiness Ready(string message) => new(true, ReadyReason, message);

        static IssuerReadiness NotReady(string reason, string message) => new(false, reason, message);
    }

    /// <summary>
    /// A Ready issuer's CA: when it is another CA than the one that signed this issuer's
    /// certificates, the CA rotation starts (it re-issues them from the new CA).
    /// </summary>
    private async Task OnCaLoadedAsync(string caPem)
    {
        var (fingerprint, notAfter) = Describe(caPem);
        if (State.CaFingerprint is { } previous && previous != fingerprint && State.CaPem is { } previousPem)
        {
            var signedByOthers = State.Issued.Where(e => e.Value != fingerprint).Select(e => ResourceKey.Parse(e.Key)).ToList();
            if (signedByOthers.Count > 0)
            {
                // The root that signs while the rotation holds the new one back (the built-in
                // root's key stays at hand): the CA replaced, trusted everywhere; during a rotation
                // still trusting its own new CA, the one that rotation already signed with.
                var holdSigner = State.PreviousCaPem is not null && !await Rotation.MaySignWithNewCaAsync() ? State.HoldSignerFingerprint : previous;
                // Its list is the in-memory one; storage holds it too before the rotation begins.
                await FlushRecordsAsync();
                await Rotation.BeginAsync(new CaRotationStart(_key, previousPem, caPem, signedByOthers));
                State.PreviousCaPem = previousPem;
                State.HoldSignerFingerprint = holdSigner;
                Log.IssuerCaRotation(logger, _key, previous, fingerprint, signedByOthers.Count);
                await RecordAsync(EventSeverity.Normal, RotationStartedReason, $"the CA changed from {previous} to {fingerprint}: re-issuing {signedByOthers.Count} certificates from the new CA (stores trust it first).");
                await TellCertificatesAsync(signedByOthers, previous, fingerprint);
            }
        }
        else if (State.PreviousCaPem is { } rotatingFrom && State.CaFingerprint == fingerprint)
        {
            // The same CA while its rotation runs (re-read, restarted, re-created after a
            // deletion): the rotation continues (a paused one resumes) with every certificate
            // issued, those that joined it too. It only persists: its timer takes the steps.
            await FlushRecordsAsync();
            await Rotation.BeginAsync(new CaRotationStart(_key, rotatingFrom, caPem, [.. State.Issued.Keys.Select(ResourceKey.Parse)]));
        }

        State.CaPem = caPem;
        State.CaFingerprint = fingerprint;
        State.CaNotAfter = notAfter;
    }

    /// <summary>SHA-256 fingerprint (hex, upper case) and expiry of the first certificate of a PEM bundle.</summary>
    public static (string Fingerprint, DateTimeOffset NotAfter) Describe(string pem)
    {
        using var certificate = X509Certificate2.CreateFromPem(pem);
        return (certificate.GetCertHashString(HashAlgorithmName.SHA256), new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero));
    }

    private async Task<IssuerRotationStatus?> RotationStatusAsync()
    {
        if (State.PreviousCaPem is null)
        {
            return null;
        }

        try
        {
            var rotation = await Rotation.GetStatusAsync();
            if (rotation is null)
            {
                // The rotation ended: signing no longer asks it.
                State.PreviousCaPem = null;
                State.HoldSignerFingerprint = null;
                await SaveAsync();
                await RecordAsync(EventSeverity.Normal, RotationCompletedReason, $"the CA rotation ended: every certificate is issued by the CA {State.CaFingerprint}, and the previous CA is no longer trusted for them.");
            }

            return rotation;
        }
        catch (Exception ex)
        {
            Log.IssuerRotationCallFailed(logger, _key, ex.GetType().Name, ex.Message);
            return null;
        }
    }

    private IssuerStatus BuildStatus(IssuerRotationStatus? rotation) => new()
    {
        Conditions = [.. State.Conditions],
        ObservedGeneration = State.Origin?.Generation ?? 0,
        CaFingerprint = _readiness?.Ready ?? IsReadyInState() ? State.CaFingerprint : null,
        CaNotAfter = _readiness?.Ready ?? IsReadyInState() ? State.CaNotAfter : null,
        Rotation = rotation,
        Certificates = State.Issued.Count,
        Type = State.Spec?.Type,
    };

    private async Task PublishAsync(IssuerRotationStatus? rotation)
    {
        if (State.Spec is null || _builtinRoot)
        {
            // The built-in root has no object to write a status to.
            return;
        }

        try
        {
            await StatusWriter.WriteIssuerStatusAsync(_key, BuildStatus(rotation), CancellationToken.None);
        }
        catch (Exception ex)
        {
            Log.StatusFailed(logger, _kind, _key, ex.GetType().Name, ex.Message);
        }
    }

    private void DropIssuer()
    {
        _issuer = null;
        _ownedCa?.Dispose();
        _ownedCa = null;
    }

    /// <summary>A ca issuer's key pair as the built-in issuer's source.</summary>
    private sealed class FixedAuthority(CertificateAuthority authority) : ICertificateAuthoritySource
    {
        public Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken) => Task.FromResult(authority);
    }
}
