using Notary.Grains.Abstractions;
using Notary.Pki;

namespace Notary.Grains.Policies;

/// <summary>A truststore reference resolved to the Certificate it names.</summary>
public sealed record ResolvedReference(string Field, ResourceKey Certificate, string ExpectedFqdn);

/// <summary>A Certificate named like a bound reference's tag, in another namespace: ignored, and worth a Warning Event.</summary>
public sealed record ShadowedReference(string Tag, string BoundNamespace, string OtherNamespace)
{
    /// <summary>Identifies the shadowing, so that it is reported once.</summary>
    public string Key => $"{Tag}/{BoundNamespace}/{OtherNamespace}";

    public string Message =>
        $"Certificate {OtherNamespace}/{Tag} is ignored: references to \"{Tag}\" without a namespace are bound to {BoundNamespace}/{Tag} while it exists (status.references).";
}

/// <summary>
/// The outcome of resolving a spec: the references that resolved (own certificate first), a
/// problem naming every one that did not, the bindings to keep, and the same-named Certificates
/// the bindings ignore.
/// </summary>
public sealed record Resolution(
    IReadOnlyList<ResolvedReference> Resolved,
    Problem? Problem,
    IReadOnlyList<BoundReference> Bindings,
    IReadOnlyList<ShadowedReference> Shadowed);

/// <summary>
/// Pure decisions of a Truststore: which Certificates its references name, and whether the
/// certificates found are the ones it asked for. The order of the result is the order of the
/// spec (own certificate, upstream, downstream), which fixes the order of the store.
/// </summary>
/// <remarks>
/// A reference without a namespace is resolved once and bound (SPEC "Truststore"): the binding
/// names the namespace and the uid of the Certificate found, and holds while a Certificate of
/// that uid (or, for a registration made before uids were recorded, of that name) is registered
/// in that namespace. Only when it is gone is the tag looked up afresh, and then it must be
/// unique again.
/// </remarks>
public static class TrustResolution
{
    /// <summary>Parses spec.trust ("Pinned" by default, or "Issuers").</summary>
    public static (TrustMode Mode, Problem? Problem) ParseTrust(string? trust) => trust switch
    {
        null or "" or "Pinned" => (TrustMode.Pinned, null),
        "Issuers" => (TrustMode.Issuers, null),
        _ => (TrustMode.Pinned, new Problem(Reasons.InvalidSpec, $"spec.trust \"{trust}\" is not supported: use \"Pinned\" or \"Issuers\".")),
    };

    /// <summary>The TrustsIssuers condition's message: one sentence naming the CAs whose certificates are all trusted.</summary>
    public static string TrustsIssuersMessage(IReadOnlyList<string> caSubjects) =>
        caSubjects.Count == 0
            ? "spec.trust is Issuers, but the chains hold no CA certificate: only the listed certificates are trusted."
            : $"spec.trust is Issuers: every certificate issued by {string.Join(", ", caSubjects.Distinct(StringComparer.Ordinal).Select(s => $"\"{s}\""))} is trusted, not only the listed services.";

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
        var resolution = Resolve(@namespace, spec, tagLookups, []);
        return (resolution.Resolved, resolution.Problem);
    }

    /// <summary>
    /// Resolves every reference, keeping the <paramref name="bindings"/> whose Certificate is
    /// still registered and binding every reference without a namespace that resolves afresh.
    /// </summary>
    public static Resolution Resolve(
        string @namespace,
        TruststoreSpec spec,
        IReadOnlyDictionary<string, IReadOnlyList<TagRegistration>> tagLookups,
        IReadOnlyList<BoundReference> bindings)
    {
        var resolved = new List<ResolvedReference> { new("spec.certName", new ResourceKey(@namespace, spec.CertName), spec.Fqdn) };
        var problems = new List<Problem>();
        var bound = new Dictionary<string, BoundReference>(StringComparer.Ordinal);
        var shadowed = new List<ShadowedReference>();
        foreach (var tag in TagsToLookUp(spec).Order(StringComparer.Ordinal))
        {
            var found = tagLookups.TryGetValue(tag, out var registrations) ? registrations : [];
            var binding = bindings.FirstOrDefault(b => b.Tag == tag);
            var holder = binding is null ? null : found.FirstOrDefault(r => r.Namespace == binding.Namespace && SameUid(binding.Uid, r.Uid));
            if (holder is not null)
            {
                bound[tag] = new BoundReference(tag, holder.Namespace, string.IsNullOrEmpty(binding!.Uid) ? holder.Uid : binding.Uid);
                shadowed.AddRange(found.Where(r => r.Namespace != holder.Namespace).Select(r => new ShadowedReference(tag, holder.Namespace, r.Namespace)));
            }
            else if (found.Count == 1)
            {
                bound[tag] = new BoundReference(tag, found[0].Namespace, found[0].Uid);
            }
        }

        Add("spec.upstream", spec.Upstream);
        Add("spec.downstream", spec.Downstream);
        return new Resolution(resolved, Combine(problems), [.. bound.Values.OrderBy(b => b.Tag, StringComparer.Ordinal)], shadowed);

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

                if (bound.TryGetValue(reference.Tag, out var binding))
                {
                    resolved.Add(new ResolvedReference(name, new ResourceKey(binding.Namespace, reference.Tag), reference.Fqdn));
                    continue;
                }

                var found = tagLookups.TryGetValue(reference.Tag, out var registrations) ? registrations : [];
                switch (found.Count)
                {
                    case 0:
                        problems.Add(new Problem(Reasons.UnresolvedReference, $"{name}: no Certificate named \"{reference.Tag}\" exists in any namespace"));
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
    }

    /// <summary>The trust source of an issued certificate: its current leaf and chain, and the further certificates trusted beside it during a roll.</summary>
    /// <remarks>
    /// A CA rotation's CAs (<see cref="CertificateSnapshot.IssuerCas"/>) follow the chain: an
    /// Issuers-mode store trusts them with the chain's CAs, a Pinned one (leaves only) does not.
    /// </remarks>
    public static TrustSource ToSource(CertificateSnapshot snapshot) =>
        new(snapshot.Resource.Namespace, snapshot.Resource.Name, snapshot.Material!.CertificatePem,
            snapshot.IssuerCas is { Count: > 0 } cas ? [.. snapshot.Material.ChainPem, .. cas] : snapshot.Material.ChainPem,
            snapshot.AlsoTrusted is { Count: > 0 } also ? [.. also.Select(m => string.Join('\n', [m.CertificatePem, .. m.ChainPem]))] : null);

    /// <summary>A binding made before uids were recorded (or a registration without one) matches by namespace alone.</summary>
    private static bool SameUid(string? bound, string? registered) =>
        string.IsNullOrEmpty(bound) || string.IsNullOrEmpty(registered) || bound == registered;

    /// <summary>One problem for several: the first one's reason, every message.</summary>
    public static Problem? Combine(IReadOnlyList<Problem> problems) => problems.Count switch
    {
        0 => null,
        1 => problems[0],
        _ => new Problem(problems[0].Reason, string.Join("; ", problems.Select(p => p.Message))),
    };
}
