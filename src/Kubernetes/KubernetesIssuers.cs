using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="IIssuerStatusWriter"/>: replaces the status subresource of an Issuer
/// (namespaced) or ClusterIssuer (cluster-scoped), as the other status writers do (a JSON Patch
/// <c>add /status</c>, so that a field the grain no longer reports, e.g. a finished rotation,
/// disappears). An issuer that is gone has no status to write: not an error.
/// </summary>
public sealed class KubernetesIssuerStatusWriter(IKubernetes client, IOptions<NotaryKubernetesOptions> options) : IIssuerStatusWriter
{
    public async Task WriteIssuerStatusAsync(string issuerKey, IssuerStatus status, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(status);
        var (kind, @namespace, name) = IssuerKeys.Parse(issuerKey);
        var patch = new V1Patch(
            new JsonArray(new JsonObject
            {
                ["op"] = "add",
                ["path"] = "/status",
                ["value"] = JsonNode.Parse(KubernetesJson.Serialize(IssuerMapping.ToModel(status))),
            }).ToJsonString(),
            V1Patch.PatchType.JsonPatch);
        try
        {
            if (@namespace is null)
            {
                await client.CustomObjects.PatchClusterCustomObjectStatusAsync(
                    patch, NotaryResources.Group, NotaryResources.Version, ClusterIssuer.KubePluralName, name,
                    fieldManager: options.Value.Component, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                    patch, NotaryResources.Group, NotaryResources.Version, @namespace, Issuer.KubePluralName, name,
                    fieldManager: options.Value.Component, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Writing the status of {kind} {(@namespace is null ? name : $"{@namespace}/{name}")}");
        }
    }
}

/// <summary>
/// Adapter for <see cref="ICaSecretReader"/>: one GET of the Secret a <c>ca</c> issuer names, in
/// the namespace the caller gives (the Issuer's own, or Notary's for a ClusterIssuer). Only
/// <c>tls.crt</c> and <c>tls.key</c> are taken; API errors are sanitized (no Secret content in
/// any message). Nothing is cached: the issuer grain reads again when the watcher sees the Secret change.
/// </summary>
public sealed class KubernetesCaSecretReader(IKubernetes client, IOptions<NotaryKubernetesOptions> options, IOptions<StateKeyOptions>? stateKey = null) : ICaSecretReader
{
    public const string CertificateKey = "tls.crt";
    public const string PrivateKeyKey = "tls.key";

    public string NotaryNamespace => options.Value.Namespace;

    /// <summary>The built-in root's Secret and the state key's Secret.</summary>
    public IReadOnlyCollection<string> ReservedSecretNames =>
        [options.Value.CaSecretName, stateKey?.Value.SecretName ?? new StateKeyOptions().SecretName];

    public async Task<CaSecretContent> ReadAsync(string @namespace, string secretName, CancellationToken cancellationToken)
    {
        var secret = await client.ReadSecretOrNullAsync(@namespace, secretName, $"Reading the CA Secret {@namespace}/{secretName}", cancellationToken).ConfigureAwait(false);
        if (secret is null)
        {
            return new CaSecretContent(CaSecretOutcome.SecretMissing, null, null, null);
        }

        var certificate = Text(secret, CertificateKey);
        var key = Text(secret, PrivateKeyKey);
        var version = secret.Metadata?.ResourceVersion;
        return certificate is null || key is null
            ? new CaSecretContent(CaSecretOutcome.KeyMissing, null, null, version)
            : new CaSecretContent(CaSecretOutcome.Found, certificate, key, version);
    }

    private static string? Text(V1Secret secret, string key) =>
        secret.Data?.TryGetValue(key, out var bytes) == true && bytes is { Length: > 0 } ? Encoding.UTF8.GetString(bytes)
        : secret.StringData?.TryGetValue(key, out var text) == true && !string.IsNullOrEmpty(text) ? text
        : null;
}
