using Microsoft.Extensions.Logging;

namespace Notary.Grains;

/// <summary>CA rotation's log lines (event ids 1860+, apart from <see cref="Log"/>'s). Fingerprints only, never a key.</summary>
internal static partial class RotationLog
{
    [LoggerMessage(1860, LogLevel.Information, "Certificate {Resource}: its stores trust the rotation's CAs [{Fingerprints}] beside its chain")]
    public static partial void IssuerCasSet(ILogger logger, string resource, string fingerprints);

    [LoggerMessage(1861, LogLevel.Information, "CA rotation of {Issuer} from {From} to {To} started for {Certificates} certificates")]
    public static partial void Started(ILogger logger, string issuer, string from, string to, int certificates);

    [LoggerMessage(1862, LogLevel.Information, "CA rotation of {Issuer} to {To}: phase {Phase}, {Remaining} of {Total} certificates remaining")]
    public static partial void Phase(ILogger logger, string issuer, string to, string phase, int remaining, int total);

    [LoggerMessage(1863, LogLevel.Information, "CA rotation of {Issuer} to {To}: re-issuing {Certificates} from the new CA")]
    public static partial void Reissuing(ILogger logger, string issuer, string to, string certificates);

    [LoggerMessage(1864, LogLevel.Warning, "CA rotation of {Issuer} to {To}: Rotation:MaxWait passed before these stores held the new CA, it goes on without them: {Stores}")]
    public static partial void StoresLeftBehind(ILogger logger, string issuer, string to, string stores);

    [LoggerMessage(1865, LogLevel.Information, "CA rotation of {Issuer} to {To} finished: the old CA is no longer trusted through it")]
    public static partial void Finished(ILogger logger, string issuer, string to);

    [LoggerMessage(1866, LogLevel.Information, "CA rotation of {Issuer} to {To} replaces the one to {Replaced} in progress")]
    public static partial void Replaced(ILogger logger, string issuer, string to, string replaced);

    [LoggerMessage(1867, LogLevel.Warning, "CA rotation of {Issuer}: a step failed ({ErrorType}: {Message}); retried at its next reminder")]
    public static partial void StepFailed(ILogger logger, string issuer, string errorType, string message);

    [LoggerMessage(1868, LogLevel.Information, "CA rotation of {Issuer} cancelled")]
    public static partial void Cancelled(ILogger logger, string issuer);

    [LoggerMessage(1880, LogLevel.Information, "CA rotation of {Issuer} paused (issuer deleted): its CAs stay trusted until no certificate names the issuer or it comes back")]
    public static partial void Paused(ILogger logger, string issuer);

    [LoggerMessage(1881, LogLevel.Information, "CA rotation of {Issuer}: {Certificate} no longer names the issuer; the rotation is done with it")]
    public static partial void CertificateLeft(ILogger logger, string issuer, string certificate);
}
