using Microsoft.Extensions.DependencyInjection;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Issuers;
using Notary.Pki;

namespace Notary.Grains;

// The built-in root (a builtin spec: `builtin: {}` Issuers, and the reserved key
// IssuerKeys.BuiltinRoot that signs the default path's certificates). Its root can change under
// it (a rotation by this or another Notary instance, a hand replacement in Secret notary-ca):
// the change is noticed before each issuance and by a reminder every five minutes, and begins
// the same CA rotation as a ca issuer's Secret change. Unlike a ca issuer, the replaced root's
// key is still at hand (previous.key), so while the rotation holds the new root back new
// issuances are signed by the previous root instead of waiting.
public sealed partial class IssuerGrain
{
    /// <summary>The built-in root's check for a changed root (every <see cref="RootCheckPeriod"/>).</summary>
    public const string RootCheckReminder = "root-check";

    /// <summary>As often as every Notary instance re-reads Secret notary-ca.</summary>
    public static readonly TimeSpan RootCheckPeriod = TimeSpan.FromMinutes(5);

    private bool _builtinRoot;
    private (CertificateAuthority Authority, string Fingerprint)? _lastRoot;

    private ICaSecretReader CaSecrets => ServiceProvider.GetRequiredService<ICaSecretReader>();

    private IIssuerStatusWriter StatusWriter => ServiceProvider.GetRequiredService<IIssuerStatusWriter>();

    /// <summary>
    /// The built-in root's source. The default path's grain takes the one the configured built-in
    /// issuer signs with (what signed its certificates before they went through this grain).
    /// </summary>
    private ICertificateAuthoritySource Builtin =>
        (_builtinRoot ? (ServiceProvider.GetService<IIssuerResolver>()?.Resolve(BuiltInIssuer.DefaultName) as BuiltInIssuer)?.Authority : null)
        ?? ServiceProvider.GetRequiredService<ICertificateAuthoritySource>();

    private string Fingerprint(CertificateAuthority authority)
    {
        if (_lastRoot is not { } last || !ReferenceEquals(last.Authority, authority))
        {
            _lastRoot = last = (authority, ICertificateAuthoritySource.Fingerprint(authority));
        }

        return last.Fingerprint;
    }

    /// <summary>
    /// A builtin spec: when the root in use is not the one this grain signs with, re-read it (a
    /// grain that moved to a silo that has not seen another instance's rotation yet must not
    /// rotate back) and load it, which begins the rotation when certificates carry another root.
    /// </summary>
    private async Task CheckRootAsync()
    {
        if (State.Spec is not { Builtin: true })
        {
            return;
        }

        var current = Fingerprint(await Builtin.GetAsync(CancellationToken.None));
        if (_loaded && current == State.CaFingerprint)
        {
            return;
        }

        if (State.CaFingerprint is not null && current != State.CaFingerprint)
        {
            await Builtin.RefreshAsync(CancellationToken.None);
        }

        await LoadAsync();
    }

    /// <summary>
    /// The built-in root's signer: the root that signs while a rotation holds the new one back
    /// (<paramref name="holding"/>), else the root in use; null when that root's key is not at
    /// hand (the issuance waits like a ca issuer's). Throws when the root in use itself is gone.
    /// </summary>
    private async Task<(ICertificateIssuer Issuer, string Fingerprint)?> RootSignerAsync(bool holding)
    {
        var fingerprint = holding ? State.HoldSignerFingerprint : State.CaFingerprint;
        var authority = fingerprint is null ? null : await Builtin.FindAsync(fingerprint, CancellationToken.None);
        if (authority is null)
        {
            return holding ? null
                : throw new IssuerFailedException(CaUnavailableReason, $"{Display}: the root {State.CaFingerprint} is no longer the one in use; Notary retries.");
        }

        return (new BuiltInIssuer(new FixedAuthority(authority), time) { Name = _key }, fingerprint!);
    }

    public async Task AdoptAsync(ResourceKey certificate, IReadOnlyList<string> chainFingerprints)
    {
        ArgumentNullException.ThrowIfNull(chainFingerprints);
        var key = certificate.ToString();
        if (State.Spec is null || State.Issued.ContainsKey(key))
        {
            return;
        }

        await EnsureLoadedAsync();
        if (State.Spec.Builtin)
        {
            await CheckRootAsync();
        }

        var fingerprint = State.CaFingerprint is { } current && chainFingerprints.Contains(current, StringComparer.Ordinal) ? current : chainFingerprints.Count > 0 ? chainFingerprints[^1] : string.Empty;
        State.Issued[key] = fingerprint;
        await SaveRecordsAsync();
        if (State.PreviousCaPem is not null)
        {
            // A rotation runs: it moves this certificate too.
            await Rotation.OnIssuedAsync(certificate, fingerprint);
        }
        else if (_builtinRoot && State.CaFingerprint is { } inUse && fingerprint != inUse)
        {
            // On a root no longer in use and no rotation runs: its record was lost (written
            // behind, see IssuerGrain.WriteBehind.cs) and the rotation that should have moved it
            // ended meanwhile. Re-issued from the root in use, make-before-break like a renewal
            // (one-way: the certificate awaits this call).
            await GrainFactory.GetGrain<ICertificateGrain>(key).ReissueFromCaAsync(inUse, _key);
        }
    }

    /// <summary>Registers the root check reminder once (a failure is logged: issuances still check).</summary>
    private async Task EnsureRootCheckAsync()
    {
        if (State.RootCheckRegistered)
        {
            return;
        }

        try
        {
            await this.RegisterOrUpdateReminder(RootCheckReminder, RootCheckPeriod, RootCheckPeriod);
            State.RootCheckRegistered = true;
        }
        catch (Exception ex)
        {
            Log.RootCheckFailed(logger, _key, ex.GetType().Name, ex.Message);
        }
    }

    private async Task OnRootCheckAsync()
    {
        if (State.Spec is not { Builtin: true })
        {
            // Deleted, or no longer builtin: nothing to check.
            if (await this.GetReminder(RootCheckReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            State.RootCheckRegistered = false;
            await SaveAsync();
            return;
        }

        try
        {
            await CheckRootAsync();
        }
        catch (Exception ex)
        {
            Log.RootCheckFailed(logger, _key, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>
    /// The built-in root has no object of its own: each certificate its rotation moves gets an
    /// Event saying so (kubectl describe certificate), beside the log line. A failure is logged.
    /// </summary>
    private async Task TellCertificatesAsync(IReadOnlyList<ResourceKey> certificates, string from, string to)
    {
        if (!_builtinRoot)
        {
            return;
        }

        var message = $"Notary's built-in root CA changed from {from} to {to}: this certificate is re-issued from the new root once every store trusts it (its keystores' ca.crt and Issuers truststores trust both roots meanwhile).";
        foreach (var chunk in certificates.Chunk(50))
        {
            await Task.WhenAll(chunk.Select(async certificate =>
            {
                try
                {
                    await events.RecordAsync(certificate, ResourceKind.Certificate, null, EventSeverity.Normal, RotationStartedReason, message, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    Log.EventFailed(logger, _kind, _key, ex.GetType().Name, ex.Message);
                }
            }));
        }
    }
}
