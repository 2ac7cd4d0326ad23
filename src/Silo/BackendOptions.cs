using Microsoft.Extensions.Options;

namespace Notary.Silo;

/// <summary>
/// Which certificate authority and which secret store Notary uses (<c>Notary:Issuer:Type</c>,
/// <c>Notary:Store:Type</c>, e.g. the environment variables <c>Notary__Issuer__Type=acm</c> and
/// <c>Notary__Store__Type=secretsmanager</c>). Each backend has its own section below these.
/// </summary>
public sealed class BackendOptions
{
    public const string Builtin = "builtin";
    public const string Acm = "acm";
    public const string KubernetesStore = "kubernetes";
    public const string SecretsManagerStore = "secretsmanager";

    /// <summary><c>builtin</c> (the default: Notary's own CA) or <c>acm</c> (AWS Certificate Manager). The built-in CA stays available by name either way.</summary>
    public string IssuerType { get; set; } = Builtin;

    /// <summary><c>kubernetes</c> (the default: a Secret per store) or <c>secretsmanager</c> (AWS Secrets Manager).</summary>
    public string StoreType { get; set; } = KubernetesStore;

    public static BackendOptions From(IConfiguration configuration) => new()
    {
        IssuerType = (configuration["Notary:Issuer:Type"] ?? Builtin).Trim().ToLowerInvariant(),
        StoreType = (configuration["Notary:Store:Type"] ?? KubernetesStore).Trim().ToLowerInvariant(),
    };
}

/// <summary>Refuses unknown backends, naming the ones there are.</summary>
public sealed class BackendOptionsValidator : IValidateOptions<BackendOptions>
{
    public ValidateOptionsResult Validate(string? name, BackendOptions options)
    {
        var failures = new List<string>();
        if (options.IssuerType is not (BackendOptions.Builtin or BackendOptions.Acm))
        {
            failures.Add($"Notary:Issuer:Type \"{options.IssuerType}\" is not an issuer: use builtin (Notary's own CA) or acm (AWS Certificate Manager), e.g. Notary__Issuer__Type=acm.");
        }

        if (options.StoreType is not (BackendOptions.KubernetesStore or BackendOptions.SecretsManagerStore))
        {
            failures.Add($"Notary:Store:Type \"{options.StoreType}\" is not a store: use kubernetes (Secrets) or secretsmanager (AWS Secrets Manager), e.g. Notary__Store__Type=secretsmanager.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
