namespace Notary.Grains.Abstractions.Ports;

/// <summary>How reading a trust source ended.</summary>
public enum TrustSourceReadOutcome
{
    /// <summary>The PEM text was read (it may still be empty or unparsable: the grain decides).</summary>
    Found,

    /// <summary>The ConfigMap or Secret does not exist (or, for defaultCAs, the bundle file does not).</summary>
    ObjectMissing,

    /// <summary>The ConfigMap or Secret exists but has no such data key.</summary>
    KeyMissing,
}

/// <summary>
/// What a trust source holds, raw: the outcome and, when found, the PEM text. Public certificates
/// only, but never logged whole all the same (ToString leaves it out).
/// </summary>
public sealed record TrustSourceContent(TrustSourceReadOutcome Outcome, string? Pem)
{
    public override string ToString() => $"TrustSourceContent {{ Outcome = {Outcome}, Length = {Pem?.Length ?? 0} }}";
}

/// <summary>
/// Port: reads the PEM bundle of a Truststore's configMap, secret or defaultCAs source. A
/// ConfigMap or Secret is read in the Truststore's OWN namespace only (the adapter has no way to
/// be told another); defaultCAs is the machine's public root bundle. Inline sources need no port.
/// Failures other than "missing" are thrown as exceptions that carry no contents.
/// </summary>
public interface ITrustSourceReader
{
    Task<TrustSourceContent> ReadAsync(string truststoreNamespace, TrustSourceSpec source, CancellationToken cancellationToken);
}
