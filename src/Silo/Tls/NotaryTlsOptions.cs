using Microsoft.Extensions.Options;

namespace Notary.Silo.Tls;

/// <summary>
/// Notary's own TLS (configuration section <c>Notary:Tls</c>, e.g. <c>Notary__Tls__ServiceName</c>):
/// the certificates Notary issues to itself from its built-in CA at start, one per silo for
/// silo-to-silo mutual TLS (always on) and one for the HTTP API's Service names (<c>run</c> mode).
/// Each is renewed in memory at two thirds of its lifetime, without a restart.
/// </summary>
public sealed class NotaryTlsOptions
{
    public const string SectionName = "Notary:Tls";

    /// <summary>
    /// Whether the HTTP API serves HTTPS (default true; dev mode always serves plain HTTP on
    /// 127.0.0.1). Turn it off only where something else terminates TLS in the pod (a mesh
    /// sidecar): the breach API carries bearer tokens.
    /// </summary>
    public bool Api { get; set; } = true;

    /// <summary>
    /// The name of the Kubernetes Service in front of the HTTP API (the chart sets it to the
    /// release's full name). The API certificate names <c>SERVICE.NAMESPACE</c>,
    /// <c>SERVICE.NAMESPACE.svc</c> and <c>SERVICE.NAMESPACE.svc.CLUSTER_DOMAIN</c>, with
    /// NAMESPACE = Notary:Kubernetes:Namespace and CLUSTER_DOMAIN = Notary:Policy:ClusterDomain.
    /// </summary>
    public string ServiceName { get; set; } = "notary";

    /// <summary>Lifetime of the certificates Notary issues to itself (default 1 day, at least 10 minutes); each is renewed at two thirds of it. Short on purpose: a leaked silo certificate is not revocable (peers do not check revocation) and stays a cluster identity until it expires.</summary>
    public TimeSpan CertificateLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The shortest <see cref="CertificateLifetime"/>: renewal must not turn into a loop.</summary>
    public static readonly TimeSpan MinimumLifetime = TimeSpan.FromMinutes(10);
}

/// <summary>Refuses a Service name that is not a DNS label and a lifetime too short to renew calmly.</summary>
public sealed class NotaryTlsOptionsValidator : IValidateOptions<NotaryTlsOptions>
{
    public ValidateOptionsResult Validate(string? name, NotaryTlsOptions options)
    {
        var failures = new List<string>();
        if (!IsDnsLabel(options.ServiceName))
        {
            failures.Add($"Notary:Tls:ServiceName \"{options.ServiceName}\" is not a Service name (a lowercase DNS label): set Notary__Tls__ServiceName to the Service in front of the HTTP API, e.g. notary.");
        }

        if (options.CertificateLifetime < NotaryTlsOptions.MinimumLifetime)
        {
            failures.Add($"Notary:Tls:CertificateLifetime {options.CertificateLifetime} is shorter than {NotaryTlsOptions.MinimumLifetime}: use e.g. Notary__Tls__CertificateLifetime=1.00:00:00 (renewed at two thirds).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsDnsLabel(string? value) =>
        value is { Length: > 0 and <= 63 }
        && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
        && value[0] != '-' && value[^1] != '-';
}

/// <summary>
/// The built-in root CA's rotation (configuration section <c>Notary:Ca</c>, e.g.
/// <c>Notary__Ca__RotateBefore</c>). Every instance checks the CA Secret every five minutes: a new
/// value of its annotation <c>notary.dev/rotate-ca</c>, or a root that expires within
/// <see cref="RotateBefore"/>, makes one new root (the previous one stays trusted).
/// </summary>
public sealed class BuiltInCaOptions
{
    public const string SectionName = "Notary:Ca";

    /// <summary>Rotate the built-in root when it has less than this left (default 730 days: two years before the end of a ten-year root). Between one day and the root's lifetime (3650 days).</summary>
    public TimeSpan RotateBefore { get; set; } = TimeSpan.FromDays(730);

    /// <summary>
    /// How often this instance re-reads Secret notary-ca (a rotation asked for or due, another
    /// instance's new root) and re-publishes ConfigMap notary-ca (default five minutes; between one
    /// second and one hour). Shorter only where a rotation must be seen at once, e.g. tests.
    /// </summary>
    public TimeSpan CheckInterval { get; set; } = NotaryCertificates.PublishInterval;
}

/// <summary>Refuses a threshold that would rotate on every check (longer than a root lives) or too late to roll calmly.</summary>
public sealed class BuiltInCaOptionsValidator : IValidateOptions<BuiltInCaOptions>
{
    public ValidateOptionsResult Validate(string? name, BuiltInCaOptions options) =>
        options.RotateBefore < TimeSpan.FromDays(1) || options.RotateBefore >= Notary.Adapters.Kubernetes.KubernetesCertificateAuthoritySource.Lifetime
            ? ValidateOptionsResult.Fail($"Notary:Ca:RotateBefore {options.RotateBefore} must be at least one day and shorter than the built-in root's lifetime ({Notary.Adapters.Kubernetes.KubernetesCertificateAuthoritySource.Lifetime.TotalDays:0} days): use e.g. Notary__Ca__RotateBefore=730.00:00:00 (two years).")
            : options.CheckInterval < TimeSpan.FromSeconds(1) || options.CheckInterval > TimeSpan.FromHours(1)
                ? ValidateOptionsResult.Fail($"Notary:Ca:CheckInterval {options.CheckInterval} must be between one second and one hour: use e.g. Notary__Ca__CheckInterval=00:05:00 (the default).")
                : ValidateOptionsResult.Success;
}
