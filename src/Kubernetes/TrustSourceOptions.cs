using Microsoft.Extensions.Options;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Where a Truststore's <c>defaultCAs</c> source comes from (configuration section
/// <c>Notary:TrustSources</c>, e.g. <c>Notary__TrustSources__DefaultCAsPath</c>).
/// </summary>
public sealed class TrustSourceOptions
{
    public const string SectionName = "Notary:TrustSources";

    /// <summary>
    /// The machine's public root bundle, one PEM file (Debian's and Ubuntu's ca-certificates
    /// package writes it to /etc/ssl/certs/ca-certificates.crt, the default; Alpine the same; RHEL
    /// /etc/pki/tls/certs/ca-bundle.crt). Read when a Truststore has <c>defaultCAs: true</c>.
    /// </summary>
    public string DefaultCAsPath { get; set; } = "/etc/ssl/certs/ca-certificates.crt";
}

/// <summary>Refuses an empty or relative bundle path, saying how to fix it.</summary>
public sealed class TrustSourceOptionsValidator : IValidateOptions<TrustSourceOptions>
{
    public ValidateOptionsResult Validate(string? name, TrustSourceOptions options) =>
        !string.IsNullOrWhiteSpace(options.DefaultCAsPath) && Path.IsPathFullyQualified(options.DefaultCAsPath)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{TrustSourceOptions.SectionName}:DefaultCAsPath \"{options.DefaultCAsPath}\" is not an absolute file path: name the machine's PEM root bundle, e.g. Notary__TrustSources__DefaultCAsPath=/etc/ssl/certs/ca-certificates.crt (the default).");
}
