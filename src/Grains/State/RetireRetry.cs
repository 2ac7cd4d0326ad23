namespace Notary.Grains;

/// <summary>
/// A compromised certificate whose revocation failed (its issuer not Ready, AWS unreachable):
/// retried through the issuer that issued it, with backoff, until it succeeds.
/// </summary>
[GenerateSerializer, Alias("notary.RetireRetry")]
public sealed record RetireRetry
{
    [Id(0)] public required string Arn { get; init; }
    /// <summary>The issuer that issued it (<see cref="IssuerIds"/>).</summary>
    [Id(1)] public required string Via { get; init; }
    [Id(2)] public int Failures { get; init; }
    [Id(3)] public DateTimeOffset NextAttempt { get; init; }
}

/// <summary>
/// How a certificate's state names the issuer that issued it: an Issuer or ClusterIssuer by its
/// grain key (<c>Issuer/NS/NAME</c>, <c>ClusterIssuer/NAME</c>), a configured issuer (spec.issuer)
/// by <c>issuer:NAME</c>.
/// </summary>
public static class IssuerIds
{
    /// <summary>The prefix of a configured issuer's id.</summary>
    public const string ConfiguredPrefix = "issuer:";

    /// <summary>The id of the configured issuer named <paramref name="name"/>.</summary>
    public static string Configured(string name) => ConfiguredPrefix + name;
}
