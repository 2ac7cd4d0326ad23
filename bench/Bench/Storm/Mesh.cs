using Notary.Grains.Abstractions;

namespace Notary.Bench.Storm;

/// <summary>One service of the mesh: its certificate, keystore, truststore and the certificates it trusts besides its own.</summary>
internal sealed record MeshService(int Index, ResourceKey Key, IReadOnlyList<ResourceKey> Upstream, IReadOnlyList<int> UpstreamIndexes)
{
    public ResourceKey Keystore => new(Key.Namespace, Key.Name + "-ks");

    public ResourceKey Truststore => new(Key.Namespace, Key.Name + "-ts");

    /// <summary>The certificates its truststore holds: its own, then the upstream ones.</summary>
    public IEnumerable<int> Sources => [Index, .. UpstreamIndexes];
}

/// <summary>
/// N services in namespaces of 100, each trusting K distinct others chosen by a seeded random
/// generator (so a run can be repeated exactly), and who depends on whom.
/// </summary>
internal sealed class Mesh
{
    private Mesh(IReadOnlyList<MeshService> services)
    {
        Services = services;
        Index = services.ToDictionary(s => s.Key, s => s.Index);
        ByTruststore = services.ToDictionary(s => s.Truststore);
        var dependents = services.Select(s => new List<int> { s.Index }).ToArray();
        foreach (var service in services)
        {
            foreach (var upstream in service.UpstreamIndexes)
            {
                dependents[upstream].Add(service.Index);
            }
        }

        Dependents = dependents;
    }

    public IReadOnlyList<MeshService> Services { get; }

    public IReadOnlyDictionary<ResourceKey, int> Index { get; }

    public IReadOnlyDictionary<ResourceKey, MeshService> ByTruststore { get; }

    /// <summary>For each certificate, the services whose truststore holds it (its own service first).</summary>
    public IReadOnlyList<IReadOnlyList<int>> Dependents { get; }

    public int Edges => Services.Sum(s => s.UpstreamIndexes.Count);

    public static Mesh Random(int count, int degree, int seed)
    {
        var random = new Random(seed);
        var keys = Enumerable.Range(0, count).Select(i => new ResourceKey($"storm-{i / 100}", $"s{i}")).ToArray();
        var services = new MeshService[count];
        for (var i = 0; i < count; i++)
        {
            var chosen = new SortedSet<int>();
            while (chosen.Count < degree)
            {
                var j = random.Next(count);
                if (j != i)
                {
                    chosen.Add(j);
                }
            }

            services[i] = new MeshService(i, keys[i], [.. chosen.Select(j => keys[j])], [.. chosen]);
        }

        return new Mesh(services);
    }
}
