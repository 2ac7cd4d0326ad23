using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Issuers;
using Notary.Grains.Policies;

namespace Notary.Grains;

// Certificates that name an Issuer or ClusterIssuer (spec.issuerRef, which wins over spec.issuer):
// issuance and retirement go through the issuer grain; an issuer that is missing or not Ready
// leaves the certificate Ready=False/IssuerNotReady, registered with the issuer, which wakes it
// (OnIssuerChangedAsync) as soon as it is Ready: no retry timer runs meanwhile.
public sealed partial class CertificateGrain
{
    private IssuerGrainPort? _issuerPort;

    /// <summary>
    /// The issuer <paramref name="spec"/> names: its issuerRef's grain, or the configured issuer of
    /// spec.issuer (the default when unset), where the built-in issuer is the built-in root's
    /// grain (<see cref="IssuerKeys.BuiltinRoot"/>); null when none.
    /// </summary>
    private ICertificateIssuer? ResolveIssuer(CertificateSpec? spec)
    {
        string key;
        if (spec?.IssuerRef is { } issuerRef)
        {
            key = issuerRef.GrainKey(_resource.Namespace);
        }
        else if (issuers.Resolve(spec?.Issuer) is var configured && configured is not BuiltInIssuer { Name: BuiltInIssuer.DefaultName })
        {
            return configured;
        }
        else
        {
            // The built-in root: signed through its grain, which records which root signed each
            // certificate, so that a rotation of the root re-issues them trust-first.
            key = IssuerKeys.BuiltinRoot;
        }

        if (_issuerPort?.Key != key)
        {
            _issuerPort = new IssuerGrainPort(key, GrainFactory.GetGrain<IIssuerGrain>(key));
        }

        return _issuerPort;
    }

    /// <summary>What keeps spec.issuerRef from naming an issuer; null when it names one that may issue the type (readiness is the issuer's to say, at issuance).</summary>
    private static Problem? CheckIssuerRef(IssuerRef issuerRef, string type)
    {
        if (string.IsNullOrWhiteSpace(issuerRef.Name) || issuerRef.Name.Contains('/', StringComparison.Ordinal))
        {
            return new Problem(Reasons.InvalidSpec, $"spec.issuerRef.name \"{issuerRef.Name}\" is not the name of an Issuer or ClusterIssuer.");
        }

        if (issuerRef.Kind is not (IssuerKinds.Issuer or IssuerKinds.ClusterIssuer))
        {
            return new Problem(Reasons.InvalidSpec, $"spec.issuerRef.kind \"{issuerRef.Kind}\" must be {IssuerKinds.Issuer} or {IssuerKinds.ClusterIssuer}.");
        }

        return IssuerGrainPort.SupportsType(type) ? null
            : new Problem(Reasons.UnsupportedType, $"{issuerRef.Kind} \"{issuerRef.Name}\" issues Private certificates only; Public certificates come from spec.issuer (ACM).");
    }

    /// <summary>
    /// The issuer is missing or not Ready (registered with it, which wakes this certificate when it
    /// is Ready): report Ready=False/IssuerNotReady (a Warning Event when that changes). No retry timer.
    /// </summary>
    private async Task<CertificateStatus> IssuerNotReadyAsync(ICertificateIssuer issuer, string message)
    {
        // The port registered the wait (IIssuerGrain.WatchAsync): the issuer wakes this
        // certificate, and the continuation reminder would only ask it again every minute.
        CancelContinuation();
        await ForgetContinuationAsync();
        Log.WaitsForIssuer(logger, _resource.ToString(), issuer.Name, Reasons.IssuerNotReady);

        return await IssuanceFailedAsync(new Problem(Reasons.IssuerNotReady, $"{message} The certificate is issued as soon as it is Ready."));
    }

    /// <summary>The issuer this certificate waited for is Ready: issue now (the apply's or the renewal's issuance).</summary>
    public async Task OnIssuerChangedAsync()
    {
        if (State.Spec is null || ResolveIssuer(State.Spec) is not IssuerGrainPort)
        {
            return;
        }

        if (HasWorkToContinue())
        {
            await ContinueAsync();
        }
        else if (State.Material is not null && State.Pending is null && State.RenewalTime is { } renewal && renewal <= time.GetUtcNow())
        {
            await RunLifecycleAsync();
        }
    }

    /// <summary>
    /// The issuer grain <paramref name="spec"/> signs through: its issuerRef's, or the built-in
    /// root's for the default path; null for a configured issuer that has no grain (ACM by
    /// Notary__Issuer__Type) and for no spec. Pure, unlike <see cref="ResolveIssuer"/>.
    /// </summary>
    private string? IssuerGrainKey(CertificateSpec? spec) => spec switch
    {
        null => null,
        { IssuerRef: { } issuerRef } => issuerRef.GrainKey(_resource.Namespace),
        _ => issuers.Resolve(spec.Issuer) is BuiltInIssuer { Name: BuiltInIssuer.DefaultName } ? IssuerKeys.BuiltinRoot : null,
    };

    /// <summary>
    /// The certificate no longer signs through the issuer grain of <paramref name="before"/>
    /// (deleted, issuerRef changed or added, spec.issuer moved off the built-in root): it leaves
    /// that grain's lists, the built-in root's record of every default-path certificate included.
    /// </summary>
    private async Task UnwatchIssuerAsync(CertificateSpec? before, CertificateSpec? after)
    {
        if (IssuerGrainKey(before) is not { } old || IssuerGrainKey(after) == old)
        {
            return;
        }

        try
        {
            await GrainFactory.GetGrain<IIssuerGrain>(old).UnwatchAsync(_resource);
        }
        catch (Exception ex)
        {
            // A stale entry only wakes this certificate once for nothing, or re-issues it in a rotation of the old issuer.
            Log.IssueFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>The issuer as the name policy spells it: <c>Issuer/NAME</c>, <c>ClusterIssuer/NAME</c>, or spec.issuer's configured name.</summary>
    private string? PolicyIssuerName(CertificateSpec spec) =>
        spec.IssuerRef is { } issuerRef ? NamePolicy.IssuerName(issuerRef) : issuers.Resolve(spec.Issuer)?.Name;

    /// <summary>An issuer grain as the issuer port: the certificate's issuance path stays the same for every issuer.</summary>
    private sealed class IssuerGrainPort(string key, IIssuerGrain grain) : ICertificateIssuer
    {
        public string Key => key;

        public IIssuerGrain Grain => grain;

        public string Name => key;

        public static bool SupportsType(string certificateType) => certificateType == NamePolicy.Private;

        public bool Supports(string certificateType) => SupportsType(certificateType);

        public async Task<IssueProgress> IssueAsync(IssueRequest request, CancellationToken cancellationToken)
        {
            try
            {
                return await grain.IssueAsync(request);
            }
            catch (Exception ex) when (ex is not IssuerRejectedException)
            {
                // An exception's own properties (IssuerFailedException.Reason) do not cross silos:
                // whether the issuer is Ready is asked (which registers the wait when it is not).
                var readiness = await grain.WatchAsync(request.Resource);
                if (readiness.Ready)
                {
                    throw;
                }

                var (kind, ns, name) = IssuerKeys.Parse(key);
                var display = key == IssuerKeys.BuiltinRoot ? "Notary's built-in root CA" : $"{kind} {(ns is null ? name : $"{ns}/{name}")}";
                throw new IssuerFailedException(Reasons.IssuerNotReady, $"{display} is not ready ({readiness.Reason}): {readiness.Message}");
            }
        }

        public Task RetireAsync(string arn, RetireReason reason, CancellationToken cancellationToken) => grain.RetireAsync(arn, reason);
    }
}
