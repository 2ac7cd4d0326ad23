using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;
using Notary.CustomResources;

namespace Notary.Silo.Tls;

/// <summary>
/// Publishes the certificate of the CA that signs Notary's own certificates (no key) for callers
/// of the HTTP API and for Prometheus: the ConfigMap <see cref="ConfigMapName"/>, key
/// <see cref="Key"/>, in Notary's namespace. Readable by whoever may read ConfigMaps there; the
/// CA's key stays in its Secret. The signing CA, never a root above it: with a CA imported under
/// a corporate root, trusting that root would make every certificate of the corporate PKI valid
/// for the API's name. Reconciled on every call (read, then replaced when it differs, created
/// when missing), so an edited ConfigMap is put right at the next round, not at the next restart
/// (RBAC: get and update on this ConfigMap, create on ConfigMaps, in Notary's namespace only).
/// </summary>
public sealed partial class CaPublisher(IKubernetes client, IOptions<NotaryKubernetesOptions> options, ILogger<CaPublisher> logger)
{
    public const string ConfigMapName = "notary-ca";
    public const string Key = "ca.crt";

    /// <summary>
    /// Makes the ConfigMap hold exactly <paramref name="signerPem"/> (the signing CA's certificate),
    /// writing only when it does not; a refusal is logged, not thrown (TLS works without it,
    /// callers then lack the file).
    /// </summary>
    public async Task PublishAsync(string signerPem, CancellationToken cancellationToken)
    {
        var ns = options.Value.Namespace;
        V1ConfigMap? current;
        try
        {
            current = await client.CoreV1.ReadNamespacedConfigMapAsync(ConfigMapName, ns, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            current = null;
        }
        catch (HttpOperationException ex)
        {
            NotPublished(logger, ns, ConfigMapName, (int?)ex.Response?.StatusCode ?? 0);
            return;
        }

        if (current?.Data is { Count: 1 } data && data.TryGetValue(Key, out var published) && published == signerPem)
        {
            return;
        }

        var map = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta
            {
                Name = ConfigMapName,
                NamespaceProperty = ns,
                Labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "notary", ["app.kubernetes.io/component"] = "ca-certificate" },
            },
            Data = new Dictionary<string, string> { [Key] = signerPem },
        };
        try
        {
            if (current is null)
            {
                await client.CoreV1.CreateNamespacedConfigMapAsync(map, ns, fieldManager: options.Value.Component, cancellationToken: cancellationToken);
                Published(logger, ns, ConfigMapName);
            }
            else
            {
                await client.CoreV1.ReplaceNamespacedConfigMapAsync(map, ConfigMapName, ns, fieldManager: options.Value.Component, cancellationToken: cancellationToken);
                Corrected(logger, ns, ConfigMapName);
            }
        }
        catch (HttpOperationException ex)
        {
            // Another silo may have created or replaced it between our two calls: the next round checks again.
            NotPublished(logger, ns, ConfigMapName, (int?)ex.Response?.StatusCode ?? 0);
        }
    }

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Published the CA certificate callers of the HTTP API trust (the CA that signs Notary's certificates) in ConfigMap {Namespace}/{Name} (key ca.crt)")]
    private static partial void Published(ILogger logger, string @namespace, string name);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning, Message = "ConfigMap {Namespace}/{Name} did not hold the CA certificate that signs Notary's certificates (changed or outdated): replaced it")]
    private static partial void Corrected(ILogger logger, string @namespace, string name);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Could not publish the CA certificate in ConfigMap {Namespace}/{Name}: the API server answered {Status}; Notary checks again at its next round")]
    private static partial void NotPublished(ILogger logger, string @namespace, string name, int status);
}
