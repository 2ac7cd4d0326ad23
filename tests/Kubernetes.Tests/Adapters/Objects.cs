using k8s;
using k8s.Models;
using Notary.CustomResources.Models;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>Notary objects created and read through KubernetesClient's generic custom-object calls.</summary>
internal static class Objects
{
    public static Certificate Certificate(string ns, string name, string fqdn = "api.shop.svc.cluster.local") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new CertificateSpec { Type = CertificateTypes.Private, Fqdn = fqdn },
    };

    public static Keystore Keystore(string ns, string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new KeystoreSpec { Fqdn = "api.shop.svc.cluster.local", CertName = name },
    };

    public static Truststore Truststore(string ns, string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new TruststoreSpec { Fqdn = "api.shop.svc.cluster.local", CertName = name },
    };

    public static async Task<T> CreateAsync<T>(this IKubernetes client, T resource)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var created = await client.CustomObjects.CreateNamespacedCustomObjectAsync(
            resource, NotaryResources.Group, NotaryResources.Version, resource.Metadata.NamespaceProperty, Plural<T>());
        return KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(created));
    }

    public static async Task<T> GetAsync<T>(this IKubernetes client, string ns, string name)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var found = await client.CustomObjects.GetNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, Plural<T>(), name);
        return KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(found));
    }

    public static string Plural<T>() =>
        typeof(T) == typeof(Certificate) ? NotaryResources.CertificatePlural
        : typeof(T) == typeof(Keystore) ? NotaryResources.KeystorePlural
        : typeof(T) == typeof(Truststore) ? NotaryResources.TruststorePlural
        : typeof(T) == typeof(Breach) ? NotaryResources.BreachPlural
        : throw new ArgumentOutOfRangeException(typeof(T).Name);
}
