namespace Notary.Grains.Policies.Tests;

/// <summary>
/// A CA rotation's decisions, table by table. Certificates are written "name:state": old (served
/// from the old CA, stores trust the new CA), behind (old, and a store of it does not hold the new
/// CA yet), rolling (issued from the new CA, keystore still serves the old one), overlap (serves
/// the new CA, the old-CA certificate still trusted), new (nothing of the old CA left), gone
/// (deleted), unissued (never issued). Times are seconds after the phase started; 90 s delay,
/// 24 h MaxWait.
/// </summary>
public sealed class CaRotationPolicyTests
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset At(double seconds) => Start + TimeSpan.FromSeconds(seconds);

    private static RotatedCertificate Cert(string spec)
    {
        var (key, state) = (spec.Split(':')[0], spec.Split(':')[1]);
        return state switch
        {
            "old" => new(key, true, true, false, false, false, true),
            "behind" => new(key, true, true, false, false, false, false),
            "rolling" => new(key, true, true, true, false, true, true),
            "overlap" => new(key, true, true, true, true, true, true),
            "new" => new(key, true, true, true, true, false, true),
            "gone" => new(key, false, false, false, false, false, false),
            "unissued" => new(key, true, false, false, false, false, false),
            _ => throw new ArgumentException(state),
        };
    }

    private static CaRotationDecision Decide(CaRotationPhase phase, double now, string certificates, double? allTrustedAt = null, int max = 2, string requested = "") =>
        CaRotationPolicy.Decide(new CaRotationSnapshot(
            phase, At(now), Start, allTrustedAt is { } a ? At(a) : null, TimeSpan.FromSeconds(90), TimeSpan.FromHours(24), max,
            [.. certificates.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Cert)],
            requested.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal)));

    [Theory]
    // now, certificates, allTrustedAt → phase after, allTrustedAt after, wait until
    [InlineData(10, "a:old b:behind", null, CaRotationPhase.TrustingNewCa, null, null)]          // a store lacks the new CA: wait
    [InlineData(10, "a:old b:behind c:gone", null, CaRotationPhase.TrustingNewCa, null, null)]
    [InlineData(10, "a:old b:old", null, CaRotationPhase.TrustingNewCa, 10.0, 100.0)]            // all hold it: the delay starts
    [InlineData(10, "a:old b:old c:gone d:unissued", null, CaRotationPhase.TrustingNewCa, 10.0, 100.0)] // deleted or never issued: no store to wait for
    [InlineData(99, "a:old b:old", 10.0, CaRotationPhase.TrustingNewCa, 10.0, 100.0)]            // a second short of the delay
    [InlineData(100, "a:old b:old", 10.0, CaRotationPhase.Reissuing, 10.0, null)]                // delay passed: re-issuing
    [InlineData(86400, "a:old b:behind", null, CaRotationPhase.TrustingNewCa, 86400.0, 86490.0)] // MaxWait: goes on, the delay still counts
    public void Nothing_is_signed_by_the_new_CA_before_every_store_holds_it_plus_the_propagation_delay(double now, string certificates, double? allTrustedAt, CaRotationPhase phase, double? trustedAfter, double? waitUntil)
    {
        var decision = Decide(CaRotationPhase.TrustingNewCa, now, certificates, allTrustedAt);
        Assert.Equal(phase, decision.Phase);
        Assert.Equal(trustedAfter is { } t ? At(t) : null, decision.AllTrustedAt);
        Assert.Equal(waitUntil is { } w ? At(w) : null, decision.WaitUntil);
        if (phase == CaRotationPhase.TrustingNewCa)
        {
            Assert.Empty(decision.Reissue);
        }
    }

    [Fact]
    public void MaxWait_names_the_certificates_whose_stores_were_left_behind()
    {
        var decision = Decide(CaRotationPhase.TrustingNewCa, 86400, "a:old b:behind c:behind");
        Assert.Equal(["b", "c"], decision.LeftBehind);
        Assert.Empty(Decide(CaRotationPhase.TrustingNewCa, 10, "a:old b:old").LeftBehind);
    }

    [Theory]
    // certificates, requested, max → re-issue now (in order), remaining
    [InlineData("a:old b:old c:old d:old", "", 2, "a b", 4)]                    // at most max at once
    [InlineData("a:rolling b:old c:old d:old", "a", 2, "b", 4)]                  // a roll in flight takes a slot
    [InlineData("a:rolling b:rolling c:old", "a b", 2, "", 3)]                   // full
    [InlineData("a:overlap b:old c:old", "a", 2, "b c", 3)]                      // switched: its overlap takes no slot
    [InlineData("a:old b:old c:old", "a", 2, "a b", 3)]                          // a was asked and has not started: asked again, and takes its slot
    [InlineData("a:new b:gone c:unissued d:old", "a", 1, "d", 1)]                // done, deleted, never issued: nothing to do
    [InlineData("a:rolling b:old", "", 1, "", 2)]                                // its own renewal from the new CA counts as in flight
    public void At_most_MaxConcurrentReissues_certificates_roll_at_once(string certificates, string requested, int max, string reissue, int remaining)
    {
        var decision = Decide(CaRotationPhase.Reissuing, 500, certificates, 10, max, requested);
        Assert.Equal(CaRotationPhase.Reissuing, decision.Phase);
        Assert.Equal(reissue.Split(' ', StringSplitOptions.RemoveEmptyEntries), decision.Reissue);
        Assert.Equal(remaining, decision.Remaining);
        Assert.False(decision.Finished);
    }

    [Theory]
    [InlineData("a:overlap b:new", CaRotationPhase.Reissuing, false)]            // an old-CA certificate is still trusted: the old CA stays
    [InlineData("a:rolling b:new", CaRotationPhase.Reissuing, false)]
    [InlineData("a:new b:new c:gone d:unissued", CaRotationPhase.RetiringOldCa, false)] // the last one is gone: retire
    public void The_old_CA_is_retired_only_after_its_last_certificate_is_gone(string certificates, CaRotationPhase phase, bool finished)
    {
        var decision = Decide(CaRotationPhase.Reissuing, 500, certificates, 10);
        Assert.Equal(phase, decision.Phase);
        Assert.Equal(finished, decision.Finished);
    }

    [Fact]
    public void Retiring_finishes_unless_a_certificate_joined_with_an_old_CA_certificate()
    {
        Assert.True(Decide(CaRotationPhase.RetiringOldCa, 500, "a:new b:new", 10).Finished);
        var back = Decide(CaRotationPhase.RetiringOldCa, 500, "a:new b:old", 10);
        Assert.Equal(CaRotationPhase.Reissuing, back.Phase);
        Assert.Equal(["b"], back.Reissue);
        Assert.False(back.Finished);
    }
}
