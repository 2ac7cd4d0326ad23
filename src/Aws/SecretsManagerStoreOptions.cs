using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Notary.Aws;

/// <summary>
/// The AWS Secrets Manager store (configuration section <c>Notary:Store:SecretsManager</c>, or
/// environment variables <c>Notary__Store__SecretsManager__Region</c> and so on). The client
/// keys (Region … MaxDelay) are those of <see cref="AwsClientOptions"/>, flat in this section.
/// </summary>
public sealed partial class SecretsManagerStoreOptions
{
    public const string SectionName = "Notary:Store:SecretsManager";

    /// <inheritdoc cref="AwsClientOptions.Region"/>
    public string? Region { get; set; }

    /// <inheritdoc cref="AwsClientOptions.ServiceUrl"/>
    public string? ServiceUrl { get; set; }

    /// <inheritdoc cref="AwsClientOptions.RequestTimeout"/>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <inheritdoc cref="AwsClientOptions.MaxAttempts"/>
    public int MaxAttempts { get; set; } = 5;

    /// <inheritdoc cref="AwsClientOptions.BaseDelay"/>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <inheritdoc cref="AwsClientOptions.MaxDelay"/>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Prepended to <c>{namespace}/{name}</c> to name each secret (default <c>notary/</c>).</summary>
    public string Prefix { get; set; } = "notary/";

    /// <summary>
    /// Days a deleted store's secret can still be restored (AWS allows 7 to 30; default 30).
    /// Re-creating the resource within the window restores the secret and writes a new version.
    /// </summary>
    public int RecoveryWindowDays { get; set; } = 30;

    /// <summary>The KMS key (id, ARN or alias/…) that encrypts new secrets; empty: the account's aws/secretsmanager key.</summary>
    public string? KmsKeyId { get; set; }

    /// <summary>The client part of these options.</summary>
    public AwsClientOptions ToClientOptions() => new()
    {
        Region = Region,
        ServiceUrl = ServiceUrl,
        RequestTimeout = RequestTimeout,
        MaxAttempts = MaxAttempts,
        BaseDelay = BaseDelay,
        MaxDelay = MaxDelay,
    };

    /// <summary>Problems with these options, each saying how to fix the value; empty when usable.</summary>
    public IReadOnlyList<string> Validate(Func<string, string?>? environment = null)
    {
        var failures = new List<string>(ToClientOptions().Validate(SectionName, environment));
        const string env = "Notary__Store__SecretsManager";
        if (Prefix.Length > 128 || !PrefixPattern().IsMatch(Prefix))
        {
            failures.Add($"{SectionName}:Prefix \"{Prefix}\" may hold at most 128 letters, digits and /_+=.@- (the characters of a secret name); e.g. {env}__Prefix=notary/.");
        }

        if (RecoveryWindowDays is < 7 or > 30)
        {
            failures.Add($"{SectionName}:RecoveryWindowDays {RecoveryWindowDays.ToString(CultureInfo.InvariantCulture)} must be between 7 and 30, as Secrets Manager requires; e.g. {env}__RecoveryWindowDays=30.");
        }

        if (KmsKeyId is { Length: > 2048 } || (KmsKeyId is not null && KmsKeyId.Length > 0 && string.IsNullOrWhiteSpace(KmsKeyId)))
        {
            failures.Add($"{SectionName}:KmsKeyId must be a KMS key id, key ARN or alias/NAME of at most 2048 characters, or empty for the aws/secretsmanager key ({env}__KmsKeyId).");
        }

        return failures;
    }

    [GeneratedRegex("^[A-Za-z0-9/_+=.@-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex PrefixPattern();
}

/// <summary>Refuses Secrets Manager store options that cannot work, on start, saying how to fix them.</summary>
public sealed class SecretsManagerStoreOptionsValidator : IValidateOptions<SecretsManagerStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SecretsManagerStoreOptions options)
    {
        var failures = options.Validate();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
