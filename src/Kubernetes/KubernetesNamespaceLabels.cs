using System.Collections.Concurrent;
using k8s;
using k8s.Autorest;
using Notary.CustomResources;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="INamespaceLabelSource"/>: a namespace's labels, read with a GET (RBAC:
/// get namespaces) and kept <see cref="CacheFor"/>, so that a burst of Certificates in one
/// namespace reads it once. A label change therefore counts for evaluations from at most that
/// long later (the next apply, renewal or CertificatePolicy change of a Certificate). A missing
/// namespace is null (it decides whether a two-label name SERVICE.NAMESPACE is in-cluster).
/// </summary>
public sealed class KubernetesNamespaceLabels(IKubernetes client, TimeProvider time) : INamespaceLabelSource
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, (DateTimeOffset At, IReadOnlyDictionary<string, string>? Labels)> _cache = new(StringComparer.Ordinal);

    public async Task<IReadOnlyDictionary<string, string>?> GetLabelsAsync(string @namespace, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(@namespace, out var cached) && now - cached.At < CacheFor)
        {
            return cached.Labels;
        }

        IReadOnlyDictionary<string, string>? labels;
        try
        {
            var found = await client.CoreV1.ReadNamespaceAsync(@namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            labels = found.Metadata?.Labels is { } present ? new Dictionary<string, string>(present, StringComparer.Ordinal) : new Dictionary<string, string>();
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            labels = null;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Reading namespace {@namespace}");
        }

        _cache[@namespace] = (now, labels);
        return labels;
    }
}
