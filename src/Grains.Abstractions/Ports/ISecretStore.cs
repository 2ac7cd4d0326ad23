namespace Notary.Grains.Abstractions.Ports;

/// <summary>
/// A store to write: the store file under <see cref="PrimaryFileName"/> plus companion files
/// (tls.crt, tls.key, ca.crt). A Kubernetes Secret keeps every file; a cloud secret keeps the
/// primary file only. ToString never prints the bytes.
/// </summary>
public sealed record StoreWrite(
    ResourceKey Resource,
    ResourceKind Kind,
    string Fqdn,
    string PrimaryFileName,
    IReadOnlyDictionary<string, byte[]> Files)
{
    public override string ToString() => $"StoreWrite {{ Resource = {Resource}, Kind = {Kind}, Files = [{string.Join(", ", Files.Keys)}] }}";
}

/// <summary>Where a store was written: the store's identifier and the location services fetch it from.</summary>
[GenerateSerializer, Immutable, Alias("notary.StoredLocation")]
public sealed record StoredLocation(
    [property: Id(0)] string Arn,
    [property: Id(1)] string Location);

/// <summary>A write the store refused for a reason the user must fix (e.g. too large); not retried.</summary>
public sealed class SecretStoreRejectedException : Exception
{
    public SecretStoreRejectedException() { }
    public SecretStoreRejectedException(string message) : base(message) { }
    public SecretStoreRejectedException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A failure the store expects to pass (throttled past its retries, access denied until an
/// operator fixes a policy, a KMS key disabled) with a message worded for users and free of
/// secrets (e.g. an AWS error code and message): shown in the condition and retried with backoff.
/// </summary>
public sealed class SecretStoreFailedException : Exception
{
    public SecretStoreFailedException() { }
    public SecretStoreFailedException(string message) : base(message) { }
    public SecretStoreFailedException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Port: the secret store (Kubernetes Secrets, AWS Secrets Manager).</summary>
public interface ISecretStore
{
    /// <summary>Creates or replaces the secret of the resource, atomically: readers see the old or the new store, never a mix.</summary>
    Task<StoredLocation> PutAsync(StoreWrite write, CancellationToken cancellationToken);

    /// <summary>Deletes the resource's secret; returns false when there was none.</summary>
    Task<bool> DeleteAsync(ResourceKey resource, ResourceKind kind, CancellationToken cancellationToken);
}
