namespace Notary.Grains.Abstractions.Ports;

/// <summary>A private key the issuer must generate: "RSA" 2048/3072/4096 or "ECDSA" 256/384.</summary>
[GenerateSerializer, Immutable, Alias("notary.PrivateKeyRequest")]
public sealed record PrivateKeyRequest(
    [property: Id(0)] string Algorithm,
    [property: Id(1)] int Size);

/// <summary>One issuance: what the certificate must contain and who asks for it.</summary>
[GenerateSerializer, Immutable, Alias("notary.IssueRequest")]
public sealed record IssueRequest
{
    [Id(0)] public required ResourceKey Resource { get; init; }
    /// <summary>Uid and generation of the Certificate; an issuer derives idempotency tokens from them.</summary>
    [Id(1)] public required ResourceVersionInfo Origin { get; init; }
    [Id(2)] public required string Type { get; init; }
    [Id(3)] public required string Fqdn { get; init; }
    [Id(4)] public IReadOnlyList<string> Alt { get; init; } = [];
    [Id(5)] public required TimeSpan Lifetime { get; init; }
    [Id(6)] public required PrivateKeyRequest Key { get; init; }
    /// <summary>How many issuances preceded this one; issuers may use it to tell a re-key from a retry.</summary>
    [Id(7)] public long Revision { get; init; }
    /// <summary>Why the certificate is issued: first issuance or spec change, renewal, or a re-key after a breach.</summary>
    [Id(8)] public IssuePurpose Purpose { get; init; }
    /// <summary>The issuer's identifier of the certificate in use (the one renewed or replaced), if any.</summary>
    [Id(9)] public string? CurrentArn { get; init; }
    /// <summary>
    /// The handle an earlier <see cref="ICertificateIssuer.IssueAsync"/> returned for this same
    /// issuance while it was still in progress; null to start. Passing it back continues that
    /// issuance instead of starting another.
    /// </summary>
    [Id(10)] public string? Ticket { get; init; }
    /// <summary>How many times this <see cref="Ticket"/> was continued already; issuers back off their polling by it.</summary>
    [Id(11)] public int Step { get; init; }
    /// <summary>
    /// The leaf's key pair (PKCS#8 PEM) when the certificate grain generated it, so that an issuer
    /// shared by many certificates (an Issuer grain) only signs: an RSA-4096 key takes seconds
    /// to generate. Null: the issuer generates it. <see cref="ToString"/> never prints it.
    /// </summary>
    [Id(90)] public string? PrivateKeyPem { get; init; }

    public override string ToString() => $"IssueRequest {{ Resource = {Resource}, Type = {Type}, Fqdn = {Fqdn}, Purpose = {Purpose}, Ticket = {Ticket}, Step = {Step} }}";
}

/// <summary>Why a certificate is issued.</summary>
public enum IssuePurpose
{
    /// <summary>The first certificate, or a new one because the spec changed.</summary>
    Issue = 0,
    /// <summary>Before expiry, for the same spec: issuers that can renew in place (ACM) do.</summary>
    Renew = 1,
    /// <summary>A new key and a new certificate because the current one is compromised.</summary>
    Rotate = 2,
}

/// <summary>Why an issued certificate is no longer needed.</summary>
public enum RetireReason
{
    /// <summary>A newer certificate replaced it (spec change, or an abandoned issuance).</summary>
    Replaced = 0,
    /// <summary>The Certificate resource was deleted.</summary>
    Deleted = 1,
    /// <summary>It was compromised: revoke it where the issuer can.</summary>
    Compromised = 2,
}

/// <summary>A DNS record a public CA needs before it issues (DNS validation).</summary>
[GenerateSerializer, Immutable, Alias("notary.ValidationRecord")]
public sealed record ValidationRecord(
    [property: Id(0)] string Name,
    [property: Id(1)] string Type,
    [property: Id(2)] string Value);

/// <summary>
/// The outcome of one issuance step: either the certificate (<see cref="Material"/>), or an
/// issuance still in progress, with the <see cref="Ticket"/> to continue it and when to look again.
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.IssueProgress")]
public sealed record IssueProgress
{
    [Id(0)] public IssuedMaterial? Material { get; init; }
    /// <summary>The issuer's handle of the issuance in progress (ACM: the certificate ARN).</summary>
    [Id(1)] public string? Ticket { get; init; }
    /// <summary>A condition reason while in progress: Issuing, or PendingValidation.</summary>
    [Id(2)] public string Reason { get; init; } = "Issuing";
    [Id(3)] public string Message { get; init; } = string.Empty;
    [Id(4)] public IReadOnlyList<ValidationRecord> ValidationRecords { get; init; } = [];
    /// <summary>When to continue; zero means at once.</summary>
    [Id(5)] public TimeSpan RetryAfter { get; init; }

    public static IssueProgress Issued(IssuedMaterial material) => new() { Material = material, Reason = "Issued" };

    public static IssueProgress Pending(string ticket, string reason, string message, TimeSpan retryAfter, IReadOnlyList<ValidationRecord>? records = null) =>
        new() { Ticket = ticket, Reason = reason, Message = message, RetryAfter = retryAfter, ValidationRecords = records ?? [] };
}

/// <summary>
/// What an issuer returns: the certificate, its issuer chain (issuer first, root last, never the
/// leaf) and the PKCS#8 PEM private key. ToString never prints the key.
/// </summary>
[GenerateSerializer, Immutable, Alias("notary.IssuedMaterial")]
public sealed record IssuedMaterial(
    [property: Id(0)] string Arn,
    [property: Id(1)] string CertificatePem,
    [property: Id(2)] IReadOnlyList<string> ChainPem,
    [property: Id(3)] string PrivateKeyPem,
    [property: Id(4)] string SerialNumber,
    [property: Id(5)] DateTimeOffset NotBefore,
    [property: Id(6)] DateTimeOffset NotAfter)
{
    public override string ToString() => $"IssuedMaterial {{ Arn = {Arn}, SerialNumber = {SerialNumber}, NotAfter = {NotAfter:O} }}";
}

/// <summary>
/// An issuance the issuer refused for a reason the user must fix (bad name, unsupported key):
/// reported as Ready=False with <see cref="Reason"/> and not retried until the spec changes.
/// </summary>
public sealed class IssuerRejectedException : Exception
{
    public IssuerRejectedException() : this("IssueRejected", "The issuer rejected the request.") { }
    public IssuerRejectedException(string message) : this("IssueRejected", message) { }
    public IssuerRejectedException(string message, Exception inner) : base(message, inner) => Reason = "IssueRejected";
    public IssuerRejectedException(string reason, string message) : base(message) => Reason = reason;

    public string Reason { get; }
}

/// <summary>
/// A failure the issuer expects to pass (the CA is unavailable, access is denied until an
/// operator fixes a policy) with a message worded for users and free of secrets: shown in the
/// condition, and retried with backoff.
/// </summary>
public sealed class IssuerFailedException : Exception
{
    public IssuerFailedException() : this("IssueFailed", "The issuer failed.") { }
    public IssuerFailedException(string message) : this("IssueFailed", message) { }
    public IssuerFailedException(string message, Exception inner) : this("IssueFailed", message, inner) { }
    public IssuerFailedException(string reason, string message) : base(message) => Reason = reason;
    public IssuerFailedException(string reason, string message, Exception inner) : base(message, inner) => Reason = reason;

    public string Reason { get; }
}

/// <summary>Port: a certificate authority (the built-in CA, ACM, ACM Private CA).</summary>
public interface ICertificateIssuer
{
    /// <summary>The configured name that Certificate spec.issuer refers to.</summary>
    string Name { get; }

    /// <summary>Whether this issuer can issue certificates of the given type ("Public" / "Private").</summary>
    bool Supports(string certificateType);

    /// <summary>
    /// Issues, or takes one bounded step of an issuance that takes time (ACM: request, wait,
    /// export). Throws <see cref="IssuerRejectedException"/> for a request only a spec change can
    /// fix; any other exception is transient and the step is tried again later with the same
    /// <see cref="IssueRequest.Ticket"/>. Must be idempotent for the same request.
    /// </summary>
    Task<IssueProgress> IssueAsync(IssueRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Lets go of a certificate Notary no longer uses: revoked when compromised (where the issuer
    /// can), deleted at the issuer where configured. An unknown <paramref name="arn"/> is not an
    /// error. The built-in CA keeps nothing, so it does nothing.
    /// </summary>
    Task RetireAsync(string arn, RetireReason reason, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Port: finds the issuer a Certificate names, or the default when it names none.</summary>
public interface IIssuerResolver
{
    /// <summary>Null when no issuer of that name is configured.</summary>
    ICertificateIssuer? Resolve(string? name);

    /// <summary>Names of the configured issuers, for error messages.</summary>
    IReadOnlyList<string> Names { get; }
}
