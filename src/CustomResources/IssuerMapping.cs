using Notary.Grains.Abstractions;
using Model = Notary.CustomResources.Models;

namespace Notary.CustomResources;

/// <summary>
/// Pure translations between the Issuer and ClusterIssuer resources and the issuer grain's terms:
/// grain keys, the spec as written (none or several kinds pass through: the grain reports them),
/// the status Notary writes, and a Certificate's issuerRef.
/// </summary>
public static class IssuerMapping
{
    /// <summary><c>Issuer/NAMESPACE/NAME</c>.</summary>
    public static string KeyOf(Model.Issuer issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        return IssuerKeys.Namespaced(issuer.Metadata?.NamespaceProperty ?? string.Empty, issuer.Metadata?.Name ?? string.Empty);
    }

    /// <summary><c>ClusterIssuer/NAME</c>.</summary>
    public static string KeyOf(Model.ClusterIssuer issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        return IssuerKeys.Cluster(issuer.Metadata?.Name ?? string.Empty);
    }

    public static IssuerSpec ToSpec(Model.IssuerResourceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new IssuerSpec
        {
            Builtin = spec.Builtin is not null,
            Ca = spec.Ca is { } ca ? new CaIssuerSpec(ca.SecretName ?? string.Empty) : null,
            Acm = spec.Acm is { } acm
                ? new AcmIssuerSpec
                {
                    Region = acm.Region ?? string.Empty,
                    PrivateCaArn = acm.PrivateCaArn ?? string.Empty,
                    RoleArn = NullIfEmpty(acm.RoleArn),
                    ServiceUrl = NullIfEmpty(acm.ServiceUrl),
                }
                : null,
        };
    }

    /// <summary>The Secret a <c>ca</c> spec names, or null for another kind.</summary>
    public static string? CaSecretOf(Model.IssuerResourceSpec? spec) =>
        spec?.Ca?.SecretName is { Length: > 0 } name ? name : null;

    public static IssuerRef ToRef(Model.IssuerReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return new IssuerRef(reference.Name ?? string.Empty, NullIfEmpty(reference.Kind) ?? IssuerKinds.Issuer);
    }

    public static Model.IssuerResourceStatus ToModel(IssuerStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new Model.IssuerResourceStatus
        {
            Conditions = ResourceMapping.ToModel(status.Conditions),
            ObservedGeneration = status.ObservedGeneration,
            Type = NullIfEmpty(status.Type),
            CaFingerprint = NullIfEmpty(status.CaFingerprint),
            CaNotAfter = status.CaNotAfter,
            Certificates = status.Certificates,
            Rotation = status.Rotation is { } rotation
                ? new Model.IssuerRotation
                {
                    Phase = rotation.Phase,
                    FromFingerprint = rotation.FromFingerprint,
                    ToFingerprint = rotation.ToFingerprint,
                    Total = rotation.Total,
                    Remaining = rotation.Remaining,
                    Started = rotation.Started,
                    LeftBehind = rotation.LeftBehind.Count > 0 ? [.. rotation.LeftBehind] : null,
                    LeftBehindCount = rotation.LeftBehindCount > 0 ? rotation.LeftBehindCount : null,
                }
                : null,
        };
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
