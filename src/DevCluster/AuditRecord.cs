namespace Notary.DevCluster;

/// <summary>
/// One request as the audit log sees it: the authenticated user and the RBAC attributes (verb, API group,
/// resource, subresource, namespace, name; or the path of a non-resource request such as discovery), and
/// whether RBAC allowed it, with the Accept header the client sent (which representation it asked for:
/// the object, a Table, or PartialObjectMetadata, i.e. metadata only).
/// </summary>
public sealed record AuditRecord(string User, string Verb, bool IsResourceRequest, string Group, string Resource,
    string Subresource, string Namespace, string Name, string Path, bool Allowed)
{
    /// <summary>The request's Accept header, as sent ("" when none).</summary>
    public string Accept { get; init; } = "";
}
