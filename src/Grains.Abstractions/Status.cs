namespace Notary.Grains.Abstractions;

/// <summary>Condition types and status values used in resource status.</summary>
public static class Conditions
{
    public const string Ready = "Ready";
    public const string Issuing = "Issuing";
    public const string Compromised = "Compromised";
    /// <summary>A truststore in Issuers mode: True, with the sentence naming the CAs it trusts wholesale.</summary>
    public const string TrustsIssuers = "TrustsIssuers";

    /// <summary>A Truststore: some certificates of its trust sources are left out because a Breach quarantines them.</summary>
    public const string SourceCertificatesWithheld = "SourceCertificatesWithheld";
    public const string True = "True";
    public const string False = "False";
    public const string Unknown = "Unknown";
}

/// <summary>Reasons a condition may carry. Kept in one place so tests, docs and code agree.</summary>
public static class Reasons
{
    public const string Issued = "Issued";
    public const string Issuing = "Issuing";
    public const string InvalidSpec = "InvalidSpec";
    public const string UnknownIssuer = "UnknownIssuer";
    public const string UnsupportedType = "UnsupportedType";
    /// <summary>The name policy (default, or a CertificatePolicy) refuses a name, type, issuer, key or lifetime.</summary>
    public const string PolicyDenied = "PolicyDenied";
    public const string IssueFailed = "IssueFailed";
    public const string Stored = "Stored";
    public const string StoreFailed = "StoreFailed";
    public const string ReconcileFailed = "ReconcileFailed";
    public const string BuildFailed = "BuildFailed";
    public const string MetadataSecretMissing = "MetadataSecretMissing";
    public const string MetadataMissing = "MetadataMissing";
    public const string MetadataMalformed = "MetadataMalformed";
    public const string CertificateNotFound = "CertificateNotFound";
    public const string CertificateNotReady = "CertificateNotReady";
    public const string CertificateDeleted = "CertificateDeleted";
    public const string UnresolvedReference = "UnresolvedReference";
    public const string AmbiguousReference = "AmbiguousReference";
    public const string FqdnMismatch = "FqdnMismatch";
    /// <summary>A trust source of a Truststore is missing, unparsable or empty; the message names it.</summary>
    public const string SourceInvalid = "SourceInvalid";

    /// <summary>Why <see cref="Conditions.SourceCertificatesWithheld"/> is True.</summary>
    public const string QuarantinedCertificate = "QuarantinedCertificate";
    /// <summary>The reason of TrustsIssuers=True.</summary>
    public const string IssuersMode = "IssuersMode";
    /// <summary>A Warning Event: a same-named Certificate in another namespace is ignored by a bound reference.</summary>
    public const string ReferenceBound = "ReferenceBound";
    public const string MetadataUnavailable = "MetadataUnavailable";
    public const string Deleted = "Deleted";
    public const string PendingValidation = "PendingValidation";
    public const string Expired = "Expired";
    public const string RenewalFailed = "RenewalFailed";
    public const string ExpiringSoon = "ExpiringSoon";
    /// <summary>Issuing=True during a roll: the new certificate is being written to the dependent truststores.</summary>
    public const string WaitingForTruststores = "WaitingForTruststores";
    /// <summary>Issuing=True during a roll: every dependent truststore holds the new certificate; the keystore switches after the propagation delay.</summary>
    public const string Propagating = "Propagating";
    /// <summary>Warning Event: the keystore switched before every dependent truststore held the new certificate (Rotation:MaxWait, or the old certificate's expiry).</summary>
    public const string TruststoresLeftBehind = "TruststoresLeftBehind";
    /// <summary>A Certificate whose spec.issuerRef names an issuer that is missing or not Ready: it waits and is issued as soon as the issuer is.</summary>
    public const string IssuerNotReady = "IssuerNotReady";
    /// <summary>Issuing=True: an operator asked for a re-issue now (the annotation notary.dev/renew, <c>kubectl notary renew</c>).</summary>
    public const string ManuallyTriggered = "ManuallyTriggered";
    /// <summary>A Normal Event: a renewal was requested through the annotation notary.dev/renew.</summary>
    public const string RenewRequested = "RenewRequested";
    /// <summary>Issuing=False and a Warning Event: a requested renewal was not started (quarantined, or nothing valid to renew).</summary>
    public const string RenewRefused = "RenewRefused";
    /// <summary>Issuing=False and one Warning Event: a requested renewal came within Rotation:MinManualRenewInterval of the last one; the message says when it may be renewed next.</summary>
    public const string RenewTooSoon = "RenewTooSoon";
}

/// <summary>A Kubernetes-style status condition.</summary>
[GenerateSerializer, Immutable, Alias("notary.StatusCondition")]
public sealed record StatusCondition(
    [property: Id(0)] string Type,
    [property: Id(1)] string Status,
    [property: Id(2)] string Reason,
    [property: Id(3)] string Message,
    [property: Id(4)] DateTimeOffset LastTransitionTime,
    [property: Id(5)] long ObservedGeneration);

/// <summary>Status of a Certificate, as the grain reports it into the resource's status subresource: conditions, serial, validity, renewal time.</summary>
[GenerateSerializer, Immutable, Alias("notary.CertificateStatus")]
public sealed record CertificateStatus
{
    [Id(0)] public string? Arn { get; init; }
    [Id(1)] public string? SerialNumber { get; init; }
    [Id(2)] public DateTimeOffset? NotBefore { get; init; }
    [Id(3)] public DateTimeOffset? NotAfter { get; init; }
    [Id(4)] public DateTimeOffset? RenewalTime { get; init; }
    [Id(5)] public long Revision { get; init; }
    [Id(6)] public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
    [Id(7)] public IReadOnlyList<StatusCondition> Conditions { get; init; } = [];
    [Id(8)] public long ObservedGeneration { get; init; }
    /// <summary>DNS records a Public certificate waits for (Ready=False/PendingValidation); empty otherwise.</summary>
    [Id(9)] public IReadOnlyList<Ports.ValidationRecord> ValidationRecords { get; init; } = [];
    /// <summary>
    /// The certificate the current one replaces while the two overlap: the one the keystore still
    /// serves during a make-before-break roll, then the one truststores keep trusting until it
    /// expires (or Rotation:Overlap ends); null when nothing overlaps.
    /// </summary>
    [Id(10)] public string? PreviousSerialNumber { get; init; }
    /// <summary>The last renewal an operator requested (annotation notary.dev/renew) that the certificate acted on; null when none.</summary>
    [Id(112)] public ManualRenewal? LastManualRenewal { get; init; }

    public StatusCondition? Condition(string type) => Conditions.FirstOrDefault(c => c.Type == type);

    public bool IsReady => Condition(Abstractions.Conditions.Ready)?.Status == Abstractions.Conditions.True;
}

/// <summary>
/// A renewal requested through the annotation notary.dev/renew: its value (the token; a new value
/// asks again; stored as at most 63 characters, a longer one as its start and a hash), when the
/// certificate acted on it, and what came of it.
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.ManualRenewal")]
public sealed record ManualRenewal(
    [property: Id(0)] string Token,
    [property: Id(1)] DateTimeOffset RequestedAt,
    [property: Id(2)] string Outcome);

/// <summary>The values of <see cref="ManualRenewal.Outcome"/>.</summary>
public static class ManualRenewalOutcomes
{
    /// <summary>The certificate was re-issued (or is being re-issued: see the Issuing condition) for it.</summary>
    public const string Reissued = "Reissued";

    /// <summary>The certificate was being issued already (its first issuance, or one in progress): nothing more to do.</summary>
    public const string AlreadyIssuing = "AlreadyIssuing";

    /// <summary>Not started: the Issuing condition (RenewRefused) and a Warning Event say why.</summary>
    public const string Refused = "Refused";

    /// <summary>Not started: within Rotation:MinManualRenewInterval of the last requested re-issue (the Issuing condition, RenewTooSoon, says when).</summary>
    public const string TooSoon = "TooSoon";
}

/// <summary>The annotation through which an operator asks for a re-issue now.</summary>
public static class RenewAnnotation
{
    /// <summary>
    /// <c>notary.dev/renew</c>: each new value asks for one re-issue now, with the same
    /// make-before-break order as a renewal. The value is a token (kubectl notary renew writes the
    /// time); the certificate remembers the last one it acted on, so a resync or a restart does
    /// not re-issue again.
    /// </summary>
    public const string Name = "notary.dev/renew";
}

/// <summary>Status of a Keystore or Truststore, as the grain reports it into the resource's status subresource: conditions and where the store was written.</summary>
[GenerateSerializer, Immutable, Alias("notary.StoreStatus")]
public sealed record StoreStatus
{
    /// <summary>The secret store's identifier of the stored secret.</summary>
    [Id(0)] public string? Arn { get; init; }
    /// <summary>Where the service fetches the store: an ARN, or k8s://NAMESPACE/secrets/NAME.</summary>
    [Id(1)] public string? Location { get; init; }
    /// <summary>Certificate key ("namespace/name") to the revision the store was built from.</summary>
    [Id(2)] public IReadOnlyDictionary<string, long> CertificateRevisions { get; init; } = new Dictionary<string, long>();
    /// <summary>Truststore aliases, in store order.</summary>
    [Id(3)] public IReadOnlyList<string> Entries { get; init; } = [];
    [Id(4)] public IReadOnlyList<StatusCondition> Conditions { get; init; } = [];
    [Id(5)] public long ObservedGeneration { get; init; }
    /// <summary>Truststore references without a namespace and the Certificate each is bound to.</summary>
    [Id(6)] public IReadOnlyList<BoundReference> References { get; init; } = [];
    /// <summary>
    /// Fingerprints (SHA-256, hex) of the CAs a CA rotation asked to trust that the stored store
    /// holds (keystore <c>ca.crt</c>, Issuers-mode truststore): the rotation waits on these.
    /// Not written to the resource's status.
    /// </summary>
    [Id(7)] public IReadOnlyList<string> IssuerCas { get; init; } = [];

    public StatusCondition? Condition(string type) => Conditions.FirstOrDefault(c => c.Type == type);

    public bool IsReady => Condition(Abstractions.Conditions.Ready)?.Status == Abstractions.Conditions.True;
}

/// <summary>
/// A truststore reference without a namespace, bound to the Certificate it first resolved to
/// (its namespace and metadata.uid): kept while that Certificate exists, so a same-named one
/// created later elsewhere never replaces it.
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.BoundReference")]
public sealed record BoundReference(
    [property: Id(0)] string Tag,
    [property: Id(1)] string Namespace,
    [property: Id(2)] string? Uid);
