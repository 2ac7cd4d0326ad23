using Orleans.Concurrency;

namespace Notary.Grains.Abstractions;

/// <summary>The public part of an issued certificate: what a truststore needs, no private key.</summary>
[GenerateSerializer, Immutable, Alias("notary.PublicMaterial")]
public sealed record PublicMaterial(
    [property: Id(0)] string Arn,
    [property: Id(1)] string CertificatePem,
    [property: Id(2)] IReadOnlyList<string> ChainPem,
    [property: Id(3)] string SerialNumber,
    [property: Id(4)] DateTimeOffset NotAfter);

/// <summary>
/// What a store needs to know of a certificate: its identity, fqdn, revision and public
/// material. <see cref="Material"/> is null while no certificate matching the spec is issued.
/// <see cref="Exists"/> is false when no Certificate resource exists (never applied, or deleted).
/// Only keystores fetch the private key, separately (<see cref="ICertificateGrain.GetIssuedMaterialAsync"/>).
/// During a make-before-break roll <see cref="Material"/> is the new certificate (truststores
/// trust it under the certificate's own alias), <see cref="AlsoTrusted"/> holds the certificates
/// truststores must go on trusting beside it (the one keystores still serve, then the previous
/// ones until their overlap ends), and <see cref="KeystoreRevision"/> is the revision keystores
/// build from (null: <see cref="Revision"/>). <see cref="IssuerCas"/>: CA certificates (PEM) the
/// issuer asks to be trusted beside the chain during a CA rotation (<see cref="ICertificateGrain.SetIssuerCasAsync"/>):
/// keystores add them to <c>ca.crt</c>, Issuers-mode truststores trust them. <see cref="IssuerKey"/>:
/// the grain key (<see cref="IssuerKeys"/>) of the issuer that signs it: spec.issuerRef's, the
/// built-in root's (<see cref="IssuerKeys.BuiltinRoot"/>) for the default path, <c>issuer:NAME</c>
/// for another configured issuer (a CA rotation tells by it whether the certificate left it).
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.CertificateSnapshot")]
public sealed record CertificateSnapshot(
    [property: Id(0)] ResourceKey Resource,
    [property: Id(1)] bool Exists,
    [property: Id(2)] string? Fqdn,
    [property: Id(3)] long Revision,
    [property: Id(4)] PublicMaterial? Material,
    [property: Id(5)] bool Quarantined = false,
    [property: Id(6)] IReadOnlyList<PublicMaterial>? AlsoTrusted = null,
    [property: Id(7)] long? KeystoreRevision = null,
    [property: Id(8)] IReadOnlyList<string>? IssuerCas = null,
    [property: Id(80)] string? IssuerKey = null,
    [property: Id(140)] bool AwaitsKeystores = false)
{
    /// <summary>The revision a keystore builds from: the one it serves, which lags behind <see cref="Revision"/> during a roll.</summary>
    public long ServedRevision => KeystoreRevision ?? Revision;

    /// <summary>A roll is in progress: truststores trust the new certificate, keystores still serve an older one.</summary>
    public bool Rolling => KeystoreRevision is { } served && served != Revision;
}

/// <summary>A grain that follows certificates: it is told when one changes (issued, re-issued, deleted).</summary>
[GenerateSerializer, Immutable, Alias("notary.SubscriberRef")]
public sealed record SubscriberRef(
    [property: Id(0)] ResourceKind Kind,
    [property: Id(1)] string Key);

/// <summary>A store grain: notified of certificate and metadata changes.</summary>
[Alias("notary.ICertificateSubscriber")]
public interface ICertificateSubscriber : IGrainWithStringKey
{
    /// <summary>
    /// One-way, so that a certificate never waits on its subscribers (no call cycles): the
    /// subscriber rebuilds in its own turn and reports through its status.
    /// </summary>
    [OneWay]
    Task OnCertificateChangedAsync(string certificateKey, long revision);

    /// <summary>The metadata Secret the store uses was created, changed or deleted.</summary>
    [OneWay]
    Task OnMetadataChangedAsync();

    /// <summary>The Secret holding this store was deleted behind Notary's back: write it again.</summary>
    [OneWay]
    Task OnStoredSecretDeletedAsync();

    /// <summary>
    /// Rebuilds now from the certificates' current state and answers the outcome (breach fan-out).
    /// Longer than the default 30 s: a breach of a certificate with hundreds of dependents asks
    /// them all at once, and each waits for its turn among the silo's bounded store writes.
    /// </summary>
    [ResponseTimeout("00:02:00")]
    Task<StoreStatus> RebuildAsync();
}

/// <summary>One Certificate resource, keyed "namespace/name".</summary>
[Alias("notary.ICertificateGrain")]
public interface ICertificateGrain : IGrainWithStringKey
{
    /// <summary>Applies the desired spec: issues on first apply or when a change affects the certificate.</summary>
    Task<CertificateStatus> ApplyAsync(CertificateSpec spec, ResourceVersionInfo origin);

    /// <summary>The resource was deleted: forget the certificate and tell subscribers.</summary>
    Task DeleteAsync();

    /// <summary>Read-only and non-blocking so stores can read it while the certificate is busy.</summary>
    [AlwaysInterleave]
    Task<CertificateSnapshot> GetSnapshotAsync();

    /// <summary>
    /// The full material, private key included, for a keystore; null unless
    /// <paramref name="revision"/> is still the current one.
    /// </summary>
    [AlwaysInterleave]
    Task<Ports.IssuedMaterial?> GetIssuedMaterialAsync(long revision);

    [AlwaysInterleave]
    Task<CertificateStatus?> GetStatusAsync();

    Task SubscribeAsync(SubscriberRef subscriber);

    Task UnsubscribeAsync(SubscriberRef subscriber);

    /// <summary>Re-keys and re-issues now (operator request or breach); subscribers rebuild.</summary>
    Task<CertificateStatus> ReissueAsync(string reason);

    /// <summary>
    /// An operator asked for a renewal now (annotation notary.dev/renew = <paramref name="token"/>):
    /// re-issued once per token, make-before-break as a renewal; the same token again does nothing.
    /// </summary>
    Task<CertificateStatus> RenewAsync(string token);

    /// <summary>The keystores and truststores that use this certificate.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<SubscriberRef>> GetSubscribersAsync();

    /// <summary>
    /// The quarantine Breach <paramref name="breach"/> ("namespace/name") holds the certificate out
    /// of truststores (<paramref name="hold"/>), or no longer does. Quarantines are counted: the
    /// certificate is out while any holds it (Compromised=True) and returns when the last lets go.
    /// Kept for a certificate that does not exist (yet): after a loss of grain state the Breaches
    /// are forwarded before the Certificates. Null when the certificate does not exist.
    /// </summary>
    Task<CertificateStatus?> HoldQuarantineAsync(string breach, bool hold, string reason);

    /// <summary>The quarantine Breaches that hold the certificate out of truststores.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> GetQuarantinesAsync();

    /// <summary>
    /// A truststore tells the certificate that its stored store holds <paramref name="revision"/>
    /// (make-before-break: the keystore switches once every dependent truststore holds it). One-way:
    /// the truststore never waits on the certificate, which never calls a truststore back.
    /// </summary>
    [OneWay]
    Task AcknowledgeTrustAsync(SubscriberRef truststore, long revision);

    /// <summary>
    /// A keystore wrote (or found written) a store serving <paramref name="revision"/> after a
    /// keystore switch: once every keystore has, the previous certificate's overlap starts (it
    /// leaves truststores only after the service presents the new one). One-way, as above.
    /// </summary>
    [OneWay]
    Task AcknowledgeKeystoreAsync(SubscriberRef keystore, long revision);

    /// <summary>
    /// The issuer the certificate names (<see cref="CertificateSpec.IssuerRef"/>) became Ready:
    /// a certificate waiting with IssuerNotReady issues now. One-way: an issuer never waits on its certificates.
    /// </summary>
    [OneWay]
    Task OnIssuerChangedAsync();

    /// <summary>
    /// CA certificates (PEM) to trust beside the certificate's own chain during its issuer's CA
    /// rotation (empty: none): kept in state, published as <see cref="CertificateSnapshot.IssuerCas"/>,
    /// subscribers rebuild (keystores' <c>ca.crt</c>, Issuers-mode truststores). Returns once saved
    /// and subscribers are notified.
    /// </summary>
    Task SetIssuerCasAsync(IReadOnlyList<string> caPems);

    /// <summary>
    /// Its issuer's CA rotation asks for a certificate from the new CA (<paramref name="caFingerprint"/>:
    /// SHA-256 of its DER, hex): issued like a renewal, make-before-break (never the break-before-make
    /// of <see cref="ReissueAsync"/>, which is for breaches). Nothing happens when the newest
    /// certificate already chains to that CA, an issuance is in progress, or it was never issued.
    /// One-way: the rotation never waits on an issuance (which asks the issuer, which asks the rotation).
    /// <paramref name="issuerKey"/>: the rotating issuer (<see cref="IssuerKeys"/>); a certificate
    /// whose spec.issuerRef names another issuer is not re-issued (it left that issuer).
    /// </summary>
    [OneWay]
    Task ReissueFromCaAsync(string caFingerprint, string? issuerKey = null);
}

/// <summary>Where a Certificate of a given name lives: the index truststores use for references without a namespace.</summary>
[GenerateSerializer, Immutable, Alias("notary.TagRegistration")]
public sealed record TagRegistration(
    [property: Id(0)] string Namespace,
    [property: Id(1)] string Fqdn,
    [property: Id(2)] string? Uid = null);

/// <summary>
/// Index of the Certificates named TAG across all namespaces, keyed by the name. Truststores
/// watch a tag to learn when a certificate of that name appears, moves or goes away.
/// </summary>
[Alias("notary.ICertificateTagGrain")]
public interface ICertificateTagGrain : IGrainWithStringKey
{
    Task RegisterAsync(TagRegistration registration);

    Task UnregisterAsync(string @namespace);

    /// <summary>The current registrations, and the watcher is told (one-way) of every later change.</summary>
    Task<IReadOnlyList<TagRegistration>> ResolveAndWatchAsync(SubscriberRef watcher);

    Task UnwatchAsync(SubscriberRef watcher);
}

/// <summary>One Keystore resource, keyed "namespace/name".</summary>
[Alias("notary.IKeystoreGrain")]
public interface IKeystoreGrain : ICertificateSubscriber
{
    /// <summary>
    /// Applies the desired spec and answers the store's status. A reconcile that failed before
    /// writing (a grain call refused or timed out) is recorded as ReconcileFailed and retried by
    /// the grain, and also thrown to the caller, so that the watcher forwards it again.
    /// </summary>
    Task<StoreStatus> ApplyAsync(KeystoreSpec spec, ResourceVersionInfo origin);

    Task DeleteAsync();

    [AlwaysInterleave]
    Task<StoreStatus?> GetStatusAsync();
}

/// <summary>One Truststore resource, keyed "namespace/name".</summary>
[Alias("notary.ITruststoreGrain")]
public interface ITruststoreGrain : ICertificateSubscriber
{
    /// <summary>
    /// Applies the desired spec and answers the store's status. A reconcile that failed before
    /// writing (a grain call refused or timed out) is recorded as ReconcileFailed and retried by
    /// the grain, and also thrown to the caller, so that the watcher forwards it again.
    /// </summary>
    Task<StoreStatus> ApplyAsync(TruststoreSpec spec, ResourceVersionInfo origin);

    Task DeleteAsync();

    [AlwaysInterleave]
    Task<StoreStatus?> GetStatusAsync();
}

/// <summary>
/// One metadata Secret, keyed "namespace/secretName": remembers which stores use it, so a
/// change to the Secret rebuilds exactly those stores.
/// </summary>
[Alias("notary.IMetadataSecretGrain")]
public interface IMetadataSecretGrain : IGrainWithStringKey
{
    Task SubscribeAsync(SubscriberRef subscriber);

    Task UnsubscribeAsync(SubscriberRef subscriber);

    /// <summary>The Secret was created, updated or deleted.</summary>
    Task ChangedAsync();
}
