using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;
using Notary.CustomResources;

namespace Notary.Silo.Tls;

/// <summary>
/// Publishes the certificate of Notary's CA (the root, no key) for callers of the HTTP API and
/// for Prometheus: the ConfigMap <see cref="ConfigMapName"/>, key <see cref="Key"/>, in Notary's
/// namespace. Readable by whoever may read ConfigMaps there; the CA's key stays in its Secret.
/// Replaced when it differs, created when missing (RBAC: update on this ConfigMap, create on
/// ConfigMaps, in Notary's namespace only).
/// </summary>
public sealed partial class CaPublisher(IKubernetes client, IOptions<NotaryKubernetesOptions> options, ILogger<CaPublisher> logger)
{
    public const string ConfigMapName = "notary-ca";
    public const string Key = "ca.crt";

    private string? _published;

    /// <summary>Writes <paramref name="rootPem"/> unless this instance already did; a refusal is logged, not thrown (TLS works without it, callers then lack the file).</summary>
    public async Task PublishAsync(string rootPem, CancellationToken cancellationToken)
    {
        if (_published == rootPem)
        {
            return;
        }

        var ns = options.Value.Namespace;
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
            Data = new Dictionary<string, string> { [Key] = rootPem },
        };
        try
        {
            try
            {
                await client.CoreV1.ReplaceNamespacedConfigMapAsync(map, ConfigMapName, ns, fieldManager: options.Value.Component, cancellationToken: cancellationToken);
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                await client.CoreV1.CreateNamespacedConfigMapAsync(map, ns, fieldManager: options.Value.Component, cancellationToken: cancellationToken);
            }

            _published = rootPem;
            Published(logger, ns, ConfigMapName);
        }
        catch (HttpOperationException ex)
        {
            // Another silo may have created it between our two calls: the next renewal round tries again.
            NotPublished(logger, ns, ConfigMapName, (int?)ex.Response?.StatusCode ?? 0);
        }
    }

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Published the CA certificate callers of the HTTP API trust in ConfigMap {Namespace}/{Name} (key ca.crt)")]
    private static partial void Published(ILogger logger, string @namespace, string name);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Could not publish the CA certificate in ConfigMap {Namespace}/{Name}: the API server answered {Status}; Notary tries again at its next certificate renewal")]
    private static partial void NotPublished(ILogger logger, string @namespace, string name, int status);
}
