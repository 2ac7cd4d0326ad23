namespace Notary.Grains.Policies;

/// <summary>The phases of an issuer's CA rotation, in order (the names <c>status.rotation.phase</c> shows).</summary>
public enum CaRotationPhase
{
    /// <summary>Every certificate's stores are made to trust the new CA beside the old one; nothing is signed with it yet.</summary>
    TrustingNewCa = 0,

    /// <summary>Certificates are re-issued from the new CA, a few at once, each make-before-break.</summary>
    Reissuing = 1,

    /// <summary>No old-CA certificate is served or trusted any more: the old CA leaves the stores.</summary>
    RetiringOldCa = 2,
}

/// <summary>What a CA rotation sees of one of its issuer's certificates (from its snapshot and its stores' status).</summary>
/// <remarks>
/// <para><c>Exists</c>: False once deleted: it needs nothing more.</para>
/// <para><c>Issued</c>: False when it has no certificate yet: its first one is signed by the new CA.</para>
/// <para><c>IssuedFromNewCa</c>: Its newest certificate chains to the new CA (served or still rolling).</para>
/// <para><c>ServesNewCa</c>: Its keystores serve a certificate from the new CA (the roll switched).</para>
/// <para><c>OldCaStillTrusted</c>: A certificate of it from an old CA is still trusted beside the new one (AlsoTrusted: the roll's overlap).</para>
/// <para><c>StoresTrustNewCa</c>: Every store of it that was written holds the new CA (keystore <c>ca.crt</c>, Issuers-mode truststores).</para>
/// </remarks>
public sealed record RotatedCertificate(
    string Key, bool Exists, bool Issued, bool IssuedFromNewCa, bool ServesNewCa, bool OldCaStillTrusted, bool StoresTrustNewCa)
{
    /// <summary>Nothing of the old CA is left in it: no old-CA certificate served or trusted.</summary>
    public bool Done => !Exists || !Issued || (ServesNewCa && !OldCaStillTrusted);
}

/// <summary>The input of <see cref="CaRotationPolicy.Decide"/>.</summary>
/// <remarks>
/// <para><c>PhaseStarted</c>: When the current phase began (TrustingNewCa: MaxWait counts from it).</para>
/// <para><c>AllTrustedAt</c>: When every store first held the new CA (the propagation delay counts from it); null before.</para>
/// <para><c>Requested</c>: Certificates asked to re-issue from the new CA so far.</para>
/// </remarks>
public sealed record CaRotationSnapshot(
    CaRotationPhase Phase,
    DateTimeOffset Now,
    DateTimeOffset PhaseStarted,
    DateTimeOffset? AllTrustedAt,
    TimeSpan PropagationDelay,
    TimeSpan MaxWait,
    int MaxConcurrentReissues,
    IReadOnlyList<RotatedCertificate> Certificates,
    IReadOnlySet<string> Requested);

/// <summary>What the rotation does next.</summary>
/// <remarks>
/// <para><c>Phase</c>: The phase it is in after this decision.</para>
/// <para><c>AllTrustedAt</c>: As <see cref="CaRotationSnapshot.AllTrustedAt"/>, set when this decision saw every store trust the new CA.</para>
/// <para><c>Reissue</c>: Certificates to ask for a certificate from the new CA now (idempotent: asked again while not started).</para>
/// <para><c>Remaining</c>: Certificates with something of the old CA left (<see cref="RotatedCertificate.Done"/> false).</para>
/// <para><c>WaitUntil</c>: The moment the rotation moves on by itself (end of the propagation delay); null: when its certificates change.</para>
/// <para><c>LeftBehind</c>: Certificates whose stores did not hold the new CA when Rotation:MaxWait ended the wait.</para>
/// <para><c>Finished</c>: The old CA left every store (after <see cref="CaRotationPhase.RetiringOldCa"/>): the rotation ends.</para>
/// </remarks>
public sealed record CaRotationDecision(
    CaRotationPhase Phase,
    DateTimeOffset? AllTrustedAt,
    IReadOnlyList<string> Reissue,
    int Remaining,
    DateTimeOffset? WaitUntil,
    IReadOnlyList<string> LeftBehind,
    bool Finished);

/// <summary>
/// A CA rotation's decisions, pure. The new CA is trusted everywhere before anything is signed
/// with it: the rotation leaves <see cref="CaRotationPhase.TrustingNewCa"/> only once every
/// certificate's written stores hold it (or Rotation:MaxWait passed, naming those left behind)
/// plus the propagation delay. Then at most MaxConcurrentReissues certificates roll at once (a
/// roll counts until its keystore serves the new CA's certificate), and the old CA is retired
/// only once no certificate serves or trusts an old-CA certificate any more.
/// </summary>
public static class CaRotationPolicy
{
    public static CaRotationDecision Decide(CaRotationSnapshot s)
    {
        var remaining = s.Certificates.Count(c => !c.Done);
        var phase = s.Phase;
        var allTrustedAt = s.AllTrustedAt;
        IReadOnlyList<string> leftBehind = [];
        if (phase == CaRotationPhase.TrustingNewCa)
        {
            var behind = s.Certificates.Where(c => c.Exists && c.Issued && !c.StoresTrustNewCa).Select(c => c.Key).ToList();
            if (allTrustedAt is null)
            {
                if (behind.Count > 0 && s.Now < s.PhaseStarted + s.MaxWait)
                {
                    return new(phase, null, [], remaining, null, [], false);
                }

                allTrustedAt = s.Now;
                leftBehind = behind;
            }

            var until = allTrustedAt.Value + s.PropagationDelay;
            if (s.Now < until)
            {
                return new(phase, allTrustedAt, [], remaining, until, leftBehind, false);
            }

            phase = CaRotationPhase.Reissuing;
        }

        if (phase == CaRotationPhase.Reissuing)
        {
            if (remaining == 0)
            {
                return new(CaRotationPhase.RetiringOldCa, allTrustedAt, [], 0, null, leftBehind, false);
            }

            // A re-issue is in flight from the request (or its own renewal from the new CA) until
            // its keystore serves the new certificate; the overlap after that takes no slot.
            bool InFlight(RotatedCertificate c) => c.Exists && c.Issued && !c.ServesNewCa && (c.IssuedFromNewCa || s.Requested.Contains(c.Key));
            var inFlight = s.Certificates.Where(InFlight).ToList();
            var again = inFlight.Where(c => !c.IssuedFromNewCa).Select(c => c.Key);
            var slots = Math.Max(0, s.MaxConcurrentReissues - inFlight.Count);
            var next = s.Certificates.Where(c => c.Exists && c.Issued && !c.IssuedFromNewCa && !InFlight(c))
                .Select(c => c.Key).Order(StringComparer.Ordinal).Take(slots);
            return new(phase, allTrustedAt, [.. again, .. next], remaining, null, leftBehind, false);
        }

        // RetiringOldCa: the grain takes the CAs out of every certificate; then it is finished.
        // A certificate that joined with an old-CA certificate since sends it back to re-issuing.
        return remaining > 0
            ? Decide(s with { Phase = CaRotationPhase.Reissuing })
            : new(phase, allTrustedAt, [], 0, null, leftBehind, true);
    }
}
