namespace Notary.CustomResources;

/// <summary>
/// The labels on the Secrets the Kubernetes Secret store writes: the store refuses to touch a
/// Secret without them, and the watcher finds the store a Secret belongs to by them.
/// </summary>
public static class SecretLabels
{
    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "notary";
    public const string Kind = "notary.dev/kind";
    public const string Name = "notary.dev/name";
}
