using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Notary.CustomResources;
using Notary.CustomResources.Models;

namespace Notary.Cli.Kube;

/// <summary>Reads Notary's custom resources (and the core objects around them) as typed models.</summary>
public sealed class NotaryApi(IKubernetes client)
{
    public IKubernetes Client => client;

    /// <summary>One namespaced resource; a 404 fails as kubectl says it: <c>certificates.notary.dev "x" not found</c>.</summary>
    public async Task<T> GetAsync<T>(string plural, string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            var found = await client.CustomObjects.GetNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, plural, name, cancellationToken);
            return Read<T>(found);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            throw new CliFailureException($"Error from server (NotFound): {plural}.{NotaryResources.Group} \"{name}\" not found in namespace {ns}");
        }
    }

    /// <summary>One namespaced resource, or null when there is none.</summary>
    public async Task<T?> FindAsync<T>(string plural, string ns, string name, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return Read<T>(await client.CustomObjects.GetNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, plural, name, cancellationToken));
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            return null;
        }
    }

    /// <summary>The resources of <paramref name="ns"/>, or of every namespace when null.</summary>
    public async Task<IList<T>> ListAsync<T, TList>(string plural, string? ns, CancellationToken cancellationToken, string? labelSelector = null)
        where TList : NotaryObjectList<T>
    {
        var page = ns is null
            ? await client.CustomObjects.ListClusterCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, plural, labelSelector: labelSelector, cancellationToken: cancellationToken)
            : await client.CustomObjects.ListNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, plural, labelSelector: labelSelector, cancellationToken: cancellationToken);
        return Read<TList>(page).Items;
    }

    /// <summary>
    /// Every namespace's resources when the user may list them cluster-wide, else those of
    /// <paramref name="fallback"/> (Complete false: the answer may miss other namespaces).
    /// </summary>
    public async Task<(IList<T> Items, bool Complete)> ListEverywhereAsync<T, TList>(string plural, string fallback, CancellationToken cancellationToken)
        where TList : NotaryObjectList<T>
    {
        try
        {
            return (await ListAsync<T, TList>(plural, null, cancellationToken), true);
        }
        catch (HttpOperationException ex) when (ex.Is(HttpStatusCode.Forbidden))
        {
            return (await ListAsync<T, TList>(plural, fallback, cancellationToken), false);
        }
    }

    /// <summary>The Events about one object, oldest first (the last <paramref name="count"/>).</summary>
    public async Task<IReadOnlyList<Corev1Event>> EventsAsync(string ns, string kind, string name, int count, CancellationToken cancellationToken)
    {
        var events = await client.CoreV1.ListNamespacedEventAsync(ns, cancellationToken: cancellationToken);
        return [.. events.Items
            .Where(e => e.InvolvedObject?.Name == name && e.InvolvedObject?.Kind == kind)
            .OrderBy(e => e.LastTimestamp ?? e.EventTime ?? e.Metadata?.CreationTimestamp ?? DateTime.MinValue)
            .TakeLast(count)];
    }

    private static T Read<T>(object value) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(value));
}
