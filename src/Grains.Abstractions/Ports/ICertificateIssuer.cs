namespace Notary.Grains.Abstractions.Ports;

/// <summary>A private key the issuer must generate: "RSA" 2048/3072/4096 or "ECDSA" 256/384.</summary>
[GenerateSerializer, Immutable]
public sealed record PrivateKeyRequest(
    [property: Id(0)] string Algorithm,
    [property: Id(1)] int Size);

/// <summary>One issuance: what the certificate must contain and who asks for it.</summary>
[GenerateSerializer, Immutable]
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
}

/// <summary>
/// What an issuer returns: the certificate, its issuer chain (issuer first, root last, never the
/// leaf) and the PKCS#8 PEM private key. ToString never prints the key.
/// </summary>
[GenerateSerializer, Immutable]
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

/// <summary>Port: a certificate authority (the built-in CA, ACM, ACM Private CA).</summary>
public interface ICertificateIssuer
{
    /// <summary>The configured name that Certificate spec.issuer refers to.</summary>
    string Name { get; }

    /// <summary>Whether this issuer can issue certificates of the given type ("Public" / "Private").</summary>
    bool Supports(string certificateType);

    Task<IssuedMaterial> IssueAsync(IssueRequest request, CancellationToken cancellationToken);
}

/// <summary>Port: finds the issuer a Certificate names, or the default when it names none.</summary>
public interface IIssuerResolver
{
    /// <summary>Null when no issuer of that name is configured.</summary>
    ICertificateIssuer? Resolve(string? name);

    /// <summary>Names of the configured issuers, for error messages.</summary>
    IReadOnlyList<string> Names { get; }
}
