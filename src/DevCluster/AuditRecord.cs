namespace Notary.DevCluster;

/// <summary>
/// One request as the audit log sees it: the authenticated user and the RBAC attributes (verb, API group,
/// resource, subresource, namespace, name; or the path of a non-resource request such as discovery), and
/// whether RBAC allowed it.
/// </summary>
public sealed record AuditRecord(string User, string Verb, bool IsResourceRequest, string Group, string Resource,
    string Subresource, string Namespace, string Name, string Path, bool Allowed);
