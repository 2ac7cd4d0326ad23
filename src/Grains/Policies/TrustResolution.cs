using Notary.Grains.Abstractions;
using Notary.Pki;

namespace Notary.Grains.Policies;

/// <summary>A truststore reference resolved to the Certificate it names.</summary>
public sealed record ResolvedReference(string Field, ResourceKey Certificate, string ExpectedFqdn);

/// <summary>
/// Pure decisions of a Truststore: which Certificates its references name, and whether the
/// certificates found are the ones it asked for. The order of the result is the order of the
/// spec (own certificate, upstream, downstream), which fixes the order of the store.
/// </summary>
public static class TrustResolution
{
    /// <summary>The tags a spec looks up across namespaces (references without a namespace).</summary>
    public static IReadOnlySet<string> TagsToLookUp(TruststoreSpec spec) =>
        spec.Upstream.Concat(spec.Downstream).Where(r => string.IsNullOrEmpty(r.Namespace)).Select(r => r.Tag).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Resolves every reference. <paramref name="tagLookups"/> holds, for each tag of
    /// <see cref="TagsToLookUp"/>, the namespaces that have a Certificate of that name.
    /// Returns the references that did resolve, and a problem naming every one that did not.
    /// </summary>
    public static (IReadOnlyList<ResolvedReference> Resolved, Problem? Problem) Resolve(
        string @namespace,
        TruststoreSpec spec,
        IReadOnlyDictionary<string, IReadOnlyList<TagRegistration>> tagLookups)
    {
        var resolved = new List<ResolvedReference> { new("spec.certName", new ResourceKey(@namespace, spec.CertName), spec.Fqdn) };
        var problems = new List<Problem>();
        Add("spec.upstream", spec.Upstream);
        Add("spec.downstream", spec.Downstream);
        return (resolved, Combine(problems));

        void Add(string field, IReadOnlyList<TrustReference> references)
        {
            for (var i = 0; i < references.Count; i++)
            {
                var reference = references[i];
                var name = $"{field}[{i}]";
                if (!string.IsNullOrEmpty(reference.Namespace))
                {
                    resolved.Add(new ResolvedReference(name, new ResourceKey(reference.Namespace, reference.Tag), reference.Fqdn));
                    continue;
                }

                var found = tagLookups.TryGetValue(reference.Tag, out var registrations) ? registrations : [];
                switch (found.Count)
                {
                    case 0:
                        problems.Add(new Problem(Reasons.UnresolvedReference, $"{name}: no Certificate named \"{reference.Tag}\" exists in any namespace"));
                        break;
                    case 1:
                        resolved.Add(new ResolvedReference(name, new ResourceKey(found[0].Namespace, reference.Tag), reference.Fqdn));
                        break;
                    default:
                        var namespaces = string.Join(", ", found.Select(r => r.Namespace).Order(StringComparer.Ordinal));
                        problems.Add(new Problem(Reasons.AmbiguousReference, $"{name}: Certificate \"{reference.Tag}\" exists in several namespaces ({namespaces}); set namespace"));
                        break;
                }
            }
        }
    }

    /// <summary>
    /// Checks the certificates found against what the references expect: that each exists, has
    /// the expected fqdn and has been issued. <paramref name="previouslyBuilt"/> tells a deleted
    /// certificate from one that never existed.
    /// </summary>
    public static Problem? Check(
        IReadOnlyList<ResolvedReference> references,
        IReadOnlyDictionary<ResourceKey, CertificateSnapshot> snapshots,
        IReadOnlySet<string> previouslyBuilt)
    {
        var problems = new List<Problem>();
        foreach (var reference in references)
        {
            var snapshot = snapshots[reference.Certificate];
            if (!snapshot.Exists)
            {
                problems.Add(previouslyBuilt.Contains(reference.Certificate.ToString())
                    ? new Problem(Reasons.CertificateDeleted, $"{reference.Field}: Certificate {reference.Certificate} was deleted; the store keeps its last contents")
                    : new Problem(Reasons.UnresolvedReference, $"{reference.Field}: Certificate {reference.Certificate} does not exist"));
            }
            else if (!string.Equals(snapshot.Fqdn, reference.ExpectedFqdn, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add(new Problem(Reasons.FqdnMismatch, $"{reference.Field}: fqdn \"{reference.ExpectedFqdn}\" does not match Certificate {reference.Certificate}, whose fqdn is \"{snapshot.Fqdn}\""));
            }
            else if (snapshot.Material is null)
            {
                problems.Add(new Problem(Reasons.CertificateNotReady, $"{reference.Field}: Certificate {reference.Certificate} has not been issued yet"));
            }
        }

        return Combine(problems);
    }

    /// <summary>The trust sources of a checked resolution, own certificate first.</summary>
    public static (TrustSource Own, IReadOnlyList<TrustSource> Upstream, IReadOnlyList<TrustSource> Downstream) Sources(
        IReadOnlyList<ResolvedReference> references,
        IReadOnlyDictionary<ResourceKey, CertificateSnapshot> snapshots)
    {
        var sources = references.Select(r => (r.Field, Source: ToSource(snapshots[r.Certificate]))).ToList();
        return (
            sources[0].Source,
            sources.Where(s => s.Field.StartsWith("spec.upstream", StringComparison.Ordinal)).Select(s => s.Source).ToList(),
            sources.Where(s => s.Field.StartsWith("spec.downstream", StringComparison.Ordinal)).Select(s => s.Source).ToList());

        static TrustSource ToSource(CertificateSnapshot snapshot) =>
            new(snapshot.Resource.Namespace, snapshot.Resource.Name, snapshot.Material!.CertificatePem, snapshot.Material.ChainPem,
                snapshot.AlsoTrusted is { Count: > 0 } also ? [.. also.Select(m => string.Join('\n', [m.CertificatePem, .. m.ChainPem]))] : null);
    }

    /// <summary>One problem for several: the first one's reason, every message.</summary>
    public static Problem? Combine(IReadOnlyList<Problem> problems) => problems.Count switch
    {
        0 => null,
        1 => problems[0],
        _ => new Problem(problems[0].Reason, string.Join("; ", problems.Select(p => p.Message))),
    };
}
