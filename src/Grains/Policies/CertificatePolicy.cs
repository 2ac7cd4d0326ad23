using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Grains.Policies;

/// <summary>A Certificate spec checked and resolved to the values issuance needs.</summary>
public sealed record ValidCertificateSpec(TimeSpan Lifetime, TimeSpan? RenewBefore, PrivateKeyRequest Key);

/// <summary>
/// Pure decisions about a Certificate: is the spec valid, does a change need a new
/// certificate, when to renew. Table-tested; no I/O, no clock.
/// </summary>
public static class CertificatePolicy
{
    /// <summary>
    /// Lifetime when spec.duration is unset: 90 days, the common lifetime of service certificates
    /// (and ACM's private certificates' default is longer, so an ACM issuer may ignore it).
    /// </summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(90);

    /// <summary>Shortest lifetime accepted: anything shorter would renew in a tight loop.</summary>
    public static readonly TimeSpan MinimumLifetime = TimeSpan.FromMinutes(10);

    public static (ValidCertificateSpec? Valid, Problem? Problem) Validate(CertificateSpec spec)
    {
        if (spec.Type is not ("Public" or "Private"))
        {
            return Invalid($"spec.type \"{spec.Type}\" is not supported: use \"Public\" or \"Private\".");
        }

        if (string.IsNullOrWhiteSpace(spec.Fqdn))
        {
            return Invalid("spec.fqdn is required.");
        }

        var lifetime = DefaultLifetime;
        if (spec.Duration is not null)
        {
            if (!GoDuration.TryParse(spec.Duration, out lifetime, out var error))
            {
                return Invalid($"spec.duration: {error}");
            }

            if (lifetime < MinimumLifetime)
            {
                return Invalid($"spec.duration \"{spec.Duration}\" is shorter than the minimum of {GoDuration.Format(MinimumLifetime)}.");
            }
        }

        TimeSpan? renewBefore = null;
        if (spec.RenewBefore is not null)
        {
            if (!GoDuration.TryParse(spec.RenewBefore, out var parsed, out var error))
            {
                return Invalid($"spec.renewBefore: {error}");
            }

            if (parsed <= TimeSpan.Zero || parsed >= lifetime)
            {
                return Invalid($"spec.renewBefore \"{spec.RenewBefore}\" must be positive and shorter than the certificate's lifetime ({GoDuration.Format(lifetime)}).");
            }

            renewBefore = parsed;
        }

        var algorithm = (spec.KeyAlgorithm ?? "RSA").ToUpperInvariant();
        KeySpec key;
        switch (algorithm)
        {
            case "RSA":
                key = new KeySpec(KeyAlgorithm.Rsa, spec.KeySize ?? 2048);
                break;
            case "ECDSA":
                key = new KeySpec(KeyAlgorithm.Ecdsa, spec.KeySize ?? 256);
                break;
            default:
                return Invalid($"spec.privateKey.algorithm \"{spec.KeyAlgorithm}\" is not supported: use \"RSA\" or \"ECDSA\".");
        }

        if (key.Validate() is { } keyProblem)
        {
            return Invalid($"spec.privateKey: {keyProblem}");
        }

        return (new ValidCertificateSpec(lifetime, renewBefore, new PrivateKeyRequest(algorithm, key.Size)), null);

        static (ValidCertificateSpec?, Problem?) Invalid(string message) => (null, new Problem(Reasons.InvalidSpec, message));
    }

    /// <summary>
    /// Whether moving from <paramref name="current"/> to <paramref name="desired"/> changes what
    /// the certificate contains or who issues it. renewBefore only moves the renewal time.
    /// </summary>
    public static bool AffectsCertificate(CertificateSpec current, CertificateSpec desired)
    {
        return current.Type != desired.Type
            || !string.Equals(current.Fqdn, desired.Fqdn, StringComparison.OrdinalIgnoreCase)
            || !AltSet(current).SetEquals(AltSet(desired))
            || (current.Issuer ?? string.Empty) != (desired.Issuer ?? string.Empty)
            || current.IssuerRef != desired.IssuerRef
            || Normalized(current.Duration) != Normalized(desired.Duration)
            || !string.Equals(current.KeyAlgorithm ?? "RSA", desired.KeyAlgorithm ?? "RSA", StringComparison.OrdinalIgnoreCase)
            || EffectiveKeySize(current) != EffectiveKeySize(desired);

        static HashSet<string> AltSet(CertificateSpec spec) => new(spec.Alt, StringComparer.OrdinalIgnoreCase);

        static TimeSpan? Normalized(string? duration) =>
            duration is null ? null : GoDuration.TryParse(duration, out var value, out _) ? value : TimeSpan.MinValue;

        static int EffectiveKeySize(CertificateSpec spec) =>
            spec.KeySize ?? ((spec.KeyAlgorithm ?? "RSA").Equals("ECDSA", StringComparison.OrdinalIgnoreCase) ? 256 : 2048);
    }

    /// <summary>Whether two specs are the same desired state (lists compared by content).</summary>
    public static bool SameSpec(CertificateSpec a, CertificateSpec b) =>
        !AffectsCertificate(a, b) && a.RenewBefore == b.RenewBefore && a.Fqdn == b.Fqdn && a.Alt.SequenceEqual(b.Alt);

    /// <summary>
    /// When to renew: renewBefore ahead of notAfter, by default one third of the lifetime ahead.
    /// Never before notBefore.
    /// </summary>
    public static DateTimeOffset RenewalTime(DateTimeOffset notBefore, DateTimeOffset notAfter, TimeSpan? renewBefore)
    {
        var lifetime = notAfter - notBefore;
        var ahead = renewBefore is { } value && value < lifetime ? value : lifetime / 3;
        return notAfter - ahead;
    }
}
