using Notary.Grains.Abstractions.Ports;
using Orleans.Concurrency;

namespace Notary.Grains.Abstractions;

/// <summary>The two kinds of issuer resource (<c>spec.issuerRef.kind</c>).</summary>
public static class IssuerKinds
{
    /// <summary>Namespaced: issues only to Certificates of its own namespace; its CA Secret lives there.</summary>
    public const string Issuer = "Issuer";

    /// <summary>Cluster-scoped: issues to every namespace; its CA Secret lives in Notary's namespace.</summary>
    public const string ClusterIssuer = "ClusterIssuer";
}

/// <summary>A Certificate's <c>spec.issuerRef</c>: an Issuer of the Certificate's namespace, or a ClusterIssuer.</summary>
[GenerateSerializer, Immutable, Alias("notary.IssuerRef")]
public sealed record IssuerRef(
    [property: Id(0)] string Name,
    [property: Id(1)] string Kind)
{
    /// <summary>
    /// The issuer grain's key: <c>Issuer/NAMESPACE/NAME</c> (the namespace is the Certificate's:
    /// a namespaced Issuer never issues to another namespace) or <c>ClusterIssuer/NAME</c>.
    /// </summary>
    public string GrainKey(string certificateNamespace) =>
        Kind == IssuerKinds.ClusterIssuer ? IssuerKeys.Cluster(Name) : IssuerKeys.Namespaced(certificateNamespace, Name);
}

/// <summary>Issuer grain keys.</summary>
public static class IssuerKeys
{
    public static string Namespaced(string @namespace, string name) => $"{IssuerKinds.Issuer}/{@namespace}/{name}";

    public static string Cluster(string name) => $"{IssuerKinds.ClusterIssuer}/{name}";

    /// <summary>
    /// The reserved key of the built-in root's issuer grain and CA rotation: the certificates of
    /// the default path (no issuerRef; spec.issuer <c>builtin</c>, or unset with the built-in
    /// issuer as the default) are signed through it, and it records which root signed each, so
    /// that a rotation of the built-in root re-issues them trust-first. No Issuer object has
    /// this key (every other key has a slash).
    /// </summary>
    public const string BuiltinRoot = "builtin";

    /// <summary>The kind <see cref="Parse"/> returns for <see cref="BuiltinRoot"/>.</summary>
    public const string BuiltinRootKind = "BuiltinRoot";

    /// <summary>Kind, namespace (null for a ClusterIssuer and the built-in root) and name of a key; throws <see cref="FormatException"/> for anything else.</summary>
    public static (string Kind, string? Namespace, string Name) Parse(string key)
    {
        var parts = key.Split('/');
        return parts switch
        {
            [IssuerKinds.Issuer, var ns, var name] when ns.Length > 0 && name.Length > 0 => (IssuerKinds.Issuer, ns, name),
            [IssuerKinds.ClusterIssuer, var name] when name.Length > 0 => (IssuerKinds.ClusterIssuer, null, name),
            [BuiltinRoot] => (BuiltinRootKind, null, BuiltinRoot),
            _ => throw new FormatException($"Issuer grain key '{key}' is not Issuer/NAMESPACE/NAME or ClusterIssuer/NAME."),
        };
    }
}

/// <summary>
/// An Issuer's or ClusterIssuer's spec: exactly one of <see cref="Builtin"/>, <see cref="Ca"/>,
/// <see cref="Acm"/> (the mapping passes what the object holds; none or several is the grain's
/// Ready=False/InvalidSpec, the CRD refuses it first where the API server enforces it).
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.IssuerSpec")]
public sealed record IssuerSpec
{
    /// <summary><c>builtin: {}</c>: Notary's own root CA.</summary>
    [Id(0)] public bool Builtin { get; init; }
    [Id(1)] public CaIssuerSpec? Ca { get; init; }
    [Id(2)] public AcmIssuerSpec? Acm { get; init; }

    /// <summary>"builtin", "ca", "acm", or null when not exactly one is set.</summary>
    public string? Type => (Builtin ? 1 : 0) + (Ca is null ? 0 : 1) + (Acm is null ? 0 : 1) != 1 ? null
        : Builtin ? "builtin" : Ca is not null ? "ca" : "acm";
}

/// <summary><c>ca: {secretName}</c>: a CA key pair (<c>tls.crt</c> with its issuers after it, <c>tls.key</c>) in a Secret.</summary>
[GenerateSerializer, Immutable, Alias("notary.CaIssuerSpec")]
public sealed record CaIssuerSpec([property: Id(0)] string SecretName);

/// <summary><c>acm: {region, privateCaArn, roleArn, serviceUrl}</c>.</summary>
[GenerateSerializer, Immutable, Alias("notary.AcmIssuerSpec")]
public sealed record AcmIssuerSpec
{
    [Id(0)] public required string Region { get; init; }
    [Id(1)] public required string PrivateCaArn { get; init; }
    /// <summary>A role to assume through STS for every call (a CA in another account); null: Notary's own credentials.</summary>
    [Id(2)] public string? RoleArn { get; init; }
    /// <summary>An endpoint override (tests, VPC endpoints); null: the region's default.</summary>
    [Id(3)] public string? ServiceUrl { get; init; }
    /// <summary>
    /// Not in the resource: the namespace of the Issuer that names this spec, set by the issuer
    /// grain from the resource's key (never from the spec); null for a ClusterIssuer. Decides
    /// whether the spec is allowed at all (namespaced acm Issuers need the operator's consent)
    /// and the ExternalId and session tags of AssumeRole.
    /// </summary>
    [Id(4)] public string? Namespace { get; init; }
}

/// <summary>Whether an issuer can issue now, and why not.</summary>
[GenerateSerializer, Immutable, Alias("notary.IssuerReadiness")]
public sealed record IssuerReadiness(
    [property: Id(0)] bool Ready,
    [property: Id(1)] string Reason,
    [property: Id(2)] string Message);

/// <summary>A CA rotation in progress, as the issuer's status shows it.</summary>
[GenerateSerializer, Immutable, Alias("notary.IssuerRotationStatus")]
public sealed record IssuerRotationStatus
{
    /// <summary>TrustingNewCa, Reissuing, RetiringOldCa (then the rotation ends and the status has none).</summary>
    [Id(0)] public required string Phase { get; init; }
    /// <summary>SHA-256 fingerprints (hex, upper case) of the CA replaced and of its successor.</summary>
    [Id(1)] public required string FromFingerprint { get; init; }
    [Id(2)] public required string ToFingerprint { get; init; }
    [Id(3)] public int Total { get; init; }
    /// <summary>Certificates still to be re-issued from the new CA (or whose old certificate is still trusted somewhere).</summary>
    [Id(4)] public int Remaining { get; init; }
    [Id(5)] public DateTimeOffset Started { get; init; }
    /// <summary>
    /// Certificates ("namespace/name", at most 20) whose keystores or Issuers truststores did not
    /// trust the new CA within Rotation:MaxWait: the rotation went on without them, and a peer
    /// that trusts such a service only through those stores refuses its re-issued certificate
    /// until they are written. Empty when none.
    /// </summary>
    [Id(6)] public IReadOnlyList<string> LeftBehind { get; init; } = [];
    /// <summary>At most this many left-behind certificates are named (the CRD's maxItems).</summary>
    public const int LeftBehindShown = 20;

    /// <summary>How many certificates were left behind in all (<see cref="LeftBehind"/> names the first 20).</summary>
    [Id(7)] public int LeftBehindCount { get; init; }

    // Value equality for the list too (a record compares it by reference): statuses are compared
    // to tell whether one changed.
    public bool Equals(IssuerRotationStatus? other) =>
        other is not null && Phase == other.Phase && FromFingerprint == other.FromFingerprint && ToFingerprint == other.ToFingerprint
        && Total == other.Total && Remaining == other.Remaining && Started == other.Started
        && LeftBehindCount == other.LeftBehindCount && LeftBehind.SequenceEqual(other.LeftBehind, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Phase, FromFingerprint, ToFingerprint, Total, Remaining, Started, LeftBehindCount);
}

/// <summary>What Notary writes into an Issuer's or ClusterIssuer's status subresource.</summary>
[GenerateSerializer, Immutable, Alias("notary.IssuerStatus")]
public sealed record IssuerStatus
{
    [Id(0)] public IReadOnlyList<StatusCondition> Conditions { get; init; } = [];
    [Id(1)] public long ObservedGeneration { get; init; }
    /// <summary>The CA certificate signing now: SHA-256 fingerprint (hex) and expiry; null for acm or when not Ready.</summary>
    [Id(2)] public string? CaFingerprint { get; init; }
    [Id(3)] public DateTimeOffset? CaNotAfter { get; init; }
    [Id(4)] public IssuerRotationStatus? Rotation { get; init; }
    /// <summary>How many Certificates this issuer's current certificates belong to.</summary>
    [Id(5)] public int Certificates { get; init; }
    /// <summary>"builtin", "ca" or "acm" (the printer column Type); null when the spec names none or several.</summary>
    [Id(6)] public string? Type { get; init; }
}

/// <summary>
/// One Issuer or ClusterIssuer, keyed <see cref="IssuerKeys"/>. It holds the CA (never in its
/// state: read from the Secret, or the built-in root, or an ACM client), its readiness, the
/// Certificates it issued and, when its CA changes, the rotation that re-issues them.
/// </summary>
[Alias("notary.IIssuerGrain")]
public interface IIssuerGrain : IGrainWithStringKey
{
    /// <summary>The watcher saw the resource (created, changed, resync): validate, write status, wake waiting Certificates.</summary>
    Task<IssuerStatus> ApplyAsync(IssuerSpec spec, ResourceVersionInfo origin);

    /// <summary>The resource is gone: Certificates naming it wait (IssuerNotReady); state cleared.</summary>
    Task DeleteAsync();

    /// <summary>The Secret the issuer reads may have changed (the watcher saw a new resourceVersion): read it again.</summary>
    [OneWay]
    Task OnCaSecretChangedAsync();

    /// <summary>
    /// Its CA rotation moved on (phase, what remains) or ended: the issuer writes its status again,
    /// so that <c>status.rotation</c> follows the rotation and disappears when it is over.
    /// </summary>
    [OneWay]
    Task OnRotationChangedAsync();

    /// <summary>
    /// Readiness for <paramref name="certificate"/>, which is remembered: when the issuer becomes
    /// Ready the certificate gets <see cref="ICertificateGrain.OnIssuerChangedAsync"/>.
    /// </summary>
    Task<IssuerReadiness> WatchAsync(ResourceKey certificate);

    /// <summary>The certificate no longer names this issuer (deleted, or issuerRef changed).</summary>
    Task UnwatchAsync(ResourceKey certificate);

    /// <summary>
    /// One issuance step, as <see cref="ICertificateIssuer.IssueAsync"/>. Not Ready: throws
    /// <see cref="IssuerFailedException"/> with reason IssuerNotReady. Records which CA issued the
    /// certificate (the rotation's list).
    /// </summary>
    [ResponseTimeout("00:02:00")]
    Task<IssueProgress> IssueAsync(IssueRequest request);

    /// <summary>As <see cref="ICertificateIssuer.RetireAsync"/>.</summary>
    Task RetireAsync(string arn, RetireReason reason);

    /// <summary>
    /// <paramref name="certificate"/> holds a certificate this issuer signed without recording it
    /// (the built-in root's default path before it went through <see cref="IssuerKeys.BuiltinRoot"/>):
    /// record it, with the CA among <paramref name="chainFingerprints"/> (its chain's SHA-256
    /// fingerprints), so that a CA rotation re-issues it. Nothing when it is recorded already.
    /// </summary>
    Task AdoptAsync(ResourceKey certificate, IReadOnlyList<string> chainFingerprints);

    Task<IssuerStatus?> GetStatusAsync();

    /// <summary>
    /// Writes the certificates recorded since this issuer's last state write (the built-in root
    /// writes them behind, at most once a second, see IssuerGrain.WriteBehind.cs); the grain
    /// calls it on itself, so that the write takes a turn of its own. Nothing when none is pending.
    /// </summary>
    [OneWay]
    Task FlushAsync();
}

/// <summary>
/// Which issuer grains hold a spec (one grain, key <see cref="ClusterKey"/>): each issuer grain
/// registers on apply and unregisters on delete. After its first list of issuers, the watcher asks
/// for the keys of that kind and deletes those it did not list: an Issuer deleted while no watcher
/// ran (no finalizer) stops issuing (src/Watcher/README.md, "Issuers deleted while no watcher ran").
/// </summary>
[Alias("notary.IIssuerRegistryGrain")]
public interface IIssuerRegistryGrain : IGrainWithStringKey
{
    public const string ClusterKey = "cluster";

    Task RegisterAsync(string issuerKey);

    Task UnregisterAsync(string issuerKey);

    /// <summary>The registered keys of <paramref name="kind"/> (Issuer or ClusterIssuer), ordered.</summary>
    Task<IReadOnlyList<string>> ListAsync(string kind);
}

/// <summary>Port: writes an Issuer's or ClusterIssuer's status subresource (key as <see cref="IssuerKeys"/>).</summary>
public interface IIssuerStatusWriter
{
    Task WriteIssuerStatusAsync(string issuerKey, IssuerStatus status, CancellationToken cancellationToken);
}

/// <summary>What a CA Secret held, or why there is nothing to use. ToString never prints the key.</summary>
public sealed record CaSecretContent(CaSecretOutcome Outcome, string? CertificatePem, string? PrivateKeyPem, string? ResourceVersion)
{
    public override string ToString() => $"CaSecretContent {{ Outcome = {Outcome}, ResourceVersion = {ResourceVersion} }}";
}

public enum CaSecretOutcome
{
    Found = 0,
    SecretMissing = 1,
    /// <summary>The Secret exists without <c>tls.crt</c> or <c>tls.key</c>.</summary>
    KeyMissing = 2,
}

/// <summary>
/// Port: reads a <c>ca</c> issuer's Secret (<c>tls.crt</c>, <c>tls.key</c>) from one namespace:
/// the Issuer's own, or Notary's for a ClusterIssuer. The caller decides the namespace from the
/// issuer's key, so a namespaced Issuer can never name another namespace's Secret.
/// </summary>
public interface ICaSecretReader
{
    Task<CaSecretContent> ReadAsync(string @namespace, string secretName, CancellationToken cancellationToken);

    /// <summary>Notary's own namespace (where ClusterIssuers' Secrets live).</summary>
    string NotaryNamespace { get; }

    /// <summary>
    /// Notary's own Secrets in <see cref="NotaryNamespace"/> (the built-in root's, the state
    /// key's): a ClusterIssuer may not name them, and they are not even read for it.
    /// </summary>
    IReadOnlyCollection<string> ReservedSecretNames => [];
}

/// <summary>Port: an ACM issuer for one Issuer's region, Private CA and (optional) assumed role.</summary>
public interface IAcmIssuerFactory
{
    /// <summary>An issuer for <paramref name="spec"/>; <paramref name="name"/> labels it in logs and tags. Cheap; cache per spec.</summary>
    ICertificateIssuer Create(string name, AcmIssuerSpec spec);

    /// <summary>
    /// Whether the issuer can work: the role can be assumed, the Private CA exists and is ACTIVE;
    /// with the Private CA's certificate (PEM, its chain after it) when it does, for rotation when
    /// privateCaArn changes. AWS refusals become a not-Ready result with a user-worded message.
    /// </summary>
    Task<AcmIssuerCheck> CheckAsync(AcmIssuerSpec spec, CancellationToken cancellationToken);
}

/// <summary>The outcome of <see cref="IAcmIssuerFactory.CheckAsync"/>.</summary>
public sealed record AcmIssuerCheck(IssuerReadiness Readiness, string? CaCertificatePem);

/// <summary>How a CA rotation starts: the issuer's CA changed from <see cref="OldCaPem"/> to <see cref="NewCaPem"/>.</summary>
[GenerateSerializer, Immutable, Alias("notary.CaRotationStart")]
public sealed record CaRotationStart(
    [property: Id(0)] string IssuerKey,
    [property: Id(1)] string OldCaPem,
    [property: Id(2)] string NewCaPem,
    [property: Id(3)] IReadOnlyList<ResourceKey> Certificates);

/// <summary>
/// The CA rotation of one issuer, keyed like the issuer (<see cref="IssuerKeys"/>). The issuer
/// grain starts it when its CA changes and asks it before signing; the rotation grain makes every
/// certificate of the issuer trust the new CA (<see cref="ICertificateGrain.SetIssuerCasAsync"/>),
/// waits for that to reach the pods, re-issues the certificates from the new CA in a paced roll
/// (Rotation:MaxConcurrentReissues, each make-before-break), and drops the old CA once its last
/// certificate is gone from every truststore. Its progress is the issuer's <c>status.rotation</c>.
/// </summary>
[Alias("notary.ICaRotationGrain")]
public interface ICaRotationGrain : IGrainWithStringKey
{
    /// <summary>Starts (or, for the same new CA, continues) a rotation; a rotation to another CA replaces the one in progress.</summary>
    Task BeginAsync(CaRotationStart start);

    /// <summary>The issuer issued <paramref name="certificate"/> from the CA with that fingerprint (SHA-256 hex): it joins the roll's list.</summary>
    Task OnIssuedAsync(ResourceKey certificate, string caFingerprint);

    /// <summary>False while the new CA is not yet trusted everywhere (first phase): the issuer makes issuances wait.</summary>
    Task<bool> MaySignWithNewCaAsync();

    /// <summary>Null when no rotation is in progress.</summary>
    Task<IssuerRotationStatus?> GetStatusAsync();

    /// <summary>
    /// Stops the rotation and takes its CAs out of its certificates. Only persists the request:
    /// the rotation's own timer takes the steps (no call back into certificates inside it).
    /// </summary>
    Task CancelAsync();

    /// <summary>
    /// The issuer is deleted: the rotation pauses. Its CAs stay trusted (certificates already on the
    /// new CA and those still on the old one go on trusting each other), nothing is re-issued; it
    /// ends once no certificate names the issuer any more, and continues when the issuer comes
    /// back (<see cref="BeginAsync"/>). Only persists the request.
    /// </summary>
    Task PauseAsync();

    /// <summary>
    /// <paramref name="certificate"/> no longer names the issuer (issuerRef changed, deleted): the
    /// rotation is done with it and takes its CAs out of it. One-way: the issuer never waits on it.
    /// </summary>
    [OneWay]
    Task OnCertificateLeftAsync(ResourceKey certificate);
}
