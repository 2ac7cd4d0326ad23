using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Models;
using Notary.CustomResources.Models;
using Notary.Watcher;

namespace Notary.Bench.Scale;

/// <summary>
/// The API server's side of the watcher, for N Certificates, without an API server: each list
/// builds the N objects as the API server would return them (JSON with metadata, managedFields,
/// Notary's finalizer and a status of the size Notary writes) and reads them through the watcher's
/// own parser (<see cref="CustomResourceSource{T}.Read"/>). Nothing is kept between lists, so the
/// objects the benchmark measures are only those the watcher's cache holds. The watch never
/// delivers anything: the scenario measures the relist, not a stream of changes.
/// </summary>
internal sealed class InMemoryCertificates(int count) : IResourceSource<Certificate>
{
    private const string ResourceVersion = "1000000";

    public string Name => $"{NotaryResources.CertificatePlural}.{NotaryResources.Group}";

    public Task<ResourceList<Certificate>> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<WatchItem<Certificate>>(count);
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var document = JsonDocument.Parse(Json(i));
            var item = CustomResourceSource<Certificate>.Read(WatchEventType.Added, document.RootElement);
            items.Add(item.Object is null ? throw new InvalidOperationException($"The watcher could not read certificate {i}: {item.Error}") : item);
        }

        return Task.FromResult(new ResourceList<Certificate>(items, ResourceVersion));
    }

    public IAsyncEnumerable<WatchItem<Certificate>> WatchAsync(string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken) =>
        Quiet<Certificate>.Until(cancellationToken);

    // Placeholders ($NAME ...) rather than interpolation: the JSON's own braces would need escaping.
    private const string Template = """
            {"apiVersion":"notary.dev/v1alpha1","kind":"Certificate",
             "metadata":{"name":"$NAME","namespace":"$NS","uid":"$UID","resourceVersion":"$RV","generation":1,
               "creationTimestamp":"2026-11-22T21:00:00Z","finalizers":["notary.dev/cleanup"],
               "managedFields":[
                 {"manager":"kubectl","operation":"Apply","apiVersion":"notary.dev/v1alpha1","time":"2026-11-22T21:00:00Z","fieldsType":"FieldsV1",
                  "fieldsV1":{"f:spec":{"f:fqdn":{},"f:privateKey":{"f:algorithm":{},"f:size":{}},"f:type":{}}}},
                 {"manager":"notary","operation":"Update","apiVersion":"notary.dev/v1alpha1","time":"2026-11-22T21:00:00Z","fieldsType":"FieldsV1",
                  "fieldsV1":{"f:metadata":{"f:finalizers":{".":{},"v:\"notary.dev/cleanup\"":{}}}}},
                 {"manager":"notary","operation":"Update","apiVersion":"notary.dev/v1alpha1","time":"2026-11-22T21:00:00Z","fieldsType":"FieldsV1","subresource":"status",
                  "fieldsV1":{"f:status":{".":{},"f:arn":{},"f:conditions":{},"f:notAfter":{},"f:notBefore":{},"f:observedGeneration":{},"f:renewalTime":{},"f:revision":{},"f:serialNumber":{},"f:tags":{}}}}]},
             "spec":{"type":"Private","fqdn":"$FQDN","privateKey":{"algorithm":"ECDSA","size":256}},
             "status":{"arn":"urn:notary:builtin:certificate/$SERIAL","serialNumber":"$SERIAL","notBefore":"2026-11-22T21:00:00Z","notAfter":"2027-02-20T21:00:00Z",
               "renewalTime":"2027-01-21T21:00:00Z","revision":1,"observedGeneration":1,
               "tags":{"notary.dev/namespace":"$NS","notary.dev/name":"$NAME","notary.dev/fqdn":"$FQDN"},
               "conditions":[{"type":"Ready","status":"True","reason":"Issued","message":"Certificate is valid until 2027-02-20T21:00:00Z.","lastTransitionTime":"2026-11-22T21:00:00Z","observedGeneration":1}]}}
            """;

    /// <summary>
    /// Certificate <paramref name="index"/> as the API server returns it once Notary has put its
    /// finalizer and written its status. Notary reads only metadata and spec; the status is there
    /// because the watcher's cache holds it in production (the serial is a stand-in of the same length).
    /// </summary>
    internal static string Json(int index)
    {
        var name = CertificateLedger.Name(index);
        var ns = CertificateLedger.Namespace(index);
        var fqdn = CertificateLedger.Fqdn(index);
        var uid = $"5ca1ab1e-0000-4000-8000-{index.ToString("D12", CultureInfo.InvariantCulture)}";
        var serial = index.ToString("X32", CultureInfo.InvariantCulture);
        return Template
            .Replace("$NAME", name, StringComparison.Ordinal)
            .Replace("$NS", ns, StringComparison.Ordinal)
            .Replace("$UID", uid, StringComparison.Ordinal)
            .Replace("$RV", (index + 1).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("$FQDN", fqdn, StringComparison.Ordinal)
            .Replace("$SERIAL", serial, StringComparison.Ordinal);
    }
}

/// <summary>A resource type with no objects (Keystores, Truststores, Secrets in the scale scenario).</summary>
internal sealed class NoResources<T>(string name) : IResourceSource<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    public string Name => name;

    public Task<ResourceList<T>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new ResourceList<T>([], "1"));

    public IAsyncEnumerable<WatchItem<T>> WatchAsync(string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken) =>
        Quiet<T>.Until(cancellationToken);
}

/// <summary>A watch on which nothing happens: it ends when the session is cancelled.</summary>
internal static class Quiet<T>
    where T : class
{
    public static async IAsyncEnumerable<WatchItem<T>> Until([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        yield break;
    }
}
