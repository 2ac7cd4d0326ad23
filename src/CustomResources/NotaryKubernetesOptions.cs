using Microsoft.Extensions.Options;
using Notary.Pki;

namespace Notary.CustomResources;

/// <summary>
/// How Notary's Kubernetes adapters behave (configuration section <c>Notary:Kubernetes</c>, or
/// environment variables <c>Notary__Kubernetes__Namespace</c> and so on).
/// </summary>
public sealed class NotaryKubernetesOptions
{
    public const string SectionName = "Notary:Kubernetes";

    /// <summary>
    /// Notary's own namespace: the built-in CA's Secret and the watcher's Lease live here. Created
    /// when missing.
    /// </summary>
    public string Namespace { get; set; } = "notary";

    /// <summary>
    /// The Secret (in <see cref="Namespace"/>) that keeps the built-in CA's root as tls.crt and
    /// tls.key. Created on first start; create it yourself beforehand to import your own CA.
    /// </summary>
    public string CaSecretName { get; set; } = "notary-ca";

    /// <summary>
    /// Repeats of an Event (same object, type, reason and message) within this window increment
    /// the count of the first one instead of creating another, as client-go's correlator does.
    /// </summary>
    public TimeSpan EventCorrelationWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The name Notary reports as: Events' source and reporting component, and the field manager
    /// of its writes.
    /// </summary>
    public string Component { get; set; } = "notary";

    /// <summary>
    /// Key of the built-in root CA, used only when Notary creates it (the first start without a
    /// <see cref="CaSecretName"/> Secret): ECDSA (256 or 384) or RSA (2048, 3072, 4096). Default
    /// ECDSA P-256, the curve most TLS uses: every issuance is signed with this key, and with the
    /// OpenSSL 3.0 of our images a P-384 signature costs about 0.7 ms of CPU (1,469 signatures/s
    /// against 53,120 for P-256, `openssl speed`), which was a quarter of a certificate's whole
    /// cost in the apply-latency benchmark (bench/RESULTS.md). Choose 384 where policy asks for it.
    /// </summary>
    public string CaKeyAlgorithm { get; set; } = "ECDSA";

    /// <inheritdoc cref="CaKeyAlgorithm"/>
    public int CaKeySize { get; set; } = 256;

    /// <summary>The root key <see cref="CaKeyAlgorithm"/> and <see cref="CaKeySize"/> name; null when they name none.</summary>
    public KeySpec? CaKey() => CaKeyAlgorithm.ToUpperInvariant() switch
    {
        "ECDSA" => new KeySpec(KeyAlgorithm.Ecdsa, CaKeySize),
        "RSA" => new KeySpec(KeyAlgorithm.Rsa, CaKeySize),
        _ => null,
    };

    /// <summary>Why <see cref="CaKeyAlgorithm"/> and <see cref="CaKeySize"/> name no supported key, saying how to fix it; null when they do.</summary>
    public string? CaKeyProblem() => CaKey() switch
    {
        null => $"{SectionName}:CaKeyAlgorithm \"{CaKeyAlgorithm}\" is not a key algorithm: use ECDSA or RSA (default ECDSA).",
        { } key when key.Validate() is { } problem => $"{SectionName}:CaKeySize: {problem} (default ECDSA 256).",
        _ => null,
    };
}

/// <summary>Refuses values the adapters cannot work with, saying how to fix them.</summary>
public sealed class NotaryKubernetesOptionsValidator : IValidateOptions<NotaryKubernetesOptions>
{
    public ValidateOptionsResult Validate(string? name, NotaryKubernetesOptions options)
    {
        var failures = new List<string>();
        if (!KubernetesNames.IsDnsLabel(options.Namespace))
        {
            failures.Add($"{NotaryKubernetesOptions.SectionName}:Namespace \"{options.Namespace}\" is not a namespace name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (default \"notary\").");
        }

        if (!KubernetesNames.IsDnsSubdomain(options.CaSecretName))
        {
            failures.Add($"{NotaryKubernetesOptions.SectionName}:CaSecretName \"{options.CaSecretName}\" is not a Secret name: use at most 253 lowercase letters, digits, '-' and '.' (default \"notary-ca\").");
        }

        if (options.EventCorrelationWindow <= TimeSpan.Zero || options.EventCorrelationWindow > TimeSpan.FromDays(1))
        {
            failures.Add($"{NotaryKubernetesOptions.SectionName}:EventCorrelationWindow {options.EventCorrelationWindow} must be positive and at most one day, e.g. \"00:10:00\".");
        }

        if (options.CaKeyProblem() is { } caKeyProblem)
        {
            failures.Add(caKeyProblem);
        }

        if (string.IsNullOrWhiteSpace(options.Component) || options.Component.Length > 128)
        {
            failures.Add($"{NotaryKubernetesOptions.SectionName}:Component must be 1 to 128 characters (default \"notary\").");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
