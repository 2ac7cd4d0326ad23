namespace Notary.Grains.Policies.Tests;

/// <summary>
/// A renewal requested with notary.dev/renew, table by table: once per token, coalesced into an
/// issuance or a roll in progress, refused within the minimum interval (times in seconds, 300 s
/// interval: the default), and a long token stored capped.
/// </summary>
public sealed class ManualRenewalPolicyTests
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    // now, token, last token, has material, issuing, last re-issue → decision, not before
    [InlineData(0, "t1", "t1", true, false, null, ManualRenewalDecision.Ignore, null)]
    [InlineData(0, "t1", "t1", true, true, -10.0, ManualRenewalDecision.Ignore, null)]
    [InlineData(0, "t1", null, false, false, null, ManualRenewalDecision.AlreadyIssuing, null)]   // the first issuance
    [InlineData(0, "t2", "t1", true, true, -10.0, ManualRenewalDecision.AlreadyIssuing, null)]   // a roll in progress
    [InlineData(0, "t2", "t1", true, false, -10.0, ManualRenewalDecision.TooSoon, 290.0)]
    [InlineData(299, "t2", "t1", true, false, 0.0, ManualRenewalDecision.TooSoon, 300.0)]
    [InlineData(300, "t2", "t1", true, false, 0.0, ManualRenewalDecision.Reissue, null)]
    [InlineData(0, "t1", null, true, false, null, ManualRenewalDecision.Reissue, null)]
    public void A_token_re_issues_once_never_during_an_issuance_and_not_within_the_interval(
        double now, string token, string? last, bool material, bool issuing, double? lastReissue, ManualRenewalDecision decision, double? notBefore)
    {
        var (actual, at) = ManualRenewalPolicy.Decide(new ManualRenewalSnapshot(
            Start.AddSeconds(now), token, last, material, issuing, lastReissue is { } r ? Start.AddSeconds(r) : null, TimeSpan.FromSeconds(300)));
        Assert.Equal(decision, actual);
        Assert.Equal(notBefore is { } n ? Start.AddSeconds(n) : null, at);
    }

    [Fact]
    public void A_zero_interval_allows_every_new_token_once_nothing_is_in_progress() =>
        Assert.Equal(ManualRenewalDecision.Reissue, ManualRenewalPolicy.Decide(new ManualRenewalSnapshot(Start, "t2", "t1", true, false, Start, TimeSpan.Zero)).Decision);

    [Fact]
    public void A_token_up_to_63_characters_is_stored_as_is_a_longer_one_as_a_prefix_and_a_hash()
    {
        var short63 = new string('a', 63);
        Assert.Equal(short63, ManualRenewalPolicy.StoredToken(short63));
        Assert.Equal("2026-12-06T00:00:00Z", ManualRenewalPolicy.StoredToken("2026-12-06T00:00:00Z"));

        var long1 = new string('a', 64);
        var long2 = new string('a', 256 * 1024);
        var stored = ManualRenewalPolicy.StoredToken(long1);
        Assert.True(stored.Length <= ManualRenewalPolicy.MaxStoredTokenLength, stored);
        Assert.StartsWith(new string('a', 38) + "…sha256:", stored, StringComparison.Ordinal);
        // Deterministic (the same value is acted on once), and two values with the same start differ.
        Assert.Equal(stored, ManualRenewalPolicy.StoredToken(long1));
        Assert.NotEqual(stored, ManualRenewalPolicy.StoredToken(long2));
        Assert.True(ManualRenewalPolicy.StoredToken(long2).Length <= 63);
    }
}
