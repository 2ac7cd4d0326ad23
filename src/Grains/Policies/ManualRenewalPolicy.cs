using System.Security.Cryptography;
using System.Text;

namespace Notary.Grains.Policies;

/// <summary>What a certificate does with a renewal requested through the annotation notary.dev/renew.</summary>
public enum ManualRenewalDecision
{
    /// <summary>The token was acted on already (a resync, a new watcher term, a restart): nothing.</summary>
    Ignore,
    /// <summary>An issuance (the first one, one in progress, or a make-before-break roll) covers the request: recorded as coalesced into it.</summary>
    AlreadyIssuing,
    /// <summary>Within <c>Rotation:MinManualRenewInterval</c> of the last requested re-issue: not started.</summary>
    TooSoon,
    /// <summary>Re-issue now (if the certificate can be renewed: quarantine and the policy decide next).</summary>
    Reissue,
}

/// <summary>A certificate as the manual-renewal decision sees it.</summary>
/// <param name="Now">The time of the request.</param>
/// <param name="Token">The annotation's value, as stored (<see cref="ManualRenewalPolicy.StoredToken"/>).</param>
/// <param name="LastToken">The last token recorded; null when none.</param>
/// <param name="HasMaterial">A certificate was issued before (false: the first issuance is still to come or in progress).</param>
/// <param name="Issuing">An issuance is pending or a make-before-break roll has not switched the keystore yet.</param>
/// <param name="LastReissueAt">When the last requested re-issue started; null when none.</param>
/// <param name="MinInterval"><c>Rotation:MinManualRenewInterval</c>.</param>
public sealed record ManualRenewalSnapshot(
    DateTimeOffset Now,
    string Token,
    string? LastToken,
    bool HasMaterial,
    bool Issuing,
    DateTimeOffset? LastReissueAt,
    TimeSpan MinInterval);

/// <summary>
/// A requested renewal is one re-issue per new token, never a storm: a token during an issuance
/// is coalesced into it (a re-issue then would throw away the new, not yet served certificate and
/// restart the roll), and a new token within the minimum interval of the last requested re-issue
/// is refused until then (annotating in a loop must not bill the CA or restart dependents endlessly).
/// </summary>
public static class ManualRenewalPolicy
{
    /// <summary>The longest token stored as is (a label value's limit; an annotation may hold 256 KiB).</summary>
    public const int MaxStoredTokenLength = 63;

    private const int KeptPrefix = 38;

    public static (ManualRenewalDecision Decision, DateTimeOffset? NotBefore) Decide(ManualRenewalSnapshot s)
    {
        if (s.LastToken == s.Token)
        {
            return (ManualRenewalDecision.Ignore, null);
        }

        if (!s.HasMaterial || s.Issuing)
        {
            return (ManualRenewalDecision.AlreadyIssuing, null);
        }

        if (s.LastReissueAt is { } last && s.Now < last + s.MinInterval)
        {
            return (ManualRenewalDecision.TooSoon, last + s.MinInterval);
        }

        return (ManualRenewalDecision.Reissue, null);
    }

    /// <summary>
    /// The token as stored in state and status: as is up to <see cref="MaxStoredTokenLength"/>
    /// characters, else its first characters and a hash of the whole (the same long value maps to
    /// the same stored token, so it is still acted on once), at most 63 characters.
    /// </summary>
    public static string StoredToken(string token)
    {
        if (token.Length <= MaxStoredTokenLength)
        {
            return token;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)))[..16];
        return $"{token[..KeptPrefix]}…sha256:{hash}";
    }
}
