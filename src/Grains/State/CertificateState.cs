using System.Collections.Frozen;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains;

/// <summary>Persisted state of a Certificate. The material is kept so stores can be rebuilt after a restart.</summary>
[GenerateSerializer, Alias("notary.CertificateState")]
public sealed class CertificateState
{
    [Id(0)] public CertificateSpec? Spec { get; set; }
    [Id(1)] public ResourceVersionInfo? Origin { get; set; }
    /// <summary>Saved as <see cref="IssuedMaterial"/> before, which loads as this (see <see cref="StoredMaterial"/>).</summary>
    [Id(2)] public StoredMaterial? Material { get; set; }
    /// <summary>The spec the current material was issued for.</summary>
    [Id(3)] public CertificateSpec? IssuedFor { get; set; }
    [Id(4)] public long Revision { get; set; }
    [Id(5)] public DateTimeOffset? RenewalTime { get; set; }
    [Id(6)] public List<StatusCondition> Conditions { get; set; } = [];
    // The two sets below are empty for most certificates: null until needed, so that a resident
    // activation does not hold two empty HashSets (128 B). Same [Id]s and types as when they were
    // public properties, so saved state loads unchanged.
    [Id(7)] private HashSet<SubscriberRef>? _subscribers;
    /// <summary>The fqdn registered in the tag index, null when not registered.</summary>
    [Id(8)] public string? RegisteredFqdn { get; set; }
    /// <summary>
    /// The origin whose apply reached a final outcome (issued, nothing to do, or a problem only a
    /// spec change can fix). A transient failure leaves it behind, so the next apply retries.
    /// </summary>
    [Id(9)] public ResourceVersionInfo? Reconciled { get; set; }
    /// <summary>An issuance the issuer has started but not finished (ACM: requested, not yet exported).</summary>
    [Id(10)] public PendingIssuance? Pending { get; set; }
    /// <summary>Alert thresholds already alerted for the current certificate (cleared by each issuance).</summary>
    [Id(11)] private HashSet<TimeSpan>? _alertsSent;
    /// <summary>Consecutive failed renewals, and when the next attempt is due.</summary>
    [Id(12)] public int RenewalFailures { get; set; }
    [Id(13)] public DateTimeOffset? NextRenewalAttempt { get; set; }
    /// <summary>
    /// Quarantined before Breaches were resources (one flag): read as the holder
    /// <see cref="LegacyQuarantine"/> (see <see cref="QuarantinedBy"/>), never written true again.
    /// </summary>
    [Id(14)] public bool Quarantined { get; set; }
    /// <summary>
    /// When the lifecycle reminder last registered is due, saved only once the registration
    /// succeeded: a resync leaves a reminder that still wakes the grain in time alone instead of
    /// writing it again (one reminder-table write per certificate per restart saved).
    /// </summary>
    [Id(15)] public DateTimeOffset? ReminderDue { get; set; }
    /// <summary>The continuation reminder is registered (see <c>CertificateGrain.ContinueReminder</c>): only then is it unregistered.</summary>
    [Id(16)] public bool ContinueRegistered { get; set; }
    /// <summary>
    /// During a make-before-break roll: the material the keystore keeps serving until the switch
    /// (<see cref="Material"/> is the new one, already in dependents' truststores); null otherwise.
    /// </summary>
    [Id(17)] public StoredMaterial? Serving { get; set; }
    /// <summary>The revision of <see cref="Serving"/>.</summary>
    [Id(18)] public long ServingRevision { get; set; }
    /// <summary>The roll in progress (null when none): its deadline and the truststores that hold the new certificate.</summary>
    [Id(19)] public RollState? Roll { get; set; }
    /// <summary>Replaced certificates that dependents' truststores still trust (overlap); null when none.</summary>
    [Id(20)] public List<TrustedPrevious>? Previous { get; set; }
    /// <summary>The roll reminder is registered: only then is it unregistered.</summary>
    [Id(21)] public bool RollReminderRegistered { get; set; }
    /// <summary>
    /// After a keystore switch whose previous certificate still <see cref="TrustedPrevious.AwaitsKeystores"/>:
    /// the keystores (subscriber keys) that confirmed writing the served revision; null when no
    /// previous certificate waits. The overlap counts from the last of them (see CertificateGrain.Roll.cs).
    /// </summary>
    [Id(140)] public HashSet<string>? KeystoresWritten { get; set; }

    /// <summary>The quarantine Breaches ("namespace/name") holding the certificate out of truststores; null when none.</summary>
    [Id(22)] private HashSet<string>? _quarantinedBy;

    /// <summary>
    /// CA certificates (PEM) its issuer's CA rotation asks to be trusted beside the certificate's
    /// own chain (<see cref="ICertificateGrain.SetIssuerCasAsync"/>); null when none.
    /// </summary>
    [Id(60)] public List<string>? IssuerCas { get; set; }

    /// <summary>
    /// Which issuer issued each certificate this grain still holds (ARN to <see cref="IssuerIds"/>):
    /// a certificate is retired through the issuer that issued it, not the one the spec names now.
    /// </summary>
    [Id(90)] public Dictionary<string, string>? IssuedBy { get; set; }

    /// <summary>Compromised certificates whose revocation failed, retried with backoff until it succeeds; null when none.</summary>
    [Id(91)] public List<RetireRetry>? RetireRetries { get; set; }

    /// <summary>The retire reminder is registered: only then is it unregistered.</summary>
    [Id(92)] public bool RetireReminderRegistered { get; set; }

    /// <summary>
    /// The last renewal an operator requested (annotation notary.dev/renew) that this certificate
    /// acted on: a resync, a new watcher term or a restart forwards the same token again, which
    /// re-issues nothing. Not kept when the resource is deleted (a new Certificate of the name starts afresh).
    /// </summary>
    [Id(110)] public ManualRenewal? LastManualRenewal { get; set; }

    /// <summary>
    /// When the last requested renewal re-issued (Rotation:MinManualRenewInterval counts from it);
    /// null when none. Older state has only <see cref="LastManualRenewal"/>: see <see cref="LastManualReissue"/>.
    /// </summary>
    [Id(150)] public DateTimeOffset? LastManualReissueAt { get; set; }

    /// <summary>When the last requested renewal re-issued, from older state too.</summary>
    public DateTimeOffset? LastManualReissue =>
        LastManualReissueAt ?? (LastManualRenewal is { Outcome: ManualRenewalOutcomes.Reissued } r ? r.RequestedAt : null);

    /// <summary>
    /// The holder a quarantine from before Breaches were resources becomes: it has no Breach to
    /// delete, so the first quarantine Breach of this certificate that is lifted lifts it too.
    /// </summary>
    public const string LegacyQuarantine = "(quarantine reported before Breaches were resources)";

    /// <summary>The quarantines in force: the certificate is out of truststores while any holds it.</summary>
    public IReadOnlyCollection<string> QuarantinedBy => Quarantined
        ? [.. (IEnumerable<string>?)_quarantinedBy ?? [], LegacyQuarantine]
        : (IReadOnlyCollection<string>?)_quarantinedBy ?? [];

    public bool IsQuarantined => Quarantined || _quarantinedBy is { Count: > 0 };

    /// <summary>Adds or removes a holder; a removal also lets go of the legacy quarantine. True when something changed.</summary>
    public bool HoldQuarantine(string breach, bool hold)
    {
        if (Quarantined)
        {
            // The legacy flag becomes a holder of its own (written back as false from now on).
            Quarantined = false;
            (_quarantinedBy ??= new(StringComparer.Ordinal)).Add(LegacyQuarantine);
        }

        if (hold)
        {
            return (_quarantinedBy ??= new(StringComparer.Ordinal)).Add(breach);
        }

        var removed = _quarantinedBy is not null && (_quarantinedBy.Remove(breach) | _quarantinedBy.Remove(LegacyQuarantine));
        if (_quarantinedBy is { Count: 0 })
        {
            _quarantinedBy = null;
        }

        return removed;
    }

    /// <summary>The keystores and truststores using this certificate.</summary>
    public IReadOnlyCollection<SubscriberRef> Subscribers => (IReadOnlyCollection<SubscriberRef>?)_subscribers ?? [];

    public bool AddSubscriber(SubscriberRef subscriber) => (_subscribers ??= []).Add(subscriber);

    public bool RemoveSubscriber(SubscriberRef subscriber)
    {
        var removed = _subscribers?.Remove(subscriber) ?? false;
        if (_subscribers is { Count: 0 })
        {
            _subscribers = null;
        }

        return removed;
    }

    public IReadOnlySet<TimeSpan> AlertsSent => (IReadOnlySet<TimeSpan>?)_alertsSent ?? FrozenSet<TimeSpan>.Empty;

    public void AddAlertSent(TimeSpan threshold) => (_alertsSent ??= []).Add(threshold);

    public void ClearAlertsSent() => _alertsSent = null;

    /// <summary>What a deleted certificate keeps: its subscribers, its revision, the quarantines (Breaches outlive it) and the revocations still to retry.</summary>
    public CertificateState Deleted() => new()
    {
        _subscribers = _subscribers,
        Revision = Revision,
        Quarantined = Quarantined,
        _quarantinedBy = _quarantinedBy,
        // A compromised certificate is revoked even after its resource is gone.
        RetireRetries = RetireRetries,
        RetireReminderRegistered = RetireReminderRegistered,
    };

    /// <summary>
    /// Read from storage, every value is a copy of its own: the spec twice (the spec and the one
    /// issued for, equal once issued), the origin twice (applied and reconciled), and strings
    /// that every certificate repeats. Points equal values at one instance, so that a resident
    /// activation holds each once; nothing changes in what the state says.
    /// </summary>
    public void Compact()
    {
        if (Spec is not null)
        {
            Spec = SharedText.Of(Spec);
            if (IssuedFor is not null && SameValue(IssuedFor, Spec))
            {
                IssuedFor = Spec;
            }
        }

        if (Reconciled is not null && Reconciled == Origin)
        {
            Reconciled = Origin;
        }

        if (_subscribers is { Count: 0 })
        {
            _subscribers = null;
        }

        if (_alertsSent is { Count: 0 })
        {
            _alertsSent = null;
        }

        if (Serving is { ChainPem.Count: > 0 } serving)
        {
            serving.ChainPem = SharedText.Of(serving.ChainPem);
        }

        if (Previous is { Count: 0 })
        {
            Previous = null;
        }

        if (Material is { ChainPem.Count: > 0 } material)
        {
            // 1.3 KB per certificate for an ECDSA root, 2.5 KB for RSA 3072: the same text for
            // every certificate of one CA.
            material.ChainPem = SharedText.Of(material.ChainPem);
        }

        for (var i = 0; i < Conditions.Count; i++)
        {
            Conditions[i] = SharedText.Of(Conditions[i]);
        }
    }

    /// <summary>Equal in every field (record equality compares the alternative names by reference).</summary>
    public static bool SameValue(CertificateSpec a, CertificateSpec b) =>
        ReferenceEquals(a, b) || (a with { Alt = b.Alt } == b && a.Alt.SequenceEqual(b.Alt, StringComparer.Ordinal));
}
