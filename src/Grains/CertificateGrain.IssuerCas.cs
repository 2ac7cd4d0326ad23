using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Grains;

// Its issuer's CA rotation (CaRotationGrain): the CAs it asks the certificate's stores to trust
// beside the certificate's own chain, and the make-before-break re-issue from the new CA.
public sealed partial class CertificateGrain
{
    public async Task SetIssuerCasAsync(IReadOnlyList<string> caPems)
    {
        List<string>? cas = caPems is { Count: > 0 } ? [.. caPems.Select(p => p.Trim() + "\n").Distinct(StringComparer.Ordinal)] : null;
        if (State.Spec is null || (cas is null ? State.IssuerCas is null : State.IssuerCas is not null && State.IssuerCas.SequenceEqual(cas, StringComparer.Ordinal)))
        {
            // Deleted (its stores keep their last contents), or nothing changes.
            return;
        }

        State.IssuerCas = cas;
        await SaveAsync();
        RotationLog.IssuerCasSet(logger, _resource.ToString(), string.Join(", ", CaFingerprints.Distinct(cas)));
        // Revision 0: nothing was issued, but what keystores' ca.crt and Issuers-mode truststores hold changed.
        NotifySubscribers(0);
    }

    /// <summary>
    /// A certificate of the built-in root: recorded there at each resync (nothing when it is
    /// already), so that a rotation of the root re-issues it rather than leave it behind. Issued
    /// before the default path went through the root's grain (an upgrade), or issued through it
    /// but its record lost with a silo (the root's grain writes its records behind, see
    /// IssuerGrain.WriteBehind.cs): this certificate cannot tell, so it asks every time. A
    /// failure is logged and tried at the next resync.
    /// </summary>
    private async Task AdoptByBuiltinRootAsync()
    {
        if (State.Spec is null || State.Material is not { } material || ResolveIssuer(State.Spec) is not IssuerGrainPort { Key: IssuerKeys.BuiltinRoot } port)
        {
            return;
        }

        try
        {
            await port.Grain.AdoptAsync(_resource, [.. material.ChainPem.SelectMany(CaFingerprints.All)]);
            if (State.IssuedBy?.GetValueOrDefault(material.Arn) != IssuerKeys.BuiltinRoot)
            {
                (State.IssuedBy ??= [])[material.Arn] = IssuerKeys.BuiltinRoot;
                await SaveAsync();
            }
        }
        catch (Exception ex)
        {
            Log.IssueFailed(logger, _resource.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    public async Task ReissueFromCaAsync(string caFingerprint, string? issuerKey = null)
    {
        if (issuerKey is not null && State.Spec is { } spec && IssuerId(spec) != issuerKey)
        {
            // It left the rotating issuer (issuerRef or spec.issuer changed): its new issuer issues it, not this rotation.
            return;
        }

        if (State.Spec is null || State.Material is null || State.Pending is not null
            || CaFingerprints.ChainHasAny(State.Material.ChainPem, [caFingerprint]))
        {
            // Never issued (its first issuance signs with the new CA), an issuance in progress
            // (it continues), or already from the new CA (a roll in progress finishes on its own).
            return;
        }

        if (SpecProblem(State.Spec, out var valid, IssuePurpose.Issue) is not null)
        {
            // Its status already says why it cannot be issued; the rotation counts it as remaining.
            return;
        }

        // An issue (not a rotate): CompleteAsync rolls it make-before-break like a renewal.
        await IssueAsync(valid!, IssuePurpose.Issue, "Reissued", $"its issuer's CA is rotated: re-issued from the new CA {caFingerprint[..Math.Min(16, caFingerprint.Length)]}");
    }
}
