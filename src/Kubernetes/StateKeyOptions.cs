using Microsoft.Extensions.Options;
using Notary.CustomResources;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Where the data keys that encrypt private keys in grain state are kept (configuration section
/// <c>Notary:State</c>, e.g. <c>Notary__State__SecretName</c>). The same section's
/// <c>KmsKeyId</c> (read by the AWS adapter and the host) wraps them with AWS KMS.
/// </summary>
public sealed class StateKeyOptions
{
    public const string SectionName = "Notary:State";

    /// <summary>
    /// The Secret in Notary's namespace (<see cref="NotaryKubernetesOptions.Namespace"/>) that
    /// holds the data keys. Created on first start; never replaced. Losing it makes every private
    /// key in grain state unreadable, so back it up with the CA Secret: once Notary has run (the CA
    /// Secret carries <see cref="KubernetesDataKeySource.MarkerAnnotation"/>), a missing Secret
    /// stops the silo with a fix-it message rather than being created anew.
    /// </summary>
    public string SecretName { get; set; } = "notary-state-key";

    /// <summary>
    /// An AWS KMS key (id, ARN or alias/...) that wraps the data keys: the Secret then holds only
    /// ciphertext that KMS Decrypt turns back into a key, so reading the Secret is not enough to
    /// read grain state. Empty: the data keys are kept in the Secret in the clear.
    /// </summary>
    public string? KmsKeyId { get; set; }

    /// <summary>
    /// With <see cref="KmsKeyId"/> set, whether keys kept in the clear (<c>&lt;id&gt;.key</c>
    /// entries) still load: only for the migration window after turning KMS on, until every
    /// certificate was written again under the wrapped key; then remove the entries and this
    /// setting. Default false: a clear key in the Secret stops the silo with a fix-it message.
    /// Without KMS, keys are always in the clear and this setting does nothing.
    /// </summary>
    public bool AllowPlaintextKeys { get; set; }
}

/// <summary>Refuses a Secret name Kubernetes would refuse, saying how to fix it.</summary>
public sealed class StateKeyOptionsValidator : IValidateOptions<StateKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, StateKeyOptions options) =>
        KubernetesNames.IsDnsSubdomain(options.SecretName)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{StateKeyOptions.SectionName}:SecretName \"{options.SecretName}\" is not a Secret name: use at most 253 lowercase letters, digits, '-' and '.' (default \"notary-state-key\"), e.g. Notary__State__SecretName=notary-state-key.");
}
